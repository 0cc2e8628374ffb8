"""A minimal client of todokede's analysts' API, in plain Python (urllib only): it drives one
report from received (受付) to closed (完了) the way a CSIRT's script would — read, change
state, classify, note, reply — sending back the ETag it read as If-Match, and shows that a
stale ETag is refused with 412. Run by crates/todokede/tests/it/exchange.rs:

    python3 analyst_client.py BASE_URL TOKEN TRACKING_NUMBER
"""
import json
import sys
import urllib.error
import urllib.request

BASE, TOKEN, TN = sys.argv[1], sys.argv[2], sys.argv[3]


def call(method, path, body=None, etag=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + TOKEN)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if etag is not None:
        req.add_header("If-Match", etag)
    try:
        with urllib.request.urlopen(req) as res:
            return res.status, res.headers.get("ETag"), json.loads(res.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("ETag"), json.loads(e.read() or b"null")


report = "/api/v1/analyst/reports/" + TN
status, etag, r = call("GET", report)
assert status == 200 and r["state"]["key"] == "received", (status, r)
first_etag = etag

for to in ["triage", "in_progress"]:
    status, etag, r = call("POST", report + "/state", {"to": to}, etag)
    assert status == 200 and r["state"]["key"] == to, (status, r)

# A write with the ETag read before the others' changes is refused, and nothing changes.
status, _, err = call("POST", report + "/notes", {"body": "stale"}, first_etag)
assert status == 412 and err["error"]["code"] == "stale", (status, err)

status, etag, r = call("POST", report + "/classification",
                       {"causes": ["weak_credentials"], "damages": [], "has_damage": False}, etag)
assert status == 200 and r["classification"]["causes"] == ["weak_credentials"], (status, r)
status, etag, r = call("POST", report + "/notes", {"body": "確認済み / checked by script"}, etag)
assert status == 200 and r["timeline"][-1]["kind"] == "note", (status, r)
status, etag, r = call("POST", report + "/replies", {"body": "ご連絡ありがとうございました。"}, etag)
assert status == 200 and r["timeline"][-1]["kind"] == "reply", (status, r)
status, etag, r = call("POST", report + "/state", {"to": "closed"}, etag)
assert status == 200 and r["state"]["key"] == "closed", (status, r)

status, _, page = call("GET", "/api/v1/analyst/reports?state=closed")
assert status == 200 and [x["tracking_number"] for x in page["reports"]] == [TN], page
print("closed", TN, r["version"])
