"""Walks todokede's TAXII 2.1 server with the reference client (taxii2-client 2.3.x): discovery
-> API root -> collections -> every object of every collection, one object a page (and the
manifest the same way), and compares what it got with the STIX export of the same data
(`todokede export stix --all`): every object exactly once, in the collection of its TLP
marking, nothing else. Prints one JSON object; run by crates/todokede/tests/it/taxii.rs:

    python3 taxii_walk.py BASE_URL USER TOKEN EXPORT.json FORBIDDEN_TEXT
"""
import collections
import json
import sys

import requests
from taxii2client.v21 import Server, as_pages

base, user, token, export_path, forbidden = sys.argv[1:6]
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"


class Bearer(requests.auth.AuthBase):
    def __call__(self, r):
        r.headers["Authorization"] = "Bearer " + token
        return r


def canonical(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


export = json.load(open(export_path, encoding="utf-8"))["objects"]
level_of_marking = {
    o["id"]: o["extensions"][TLP2_EXTENSION]["tlp_2_0"] for o in export if o["type"] == "marking-definition"
}
expected = collections.defaultdict(dict)
for o in export:
    marking = o["id"] if o["type"] == "marking-definition" else o["object_marking_refs"][0]
    level = level_of_marking[marking]
    expected["tlp-" + level.replace("+", "-")][o["id"]] = canonical(o)

out = {"collections": {}}
# HTTP Basic with the token as the password: what the client does by itself.
server = Server(base + "/taxii2/", user=user, password=token)
out["title"] = server.title
out["api_roots"] = [r.url for r in server.api_roots]
root = server.default
out["versions"] = root.versions
for c in root.collections:
    got = collections.Counter()
    contents = {}
    pages = 0
    for envelope in as_pages(c.get_objects, per_request=1):
        pages += 1
        objs = envelope.get("objects", [])
        assert len(objs) <= 1, "a page of one"
        for o in objs:
            got[o["id"]] += 1
            contents[o["id"]] = canonical(o)
    manifest_ids = collections.Counter()
    date_added = collections.Counter()
    for page in as_pages(c.get_manifest, per_request=1):
        for m in page.get("objects", []):
            manifest_ids[m["id"]] += 1
            date_added[m["date_added"]] += 1
    want = expected.get(c.alias, {})
    out["collections"][c.alias] = {
        "id": c.id,
        "title": c.title,
        "can_read": c.can_read,
        "can_write": c.can_write,
        "media_types": c.media_types,
        "objects": sum(got.values()),
        "pages": pages,
        "duplicates": sorted(i for i, n in got.items() if n > 1),
        "missing": sorted(set(want) - set(got)),
        "unexpected": sorted(set(got) - set(want)),
        "changed": sorted(i for i in set(got) & set(want) if contents[i] != want[i]),
        "manifest_duplicates": sorted(i for i, n in manifest_ids.items() if n > 1),
        "manifest_equals_objects": set(manifest_ids) == set(got),
        "largest_tie": max(date_added.values(), default=0),
        "forbidden_seen": any(forbidden in s for s in contents.values()),
    }

# The same server with a Bearer token.
bearer = Server(base + "/taxii2/", auth=Bearer())
out["bearer_collections"] = len(bearer.default.collections)
print(json.dumps(out, ensure_ascii=False))
