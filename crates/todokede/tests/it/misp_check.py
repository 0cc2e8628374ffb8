"""Checks the MISP side of the exchange with the reference tools: PyMISP loads the MISP event
export and every event of the static feed (warnings count as errors); the feed's manifest and
hashes.csv match its events; misp-stix converts the STIX 2.1 bundle into a MISP event and every
indicator's value survives the round trip. Prints one JSON object; run by
crates/todokede/tests/it/exchange.rs:  python3 misp_check.py EXPORT.json FEED_DIR BUNDLE.json
"""
import hashlib
import json
import os
import re
import sys
import warnings

from pymisp import MISPEvent

export_path, feed_dir, bundle_path = sys.argv[1:4]
out = {}


def load(event_json):
    """A MISPEvent from an {"Event": …} object, with every warning and error it raised."""
    problems = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        e = MISPEvent()
        try:
            e.load(event_json)
            e.to_json()
        except Exception as x:  # noqa: BLE001 - any failure to load is the finding
            problems.append("%s: %s" % (type(x).__name__, x))
    problems += [str(w.message) for w in caught]
    return e, problems


def values(e):
    vs = [a.value for a in e.attributes]
    for o in e.objects:
        vs += [a.value for a in o.attributes]
    return vs


exported = json.load(open(export_path, encoding="utf-8"))
events = [exported] if "Event" in exported else exported["response"]
summary = {"events": 0, "attributes": 0, "objects": 0, "to_ids": 0, "tags": [], "problems": []}
for ev in events:
    e, problems = load(ev)
    summary["events"] += 1
    summary["attributes"] += len(e.attributes)
    summary["objects"] += len(e.objects)
    summary["to_ids"] += sum(1 for a in e.attributes if a.to_ids) + sum(
        1 for o in e.objects for a in o.attributes if a.to_ids)
    summary["tags"] += sorted(t.name for t in e.tags)
    summary["objects_by_name"] = sorted(o.name for o in e.objects)
    summary["problems"] += problems
out["export"] = summary

manifest = json.load(open(os.path.join(feed_dir, "manifest.json"), encoding="utf-8"))
feed = {"events": 0, "problems": [], "hash_mismatches": []}
hashes = set(open(os.path.join(feed_dir, "hashes.csv"), encoding="utf-8").read().split())
expected = set()
for uuid in manifest:
    e, problems = load(json.load(open(os.path.join(feed_dir, uuid + ".json"), encoding="utf-8")))
    feed["events"] += 1
    feed["problems"] += problems
    if str(e.uuid) != uuid:
        feed["problems"].append("event %s is listed as %s" % (e.uuid, uuid))
    indicator_values = [a.value for a in e.attributes if a.type != "comment"]
    indicator_values += [a.value for o in e.objects for a in o.attributes]
    for v in indicator_values:
        expected.add("%s,%s" % (hashlib.md5(str(v).encode()).hexdigest(), uuid))
feed["hash_mismatches"] = sorted(expected ^ {h for h in hashes if h})
out["feed"] = feed

# STIX → MISP with misp-stix: the indicators' values must be in the converted event.
import stix2  # noqa: E402
from misp_stix_converter import ExternalSTIX2toMISPParser  # noqa: E402

bundle = stix2.parse(open(bundle_path, encoding="utf-8").read(), allow_custom=True)
indicators = [o for o in bundle.objects if o.type == "indicator"]
wanted = sorted({m for o in indicators for m in re.findall(r"= '((?:[^'\\]|\\.)*)'", o.pattern)})
stix = {"indicators": len(indicators), "values": wanted, "problems": [], "missing": []}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    parser = ExternalSTIX2toMISPParser()
    try:
        parser.load_stix_bundle(bundle)
        parser.parse_stix_bundle(single_event=True)
    except Exception as x:  # noqa: BLE001
        stix["problems"].append("%s: %s" % (type(x).__name__, x))
stix["problems"] += [str(w.message) for w in caught]
errors = getattr(parser, "errors", {}) or {}
# misp-stix has no mapping for STIX 2.1's `incident` SDO (a stub in the spec, carried here with
# the Incident Core Extension): it says so for each; reported apart, every other message is a problem.
messages = [str(m) for v in (errors.values() if isinstance(errors, dict) else [errors]) for m in v]
incident_only = re.compile(r"^(Unable to load|Unknown) STIX object type: incident$")
stix["unsupported"] = sorted({m for m in messages if incident_only.match(m)})
stix["problems"] += ["error: %s" % m for m in messages if not incident_only.match(m)]
stix["warnings"] = {str(k): sorted(map(str, v)) for k, v in (getattr(parser, "warnings", {}) or {}).items()}
event = parser.misp_event if hasattr(parser, "misp_event") else None
got = set()
if event is not None:
    for v in values(event):
        got.add(str(v))
    stix["misp_attributes"] = len(event.attributes) + sum(len(o.attributes) for o in event.objects)
stix["missing"] = [v for v in wanted if v not in got]
out["stix_to_misp"] = stix
print(json.dumps(out, ensure_ascii=False, default=str))
