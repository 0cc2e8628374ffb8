//! The JSON intake API, over real HTTP against the in-process service (`TestApp`), on every
//! backend.

use reqwest::StatusCode;
use serde_json::{Value, json};
use todokede_testkit::TestDb;
use todokede_testkit::app::TestApp;

todokede_testkit::on_both_backends!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] todokede_testkit::run_on =>
    smallest_report_is_acknowledged_and_readable_only_with_its_secret,
    an_idempotency_key_makes_retries_and_races_store_once,
    a_web_page_of_another_site_cannot_post_to_the_api,
);

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn post_report(s: &TestApp, body: &Value, key: Option<&str>) -> (StatusCode, Value) {
    let mut req = client().post(s.url("/api/v1/reports")).json(body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn stored_reports(db: &TestDb) -> i64 {
    todokede_store::Store::open(&db.url).await.unwrap().check_integrity().await.unwrap().reports
}

async fn smallest_report_is_acknowledged_and_readable_only_with_its_secret(db: &TestDb) {
    let s = TestApp::start(db).await;
    let (st, a) = post_report(
        &s,
        &json!({"form": "unauthorized_access", "description": "サーバに不審なログインがありました"}),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{}: {a}", db.backend);
    let tn = a["tracking_number"].as_str().unwrap();
    assert!(regex_like_tracking(tn), "{tn}");
    let secret = a["secret"].as_str().unwrap();
    let (_, b) = post_report(&s, &json!({"form": "virus", "description": "Emotet 検知"}), None).await;

    let get = |tn: String, auth: Option<String>| {
        let mut r = client().get(s.url(&format!("/api/v1/reports/{tn}")));
        if let Some(a) = auth {
            r = r.bearer_auth(a);
        }
        r.send()
    };
    let ok = get(tn.into(), Some(secret.into())).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["referrer-policy"], "no-referrer");
    assert_eq!(ok.headers()["x-content-type-options"], "nosniff");
    let view: Value = ok.json().await.unwrap();
    assert_eq!(view["description"], "サーバに不審なログインがありました");
    assert_eq!(view["state"]["label_ja"], "受付");
    // Lower case and without the hyphen: still the same report.
    let relaxed = get(tn.replace('-', "").to_lowercase(), Some(secret.into())).await.unwrap();
    assert_eq!(relaxed.status(), StatusCode::OK);

    assert_eq!(get(tn.into(), None).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(get(tn.into(), Some("wrong".into())).await.unwrap().status(), StatusCode::NOT_FOUND);
    // Report B's secret does not open report A, and an unknown number looks the same.
    assert_eq!(
        get(tn.into(), Some(b["secret"].as_str().unwrap().into())).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(get("ZZZZZ-ZZZZZ".into(), Some(secret.into())).await.unwrap().status(), StatusCode::NOT_FOUND);

    // A follow-up (続報) with an attachment shows up on the reporter's view.
    let form = reqwest::multipart::Form::new().text("body", r#"{"body": "auth.log を送ります"}"#).part(
        "attachments",
        reqwest::multipart::Part::bytes(b"Failed password for root from 203.0.113.5".to_vec()).file_name("auth.log"),
    );
    let fu = client()
        .post(s.url(&format!("/api/v1/reports/{tn}/follow-ups")))
        .bearer_auth(secret)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(fu.status(), StatusCode::CREATED);
    let view: Value = get(tn.into(), Some(secret.into())).await.unwrap().json().await.unwrap();
    assert_eq!(view["messages"][0]["kind"], "follow_up");
    assert_eq!(view["messages"][0]["attachments"][0]["filename"], "auth.log");
    drop(s);
}

fn regex_like_tracking(tn: &str) -> bool {
    tn.len() == 11
        && tn.as_bytes()[5] == b'-'
        && tn.chars().filter(|c| *c != '-').all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_report_with_attachments_round_trips() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let report = json!({
        "form": "unauthorized_access", "language": "ja",
        "description": "グループウェアの DB が空になり、0.03 BTC を要求する脅迫文が残されていた。",
        "reporter": {"kind": "企業", "name": "山田 太郎", "organization": "株式会社例", "email": "yamada@example.co.jp", "phone": "03-0000-0000", "address": "東京都"},
        "discovered_on": "2019-08-14", "discovery": "self_monitoring_alert", "discovery_narrative": "HTTP 監視で 500 エラー",
        "damage_status": "damage", "damages": ["data_destruction_extortion"], "causes": ["missing_access_control", "weak_credentials"],
        "response_narrative": "phpMyAdmin を停止", "affected": {"assets": ["server_database"], "deployment": ["hosting"], "os": "CentOS 7",
        "software": [{"name": "phpMyAdmin", "version": "4.8"}], "exposed_ports": [3306, 80], "internet_connected": "yes"}
    });
    let form = reqwest::multipart::Form::new()
        .text("report", report.to_string())
        .part(
            "attachments",
            reqwest::multipart::Part::bytes(b"<script>alert(1)</script>".to_vec())
                .file_name("../../x.html")
                .mime_str("text/html")
                .unwrap(),
        )
        .part("attachments", reqwest::multipart::Part::bytes(vec![0u8; 4096]).file_name("dump.bin"));
    let res = client().post(s.url("/api/v1/reports")).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let a: Value = res.json().await.unwrap();
    let view: Value = client()
        .get(s.url(&format!("/api/v1/reports/{}", a["tracking_number"].as_str().unwrap())))
        .bearer_auth(a["secret"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> =
        view["attachments"].as_array().unwrap().iter().map(|x| x["filename"].as_str().unwrap()).collect();
    assert_eq!(names, ["x.html", "dump.bin"]);

    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let id = store.list_reports(&Default::default()).await.unwrap()[0].id;
    let r = store.report(id).await.unwrap().unwrap();
    assert_eq!(r.content.reporter.organization.as_deref(), Some("株式会社例"));
    assert_eq!(r.content.affected.exposed_ports, [3306, 80]);
    assert_eq!(r.content.causes[0].to_string(), "missing_access_control");
    assert_eq!(r.channel.to_string(), "api");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_4xx_and_stores_nothing() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start_with(&db, |c| {
        c.limits.max_body_bytes = 1 << 20;
        c.limits.max_attachment_bytes = 1 << 20;
    })
    .await;
    let raw = |body: &'static str| {
        client().post(s.url("/api/v1/reports")).header("content-type", "application/json").body(body).send()
    };
    let err = |v: Value| {
        (v["error"]["code"].as_str().unwrap_or("").to_owned(), v["error"]["field"].as_str().map(str::to_owned))
    };

    let r = raw("{\"form\": \"virus\", ").await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(err(r.json().await.unwrap()).0, "malformed_json");

    let cases: Vec<(Value, &str, Option<&str>)> = vec![
        (json!({"form": "virus", "description": 5}), "invalid_body", None),
        (json!({"form": "worm", "description": "x"}), "invalid_field", Some("form")),
        (
            json!({"form": "virus", "description": "x", "reporter": {"kind": "alien"}}),
            "invalid_field",
            Some("reporter.kind"),
        ),
        (json!({"form": "virus", "description": "   "}), "invalid_field", Some("description")),
        (json!({"form": "virus", "description": "x", "colour": "red"}), "invalid_body", None),
        (
            json!({"form": "virus", "description": "x", "discovered_on": "2019-13-45"}),
            "invalid_field",
            Some("discovered_on"),
        ),
        (
            json!({"form": "virus", "description": "x", "reporter": {"email": "a@b.c\r\nBcc: x@y.z"}}),
            "invalid_field",
            Some("reporter.email"),
        ),
        (
            json!({"form": "virus", "description": "x", "received_on": "2019-01-01"}),
            "invalid_field",
            Some("received_on"),
        ),
        (json!({"form": "virus", "description": "x", "affected": {"exposed_ports": [70000]}}), "invalid_body", None),
    ];
    for (body, code, field) in cases {
        let (st, v) = post_report(&s, &body, None).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {v}");
        assert_eq!(err(v.clone()), (code.to_owned(), field.map(str::to_owned)), "{body} → {v}");
        assert!(v["error"]["message"].as_str().unwrap().len() > 5);
    }

    let big = "あ".repeat(400_000);
    let (st, v) = post_report(&s, &json!({"form": "virus", "description": big}), None).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    let form = reqwest::multipart::Form::new()
        .text("report", r#"{"form":"virus","description":"big file"}"#)
        .part("attachments", reqwest::multipart::Part::bytes(vec![7u8; (1 << 20) + 10]).file_name("big.bin"));
    let res = client().post(s.url("/api/v1/reports")).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "too_large");

    assert_eq!(stored_reports(&db).await, 0);
}

async fn an_idempotency_key_makes_retries_and_races_store_once(db: &TestDb) {
    let s = TestApp::start(db).await;
    let body = json!({"form": "virus", "description": "同じ届出を二度送信"});
    let (st1, a) = post_report(&s, &body, Some("key-A")).await;
    let (st2, b) = post_report(&s, &body, Some("key-A")).await;
    assert_eq!((st1, st2), (StatusCode::CREATED, StatusCode::OK), "{}", db.backend);
    assert_eq!(a["tracking_number"], b["tracking_number"]);
    assert_eq!(a["secret"], b["secret"]);
    assert_eq!(b["duplicate"], true);
    let (st3, c) = post_report(&s, &json!({"form": "virus", "description": "別の内容"}), Some("key-A")).await;
    assert_eq!(st3, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(c["error"]["code"], "idempotency_key_reused");

    // 30 identical requests racing.
    let body = json!({"form": "unauthorized_access", "description": "競合する再送"});
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let url = s.url("/api/v1/reports");
            let body = body.clone();
            tokio::spawn(async move {
                let r = client().post(url).header("Idempotency-Key", "key-race").json(&body).send().await.unwrap();
                r.json::<Value>().await.unwrap()["tracking_number"].as_str().unwrap().to_owned()
            })
        })
        .collect();
    let mut numbers = std::collections::BTreeSet::new();
    for t in tasks {
        numbers.insert(t.await.unwrap());
    }
    assert_eq!(numbers.len(), 1, "{}: {numbers:?}", db.backend);
    drop(s);
    assert_eq!(stored_reports(db).await, 2, "{}", db.backend);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_describes_the_api() {
    let db = TestDb::sqlite().await;
    let s = TestApp::start(&db).await;
    let doc: Value = client().get(s.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/reports"]["post"].is_object());
    let kinds = doc["components"]["schemas"]["Report"]["properties"]["reporter"]["properties"]["kind"]["enum"]
        .as_array()
        .unwrap();
    assert!(kinds.iter().any(|k| k == "local_government"));
    assert_eq!(doc["components"]["schemas"]["Report"]["required"], json!(["form", "description"]));
}

/// A hostile page can make its visitors' browsers send "simple" cross-site requests (no CORS
/// preflight): text/plain, form-urlencoded and multipart bodies. The old API parsed any body as
/// JSON and stored a text/plain one.
async fn a_web_page_of_another_site_cannot_post_to_the_api(db: &TestDb) {
    let s = TestApp::start(db).await;
    let body = r#"{"form":"virus","description":"他サイトからの送信"}"#;
    let send = |ct: Option<&'static str>, headers: &'static [(&'static str, &'static str)]| {
        let mut r = client().post(s.url("/api/v1/reports")).body(body);
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.send()
    };
    let code = |v: &Value| v["error"]["code"].as_str().unwrap_or("").to_owned();
    for ct in [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("text/plain; charset=utf-8"), None] {
        let r = send(ct, &[]).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}: {ct:?}", db.backend);
        let v: Value = r.json().await.unwrap();
        assert_eq!(code(&v), "unsupported_media_type", "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains("application/json"));
    }
    // JSON or multipart from another site's page: the browser says where it comes from.
    for headers in
        [&[("sec-fetch-site", "cross-site")][..], &[("origin", "https://evil.example")], &[("origin", "null")]]
    {
        let r = send(Some("application/json"), headers).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{}: {headers:?}", db.backend);
        assert_eq!(code(&r.json().await.unwrap()), "cross_site");
    }
    let form = reqwest::multipart::Form::new().text("report", body);
    let r = client()
        .post(s.url("/api/v1/reports"))
        .header("origin", "https://evil.example")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A program (no browser headers), and our own origin, are served.
    let r = send(Some("application/json; charset=utf-8"), &[]).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let filed: Value = r.json().await.unwrap();
    let own = s.base.clone();
    let r = client()
        .post(s.url("/api/v1/reports"))
        .header("origin", own)
        .header("content-type", "application/json")
        .body(r#"{"form":"virus","description":"自サイトからの送信"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // Follow-ups likewise.
    let tn = filed["tracking_number"].as_str().unwrap();
    let r = client()
        .post(s.url(&format!("/api/v1/reports/{tn}/follow-ups")))
        .bearer_auth(filed["secret"].as_str().unwrap())
        .header("content-type", "text/plain")
        .body(r#"{"body":"続報"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    drop(s);
    assert_eq!(stored_reports(db).await, 2, "{}: nothing else stored", db.backend);
}
