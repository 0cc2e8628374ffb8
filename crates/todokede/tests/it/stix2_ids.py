"""Recomputes every SCO id of a STIX 2.1 bundle with the OASIS Python library (stix2 3.x): each
SCO is rebuilt from its properties without its id, the library derives the deterministic
UUIDv5 of STIX 2.1 §2.9 (ID-contributing properties, canonical JSON, the STIX namespace), and
the two must agree — the validator does not check this (issue 18). Prints one JSON object;
run by crates/todokede/tests/it/taxii.rs:  python3 stix2_ids.py BUNDLE.json
"""
import json
import sys

import stix2

SCO_TYPES = {"ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "file", "mac-addr",
             "autonomous-system", "directory", "mutex", "network-traffic", "process", "software",
             "user-account", "windows-registry-key", "x509-certificate", "artifact", "email-message"}

bundle = json.load(open(sys.argv[1], encoding="utf-8"))
checked, mismatches, by_type = 0, [], {}
for o in bundle["objects"]:
    if o["type"] not in SCO_TYPES:
        continue
    without_id = {k: v for k, v in o.items() if k != "id"}
    rebuilt = stix2.parse(without_id, allow_custom=False, version="2.1")
    checked += 1
    by_type[o["type"]] = by_type.get(o["type"], 0) + 1
    if rebuilt.id != o["id"]:
        mismatches.append([o["id"], rebuilt.id])
print(json.dumps({"stix2": stix2.__version__, "checked": checked, "by_type": by_type,
                  "mismatches": mismatches}))
