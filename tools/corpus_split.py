#!/usr/bin/env python3
"""Split ../shared/data/incident_texts/cases.jsonl into train / dev / test by source site, once.

A site's texts never straddle two splits. Sites are taken in a fixed pseudo-random order
(SHA-256 of the host name) and each goes to the split furthest below its target share for the
site's main language (test 25 %, dev 15 %, train the rest); a site too large for test or dev
goes to train. Writes fixtures/corpus/split.json (ids only: the texts stay in ../shared).
Run once; the committed split is the record. Re-running gives the same result.
"""
import hashlib, json, sys, collections, pathlib
from urllib.parse import urlparse

root = pathlib.Path(__file__).resolve().parent.parent
src = root.parent / "shared/data/incident_texts/cases.jsonl"
cases = [json.loads(l) for l in src.open(encoding="utf-8")]
def site(c):
    h = urlparse(c["source"]).hostname or c["source"]
    return h[4:] if h.startswith("www.") else h
by_site = collections.defaultdict(list)
for c in cases:
    by_site[site(c)].append(c)
totals = collections.Counter(c["lang"] for c in cases)
share = {"test": 0.25, "dev": 0.15}
filled = {s: collections.Counter() for s in ("train", "dev", "test")}
out = {"train": [], "dev": [], "test": []}
for s in sorted(by_site, key=lambda h: hashlib.sha256(h.encode()).hexdigest()):
    group = by_site[s]
    lang = collections.Counter(c["lang"] for c in group).most_common(1)[0][0]
    choice = "train"
    best = 0.0
    for split, target in share.items():
        room = target * totals[lang] - filled[split][lang]
        if room >= len(group) and room / totals[lang] > best:
            choice, best = split, room / totals[lang]
    # Keep train the largest: only fill dev/test while train has its share too.
    for c in group:
        filled[choice][c["lang"]] += 1
        out[choice].append(c["id"])
for k in out:
    out[k].sort()
doc = {"source": "../shared/data/incident_texts/cases.jsonl", "method": __doc__.strip().splitlines()[2:5],
       "counts": {k: dict(filled[k]) for k in filled}, **out}
(root / "fixtures/corpus/split.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
print(json.dumps(doc["counts"]))
