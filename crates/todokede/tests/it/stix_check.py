"""Checks a STIX 2.1 bundle with the OASIS reference validator (stix2-validator, default and
strict mode) and recomputes every SCO id independently (uuid5 in the STIX namespace over the
canonical JSON of the ID-contributing properties). Prints one JSON object; run by
crates/todokede/tests/it/exchange.rs:  python3 stix_check.py BUNDLE.json
"""
import json
import sys
import uuid

from stix2validator import ValidationOptions, validate_file

path = sys.argv[1]
out = {}
for mode, strict in (("default", False), ("strict", True)):
    result = validate_file(path, ValidationOptions(strict=strict, version="2.1"))
    errors, warnings = [], []
    for obj in result.object_results:
        errors += [str(e) for e in obj.errors]
        warnings += [str(w) for w in obj.warnings]
    out[mode] = {"valid": result.is_valid, "errors": errors, "warnings": warnings}

NS = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
CONTRIBUTING = {"ipv4-addr": ["value"], "ipv6-addr": ["value"], "domain-name": ["value"], "url": ["value"],
                "email-addr": ["value"], "file": ["hashes", "name", "extensions", "parent_directory_ref"]}
bundle = json.load(open(path, encoding="utf-8"))
mismatches, scos = [], 0
for o in bundle["objects"]:
    props = CONTRIBUTING.get(o["type"])
    if props is None:
        continue
    scos += 1
    contributing = {p: o[p] for p in props if p in o}
    canonical = json.dumps(contributing, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    expected = "%s--%s" % (o["type"], uuid.uuid5(NS, canonical))
    if expected != o["id"]:
        mismatches.append([o["id"], expected])
out["scos"] = scos
out["sco_id_mismatches"] = mismatches
print(json.dumps(out, ensure_ascii=False))
