//! Exchange with the CSIRT world (issue 18): API tokens (account page and `todokede token`),
//! the analysts' API under /api/v1/analyst over the in-process service (`TestApp`), on every
//! backend. The CLI runs as the real binary where its output is the contract.

use crate::common::{self, todokede};
use reqwest::StatusCode;
use serde_json::Value;
use todokede_store::Role;
use todokede_testkit::TestDb;
use todokede_testkit::app::TestApp;

todokede_testkit::on_both_backends!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] todokede_testkit::run_on =>
    an_api_token_is_shown_once_kept_as_a_hash_scoped_revocable_and_every_use_audited,
    an_expired_token_or_one_of_a_disabled_account_is_refused,
    the_cli_creates_lists_and_revokes_tokens,
    the_queue_pages_by_cursor_without_repeats_and_filters,
    two_writers_with_one_etag_get_one_change_and_one_412,
    scopes_decide_what_a_token_may_do,
    a_python_client_drives_a_report_from_received_to_closed,
    stix_exports_only_approved_anonymised_content_validly_and_the_same_bytes_twice,
    the_misp_feed_has_one_event_per_incident_with_stable_uuids_and_regenerates_incrementally,
    misp_exports_and_the_feed_load_in_pymisp_and_stix_indicators_survive_misp_stix,
    an_analyst_approves_and_withdraws_sharing_on_the_report_page,
);

async fn an_analyst_approves_and_withdraws_sharing_on_the_report_page(db: &TestDb) {
    let app = TestApp::start(db).await;
    let s = app.logged_in(Role::Analyst, "page@example.jp").await;
    let analyst = app.store.user_by_email("page@example.jp").await.unwrap().unwrap();
    let filed = app.submit_report("45.137.21.9 からの不正ログイン").await.tracking_number;
    let page = |client: &reqwest::Client| {
        let u = app.url(&format!("/reports/{filed}"));
        let c = client.clone();
        async move { c.get(u).send().await.unwrap().text().await.unwrap() }
    };
    let post = |tlp: &str, csrf: &str| {
        s.client
            .post(app.url(&format!("/reports/{filed}/share")))
            .header("origin", app.base.clone())
            .form(&[("csrf", csrf), ("tlp", tlp)])
            .send()
    };
    assert!(page(&s.client).await.contains("共有の前に分類を確定してください"));
    assert_eq!(
        post("green", &s.csrf).await.unwrap().status(),
        StatusCode::BAD_REQUEST,
        "not before a confirmed classification"
    );
    let (_, id) = (
        0,
        app.store
            .report_id_by_tracking(&todokede_domain::TrackingNumber::parse(&filed).unwrap())
            .await
            .unwrap()
            .unwrap(),
    );
    let c = todokede_domain::Classification {
        causes: vec![todokede_domain::CauseCategory::WeakCredentials],
        ..Default::default()
    };
    app.store.confirm_classification(id, analyst.id, &c, &c, None).await.unwrap();
    assert_eq!(post("green", "forged").await.unwrap().status(), StatusCode::FORBIDDEN);
    assert!(app.store.shared_reports().await.unwrap().is_empty());
    assert_eq!(post("green", &s.csrf).await.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(app.store.shared_reports().await.unwrap()[0].tlp, "green");
    assert!(page(&s.client).await.contains("TLP:GREEN"));
    assert_eq!(post("", &s.csrf).await.unwrap().status(), StatusCode::SEE_OTHER);
    assert!(app.store.shared_reports().await.unwrap().is_empty(), "withdrawn");
}

/// The real binary: `feed misp --dir` is the contract (files on disk, its summary line).
async fn the_misp_feed_has_one_event_per_incident_with_stable_uuids_and_regenerates_incrementally(db: &TestDb) {
    let app = TestApp::start(db).await;
    app.user(Role::Analyst, "feeder@example.jp").await;
    let analyst = app.store.user_by_email("feeder@example.jp").await.unwrap().unwrap();
    let (tn, a) = handled_report(
        &app,
        &analyst,
        "サンプル商事の山田です。45.137.21.9 から侵入され evil-update.top と通信。CVE-2019-0708。",
    )
    .await;
    let (_, b) = handled_report(&app, &analyst, "別の届出: 91.240.118.172 からの攻撃。").await;
    let share = |id, tlp| todokede_app::exchange::approve_sharing(&app.store, id, tlp, analyst.id);
    share(a, todokede_publish::stix::Tlp::Green).await.unwrap();
    share(b, todokede_publish::stix::Tlp::Amber).await.unwrap();
    let dir = std::env::temp_dir().join(format!("todokede-misp-{}-{}", db.backend, std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = || common::ok(todokede(&db.url, &["feed", "misp", "--dir", dir.to_str().unwrap()]));
    assert_eq!(run().trim(), "2 events: 4 files written, 0 unchanged, 0 removed");
    let manifest: Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let uuids: Vec<String> = manifest.as_object().unwrap().keys().cloned().collect();
    assert_eq!(uuids.len(), 2);
    let mut attributes = 0;
    for u in &uuids {
        let bytes = std::fs::read(dir.join(format!("{u}.json"))).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        for secret in ["山田", "サンプル商事", "sample-shoji", "佐藤", "内部メモ", &tn] {
            assert!(!text.contains(secret), "{secret} must not leave: {text}");
        }
        let e: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(e["Event"]["uuid"], *u);
        let tags: Vec<&str> =
            e["Event"]["Tag"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert!(tags.iter().any(|t| *t == "tlp:green" || *t == "tlp:amber"), "{tags:?}");
        let in_objects =
            e["Event"]["Object"].as_array().unwrap().iter().flat_map(|o| o["Attribute"].as_array().unwrap());
        for a in e["Event"]["Attribute"].as_array().unwrap().iter().chain(in_objects) {
            if a["type"] != "comment" {
                attributes += 1;
            }
            if a["type"] == "ip-src" || a["type"] == "domain" {
                assert_eq!(a["to_ids"], true);
            }
            if a["type"] == "vulnerability" {
                assert_eq!((a["value"].as_str(), a["to_ids"].as_bool()), (Some("CVE-2019-0708"), Some(false)));
            }
        }
    }
    let hashes = std::fs::read_to_string(dir.join("hashes.csv")).unwrap();
    assert_eq!(hashes.lines().count(), attributes, "{hashes}");
    assert!(hashes.lines().all(|l| l.len() == 32 + 1 + 36 && uuids.contains(&l[33..].to_owned())), "{hashes}");
    // Nothing changed: nothing rewritten. A new approval changes its event only; a withdrawn
    // one leaves the feed; the others keep their UUIDs.
    assert_eq!(run().trim(), "2 events: 0 files written, 4 unchanged, 0 removed");
    app.store.withdraw_sharing(b, analyst.id).await.unwrap();
    assert_eq!(run().trim(), "1 events: 2 files written, 1 unchanged, 1 removed");
    let after: Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(after.as_object().unwrap().len(), 1);
    assert!(uuids.contains(after.as_object().unwrap().keys().next().unwrap()), "a stable event UUID");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The real binary (`export --format misp`, `feed misp`, `export stix` are the contract), the
/// reference tools in misp_check.py: PyMISP and misp-stix.
async fn misp_exports_and_the_feed_load_in_pymisp_and_stix_indicators_survive_misp_stix(db: &TestDb) {
    let python = todokede_testkit::requires::python_module("pymisp")
        && todokede_testkit::requires::python_module("misp_stix_converter");
    let app = TestApp::start(db).await;
    app.user(Role::Analyst, "misp@example.jp").await;
    let analyst = app.store.user_by_email("misp@example.jp").await.unwrap().unwrap();
    let (tn, a) = handled_report(
        &app,
        &analyst,
        "サンプル商事の山田です。45.137.21.9 から RDP に侵入され hxxp://malware-drop[.]xyz/payload.exe を取得、\
         evil-update.top と通信。SHA-256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08。CVE-2019-0708。",
    )
    .await;
    let (_, b) = handled_report(&app, &analyst, "別の届出: 91.240.118.172 からの攻撃。").await;
    todokede_app::exchange::approve_sharing(&app.store, a, todokede_publish::stix::Tlp::Green, analyst.id)
        .await
        .unwrap();
    todokede_app::exchange::approve_sharing(&app.store, b, todokede_publish::stix::Tlp::Amber, analyst.id)
        .await
        .unwrap();
    let dir = tempfile::Builder::new().prefix(&format!("misp-{}-", db.backend)).tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).display().to_string();
    let year = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9)).year().to_string();
    common::ok(todokede(&db.url, &["export", "--format", "misp", "--report", &tn, "-o", &path("event.json")]));
    common::ok(todokede(&db.url, &["export", "--format", "misp", "--period", &year, "-o", &path("period.json")]));
    common::ok(todokede(&db.url, &["feed", "misp", "--dir", &path("feed")]));
    common::ok(todokede(&db.url, &["export", "stix", "--report", &tn, "-o", &path("bundle.json")]));
    // One incident is one event; a period of two incidents MISP's list of events, the same UUIDs.
    let event: Value = serde_json::from_slice(&std::fs::read(path("event.json")).unwrap()).unwrap();
    let period: Value = serde_json::from_slice(&std::fs::read(path("period.json")).unwrap()).unwrap();
    let listed = period["response"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().any(|e| e["Event"]["uuid"] == event["Event"]["uuid"]));
    let text = serde_json::to_string(&event).unwrap();
    for secret in ["山田", "サンプル商事", "佐藤", "内部メモ", &tn] {
        assert!(!text.contains(secret), "{secret} must not leave: {text}");
    }
    let objects: Vec<&str> =
        event["Event"]["Object"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    for name in ["file", "url", "domain-ip"] {
        assert!(objects.contains(&name), "a {name} object: {objects:?}");
    }
    if !python {
        return;
    }
    let out = std::process::Command::new("python3")
        .arg(common::repo("crates/todokede/tests/it/misp_check.py"))
        .args([path("event.json"), path("feed"), path("bundle.json")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = &r["export"];
    assert_eq!(e["problems"], serde_json::json!([]), "PyMISP loads the export: {r}");
    assert!(e["to_ids"].as_u64().unwrap() >= 4 && e["objects"].as_u64().unwrap() >= 3, "{r}");
    let tags: Vec<&str> = e["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert!(tags.contains(&"tlp:green") && tags.contains(&"todokede:cause=\"weak_credentials\""), "{tags:?}");
    assert!(tags.contains(&"todokede:attack-type=\"intrusion\""), "{tags:?}");
    assert_eq!(r["feed"]["events"], 2, "{r}");
    assert_eq!(r["feed"]["problems"], serde_json::json!([]), "PyMISP loads the feed: {r}");
    assert_eq!(r["feed"]["hash_mismatches"], serde_json::json!([]), "hashes.csv: {r}");
    let s = &r["stix_to_misp"];
    assert!(s["indicators"].as_u64().unwrap() >= 4, "{r}");
    assert_eq!(s["problems"], serde_json::json!([]), "misp-stix converts the bundle: {r}");
    // misp-stix maps no STIX `incident` object (the only thing it skips; the script says so apart).
    assert!(
        s["unsupported"].as_array().unwrap().iter().all(|m| m.as_str().unwrap().ends_with("type: incident")),
        "{r}"
    );
    assert_eq!(s["missing"], serde_json::json!([]), "every indicator survives STIX → MISP: {r}");
}

/// A report with attacker indicators, the reporter's identity, internal addresses and benign
/// values, analysed and confirmed, with an internal note.
pub(crate) async fn handled_report(
    app: &TestApp,
    analyst: &todokede_store::User,
    description: &str,
) -> (String, todokede_domain::ReportId) {
    let body = serde_json::json!({
        "form": "unauthorized_access", "description": description,
        "reporter": {"kind": "company", "name": "山田 太郎", "organization": "サンプル商事株式会社",
                     "email": "yamada@sample-shoji.co.jp", "phone": "03-1234-5678"}});
    let res = reqwest::Client::new().post(app.url("/api/v1/reports")).json(&body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let v: Value = res.json().await.unwrap();
    let tn = v["tracking_number"].as_str().unwrap().to_owned();
    let id =
        app.store.report_id_by_tracking(&todokede_domain::TrackingNumber::parse(&tn).unwrap()).await.unwrap().unwrap();
    // The service's worker analyses it (analysing it here as well races the worker: on
    // PostgreSQL two concurrent index writes of one report clash — see the report to the lead).
    for _ in 0..200 {
        if app.store.analysis(id).await.unwrap().is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(app.store.analysis(id).await.unwrap().is_some(), "analysed by the worker");
    let c = todokede_domain::Classification {
        causes: vec![todokede_domain::CauseCategory::WeakCredentials],
        damages: vec![],
        attack_types: vec![todokede_domain::AttackType::Intrusion],
        techniques: vec!["T1110.001".into(), "T1133".into()],
        has_damage: Some(true),
    };
    app.store.confirm_classification(id, analyst.id, &c, &c, None).await.unwrap();
    app.store.add_note(id, analyst.id, "内部メモ：届出者の上司は佐藤部長", None).await.unwrap();
    (tn, id)
}

async fn stix_exports_only_approved_anonymised_content_validly_and_the_same_bytes_twice(db: &TestDb) {
    use todokede_app::tokens::Scope;
    let python =
        todokede_testkit::requires::tool("python3") && todokede_testkit::requires::python_module("stix2validator");
    let app = TestApp::start(db).await;
    let writer = token(&app, "sharer@example.jp", &[Scope::Write, Scope::Export]).await;
    let reader = token(&app, "noexport@example.jp", &[Scope::Read]).await;
    let analyst = app.store.user_by_email("sharer@example.jp").await.unwrap().unwrap();
    let (tn, _) = handled_report(
        &app,
        &analyst,
        "サンプル商事株式会社の山田です。社内サーバ 192.168.10.5 の RDP に 45.137.21.9 からブルートフォース攻撃があり、\
         侵入後 hxxp://malware-drop[.]xyz/payload.exe がダウンロードされ、evil-update.top へ通信していました。\
         ハッシュ SHA-256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08。CVE-2019-0708 の可能性。\
         弊社サイト www.sample-shoji.co.jp、DNS は 8.8.8.8、連絡先 yamada@sample-shoji.co.jp / 03-1234-5678。",
    )
    .await;
    let (tn2, _) = handled_report(&app, &analyst, "別の事業所でも 45.137.21.9 からの攻撃を確認しました。").await;
    let (tn3, _) =
        handled_report(&app, &analyst, "社外秘の案件です。198.18.7.7 ではなく 91.240.118.172 から侵入されました。")
            .await;
    let url = |p: &str| app.url(p);
    let export = |q: String| {
        let t = writer.clone();
        let u = url(&format!("/api/v1/analyst/export/stix?{q}"));
        async move { reqwest::Client::new().get(u).bearer_auth(t).send().await.unwrap() }
    };
    // Nothing leaves before an analyst approves it.
    assert_eq!(export("period=2026".into()).await.status(), StatusCode::NOT_FOUND);
    let share = |tn: String, tlp: Option<&'static str>| {
        let t = writer.clone();
        let base = url(&format!("/api/v1/analyst/reports/{tn}"));
        async move {
            let etag = reqwest::Client::new().get(&base).bearer_auth(&t).send().await.unwrap().headers()["etag"]
                .to_str()
                .unwrap()
                .to_owned();
            reqwest::Client::new()
                .post(format!("{base}/sharing"))
                .bearer_auth(&t)
                .header("if-match", etag)
                .json(&serde_json::json!({"tlp": tlp}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(share(tn.clone(), Some("amber")).await, StatusCode::OK);
    assert_eq!(share(tn2.clone(), Some("green")).await, StatusCode::OK);
    assert_eq!(share(tn3.clone(), Some("red")).await, StatusCode::OK);
    assert_eq!(share(tn3.clone(), Some("purple")).await, StatusCode::UNPROCESSABLE_ENTITY);
    // Linked: one incident, marked with the stricter of its reports' levels.
    let id = |t: &str| {
        let s = app.store.clone();
        let t = todokede_domain::TrackingNumber::parse(t).unwrap();
        async move { s.report_id_by_tracking(&t).await.unwrap().unwrap() }
    };
    app.store.link_reports(id(&tn).await, id(&tn2).await, analyst.id, None).await.unwrap();
    let no_scope = reqwest::Client::new()
        .get(url("/api/v1/analyst/export/stix?period=2026"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(no_scope.status(), StatusCode::FORBIDDEN);

    let year = time::OffsetDateTime::now_utc().year().to_string();
    let first = export(format!("period={year}")).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["content-type"], "application/stix+json;version=2.1");
    let bytes = first.bytes().await.unwrap();
    let again = export(format!("period={year}")).await.bytes().await.unwrap();
    assert_eq!(bytes, again, "the same data exports to the same bytes");
    let path = std::env::temp_dir().join(format!("todokede-stix-{}-{}.json", db.backend, std::process::id()));
    let out = todokede(&db.url, &["export", "stix", "--period", &year, "-o", path.to_str().unwrap()]);
    common::ok(out);
    assert_eq!(std::fs::read(&path).unwrap(), bytes.to_vec(), "the CLI writes the same bundle");

    let text = String::from_utf8(bytes.to_vec()).unwrap();
    for secret in [
        "山田",
        "サンプル商事",
        "sample-shoji",
        "yamada",
        "1234-5678",
        "佐藤",
        "内部メモ",
        "192.168.10.5",
        &tn,
        &tn2,
        &tn3,
        "91.240.118.172",
        "社外秘",
    ] {
        assert!(!text.contains(secret), "{secret} must not leave: {text}");
    }
    let bundle: Value = serde_json::from_str(&text).unwrap();
    let objects = bundle["objects"].as_array().unwrap();
    let of = |t: &str| objects.iter().filter(|o| o["type"] == t).collect::<Vec<_>>();
    let patterns: Vec<&str> = of("indicator").iter().map(|o| o["pattern"].as_str().unwrap()).collect();
    for p in [
        "[ipv4-addr:value = '45.137.21.9']",
        "[domain-name:value = 'evil-update.top']",
        "[file:hashes.'SHA-256' = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08']",
    ] {
        assert!(patterns.contains(&p), "{p} in {patterns:?}");
    }
    assert!(!patterns.iter().any(|p| p.contains("8.8.8.8") || p.contains("sample-shoji")), "{patterns:?}");
    assert_eq!(of("incident").len(), 1, "two linked reports are one incident; the red one stays out");
    let incident = of("incident")[0];
    assert_eq!(incident["object_marking_refs"], serde_json::json!([todokede_publish::stix::Tlp::Amber.marking_id()]));
    let ext = &incident["extensions"][todokede_publish::stix::INCIDENT_CORE_EXTENSION];
    assert_eq!((ext["determination"].as_str(), ext["investigation_status"].as_str()), (Some("confirmed"), Some("new")));
    assert!(of("vulnerability").iter().any(|v| v["name"] == "CVE-2019-0708"));
    let mut techniques: Vec<&str> =
        of("attack-pattern").iter().map(|a| a["external_references"][0]["external_id"].as_str().unwrap()).collect();
    techniques.sort();
    assert_eq!(techniques, ["T1110.001", "T1133"], "ATT&CK techniques with their references");
    assert_eq!(of("report").len(), 1);
    for o in objects.iter().filter(|o| o["type"] != "marking-definition") {
        assert!(o["object_marking_refs"].as_array().is_some_and(|m| m.len() == 1), "every object is marked: {o}");
    }
    let markings: Vec<&str> = of("marking-definition").iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert!(!markings.contains(&todokede_publish::stix::Tlp::Red.marking_id()));

    // Red only when asked for, and then marked red.
    let with_red: Value =
        serde_json::from_slice(&export(format!("period={year}&max_tlp=red")).await.bytes().await.unwrap()).unwrap();
    let red = with_red["objects"].as_array().unwrap().iter().filter(|o| o["type"] == "incident").count();
    assert_eq!(red, 2);
    let one: Value = serde_json::from_slice(&export(format!("incident={tn2}")).await.bytes().await.unwrap()).unwrap();
    assert_eq!(one["objects"].as_array().unwrap().iter().filter(|o| o["type"] == "incident").count(), 1);

    if python {
        let script = common::repo("crates/todokede/tests/it/stix_check.py");
        let out = std::process::Command::new("python3").args([&script, path.to_str().unwrap()]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        for mode in ["default", "strict"] {
            assert_eq!(v[mode]["errors"], serde_json::json!([]), "{mode}: {v}");
            assert_eq!(v[mode]["warnings"], serde_json::json!([]), "{mode}: {v}");
            assert_eq!(v[mode]["valid"], true, "{mode}: {v}");
        }
        assert!(v["scos"].as_u64().unwrap() >= 4, "{v}");
        assert_eq!(v["sco_id_mismatches"], serde_json::json!([]), "SCO ids as Python computes them: {v}");
    }
    let _ = std::fs::remove_file(&path);
}

/// A token for a new analyst with these scopes.
pub(crate) async fn token(app: &TestApp, email: &str, scopes: &[todokede_app::tokens::Scope]) -> String {
    app.user(Role::Analyst, email).await;
    let user = app.store.user_by_email(email).await.unwrap().unwrap();
    todokede_app::tokens::create(&app.store, &user, "test", scopes, time::Duration::days(1), &user).await.unwrap().token
}

fn api(token: &str) -> impl Fn(reqwest::Method, String) -> reqwest::RequestBuilder + '_ {
    move |m, url| reqwest::Client::new().request(m, url).bearer_auth(token)
}

async fn the_queue_pages_by_cursor_without_repeats_and_filters(db: &TestDb) {
    use todokede_app::tokens::Scope;
    let app = TestApp::start(db).await;
    let t = token(&app, "pager@example.jp", &[Scope::Read]).await;
    let call = api(&t);
    let mut filed = Vec::new();
    for i in 0..7 {
        filed.push(app.submit_report(&format!("不審なログイン その{i}")).await.tracking_number);
    }
    for order in ["newest", "oldest"] {
        let mut seen: Vec<String> = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut url = app.url(&format!("/api/v1/analyst/reports?limit=3&order={order}"));
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let page: Value = call(reqwest::Method::GET, url).send().await.unwrap().json().await.unwrap();
            seen.extend(
                page["reports"].as_array().unwrap().iter().map(|r| r["tracking_number"].as_str().unwrap().to_owned()),
            );
            pages += 1;
            if pages == 1 {
                // A report received while paging does not shift the pages.
                app.submit_report("ページング中の新しい届出").await;
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let mut expected = filed.clone();
        if order == "newest" {
            expected.reverse();
        } else {
            expected.push(seen.last().unwrap().clone());
        }
        assert_eq!(seen[..7], expected[..7], "{order}: every report once, in order");
        let unique: std::collections::BTreeSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{order}: no repeats");
    }
    let state: Value = call(reqwest::Method::GET, app.url("/api/v1/analyst/reports?state=closed"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["reports"].as_array().unwrap().len(), 0);
    let bad = call(reqwest::Method::GET, app.url("/api/v1/analyst/reports?state=nope")).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(
        (body["error"]["code"].as_str(), body["error"]["field"].as_str()),
        (Some("invalid_parameter"), Some("state"))
    );
    let bad = call(reqwest::Method::GET, app.url("/api/v1/analyst/reports?cursor=garbage")).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let hits: Value = call(reqwest::Method::GET, app.url("/api/v1/analyst/search?q=その3"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hits["hits"].as_array().unwrap().len(), 1, "{hits}");
}

async fn two_writers_with_one_etag_get_one_change_and_one_412(db: &TestDb) {
    use todokede_app::tokens::Scope;
    let app = TestApp::start(db).await;
    let t = token(&app, "writer@example.jp", &[Scope::Write]).await;
    let call = api(&t);
    let tn = app.submit_report("ランサムウェアの疑い").await.tracking_number;
    let url = |p: &str| app.url(&format!("/api/v1/analyst/reports/{tn}{p}"));
    let read = call(reqwest::Method::GET, url("")).send().await.unwrap();
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();
    // Two clients that read the same version both write: one wins, the other gets 412.
    let (a, b) = tokio::join!(
        call(reqwest::Method::POST, url("/notes"))
            .header("if-match", &etag)
            .json(&serde_json::json!({"body": "A"}))
            .send(),
        call(reqwest::Method::POST, url("/assignee"))
            .header("if-match", &etag)
            .json(&serde_json::json!({"assignee": "writer@example.jp"}))
            .send(),
    );
    let mut statuses = [a.unwrap().status(), b.unwrap().status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::PRECONDITION_FAILED]);
    let now: Value = call(reqwest::Method::GET, url("")).send().await.unwrap().json().await.unwrap();
    let noted = now["timeline"].as_array().unwrap().iter().any(|e| e["kind"] == "note");
    assert!(noted != now["assignee"].is_string(), "exactly one change landed: {now}");
    // The same ETag again (even for a change another would not clash with) is stale; none at all is 428.
    let stale = call(reqwest::Method::POST, url("/state"))
        .header("if-match", &etag)
        .json(&serde_json::json!({"to": "triage"}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    let v: Value = stale.json().await.unwrap();
    assert_eq!(v["error"]["code"], "stale");
    let none =
        call(reqwest::Method::POST, url("/state")).json(&serde_json::json!({"to": "triage"})).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::PRECONDITION_REQUIRED);
    // A change in the web UI raises the version too: an API client that read before it gets 412.
    let fresh =
        call(reqwest::Method::GET, url("")).send().await.unwrap().headers()["etag"].to_str().unwrap().to_owned();
    let id =
        app.store.report_id_by_tracking(&todokede_domain::TrackingNumber::parse(&tn).unwrap()).await.unwrap().unwrap();
    let someone = app.store.user_by_email("writer@example.jp").await.unwrap().unwrap();
    app.store.add_note(id, someone.id, "UI", None).await.unwrap();
    let late = call(reqwest::Method::POST, url("/state"))
        .header("if-match", &fresh)
        .json(&serde_json::json!({"to": "triage"}))
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), StatusCode::PRECONDITION_FAILED);
    // An impossible transition is 409, an unknown state 422 with its field.
    let fresh =
        call(reqwest::Method::GET, url("")).send().await.unwrap().headers()["etag"].to_str().unwrap().to_owned();
    let r = call(reqwest::Method::POST, url("/state"))
        .header("if-match", &fresh)
        .json(&serde_json::json!({"to": "received"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = call(reqwest::Method::POST, url("/state"))
        .header("if-match", &fresh)
        .json(&serde_json::json!({"to": "done"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Linking raises both reports' versions.
    let other = app.submit_report("同じ攻撃者").await.tracking_number;
    let r = call(reqwest::Method::POST, url("/links"))
        .header("if-match", &fresh)
        .json(&serde_json::json!({"other": other}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["links"], serde_json::json!([other]));
    let o: Value = call(reqwest::Method::GET, app.url(&format!("/api/v1/analyst/reports/{other}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(o["version"], 2);
}

async fn scopes_decide_what_a_token_may_do(db: &TestDb) {
    use todokede_app::tokens::Scope;
    let app = TestApp::start(db).await;
    let reader = token(&app, "reader@example.jp", &[Scope::Read]).await;
    let exporter = token(&app, "exporter@example.jp", &[Scope::Export]).await;
    let tn = app.submit_report("閲覧のみ").await.tracking_number;
    let read =
        api(&reader)(reqwest::Method::GET, app.url(&format!("/api/v1/analyst/reports/{tn}"))).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();
    let w = api(&reader)(reqwest::Method::POST, app.url(&format!("/api/v1/analyst/reports/{tn}/notes")))
        .header("if-match", etag)
        .json(&serde_json::json!({"body": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(w.status(), StatusCode::FORBIDDEN);
    let v: Value = w.json().await.unwrap();
    assert_eq!(v["error"]["code"], "insufficient_scope");
    let r = api(&exporter)(reqwest::Method::GET, app.url("/api/v1/analyst/reports")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "export does not include read");
    let stats =
        api(&reader)(reqwest::Method::GET, app.url("/api/v1/analyst/statistics?period=2019H2")).send().await.unwrap();
    assert_eq!(stats.status(), StatusCode::OK);
}

/// python3 with urllib only, as a CSIRT's script would use the API.
async fn a_python_client_drives_a_report_from_received_to_closed(db: &TestDb) {
    use todokede_app::tokens::Scope;
    if !todokede_testkit::requires::tool("python3") {
        return;
    }
    let app = TestApp::start(db).await;
    let t = token(&app, "script@example.jp", &[Scope::Write]).await;
    let tn = app.submit_report("管理画面に不正ログインされました").await.tracking_number;
    let script = common::repo("crates/todokede/tests/it/analyst_client.py");
    let out = tokio::process::Command::new("python3").args([&script, &app.base, &t, &tn]).output().await.unwrap();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(&format!("closed {tn}")));
    let uses = app.store.audit_log(200).await.unwrap().into_iter().filter(|e| e.action == "api.use").count();
    assert_eq!(uses, 9, "each of the script's nine calls is audited");
}

/// The OpenAPI document against the router: every `/api/v1` route the code registers is
/// documented (read from the sources, as the store's coverage test reads its own), and every
/// documented operation answers from its handler (no router 404/405).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_covers_every_route_and_every_documented_route_answers() {
    let db = TestDb::sqlite().await;
    let app = TestApp::start(&db).await;
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = std::collections::BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let mut registered = std::collections::BTreeSet::new();
    for src in
        [include_str!("../../../todokede-web/src/api.rs"), include_str!("../../../todokede-web/src/analyst_api.rs")]
    {
        for chunk in src.split(".route(\"").skip(1) {
            let path = &chunk[..chunk.find('"').unwrap()];
            if !path.starts_with("/api/") {
                continue;
            }
            let rest = &chunk[chunk.find('"').unwrap()..chunk.find('\n').unwrap_or(chunk.len())];
            for (m, needle) in [("GET", "get("), ("POST", "post("), ("PUT", "put("), ("DELETE", "delete(")] {
                if rest.contains(needle) {
                    registered.insert((m.to_owned(), path.to_owned()));
                }
            }
        }
    }
    assert!(registered.len() >= 14, "{registered:?}");
    assert_eq!(registered, documented, "routes and the OpenAPI document differ");
    let consts: std::collections::BTreeSet<(String, String)> =
        todokede_web::analyst_api::ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert!(consts.is_subset(&documented));

    // Every documented operation reaches its handler: its own JSON error (or success), never the
    // router's empty 404 / 405.
    for (method, path) in &documented {
        let url = app.url(&path.replace("{tracking_number}", "00000-00000"));
        let res = reqwest::Client::new().request(method.parse().unwrap(), url).send().await.unwrap();
        assert_ne!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        assert!(ct.starts_with("application/json"), "{method} {path}: {} {ct}", res.status());
    }

    // Every field the report schema documents is in a real answer.
    use todokede_app::tokens::Scope;
    let t = token(&app, "doc@example.jp", &[Scope::Read]).await;
    let tn = app.submit_report("スキーマの確認").await.tracking_number;
    let real: Value = api(&t)(reqwest::Method::GET, app.url(&format!("/api/v1/analyst/reports/{tn}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for field in doc["components"]["schemas"]["AnalystReport"]["properties"].as_object().unwrap().keys() {
        assert!(real.get(field).is_some(), "documented field {field} missing: {real}");
    }
    for field in real.as_object().unwrap().keys() {
        assert!(
            doc["components"]["schemas"]["AnalystReport"]["properties"].get(field).is_some(),
            "undocumented field {field}"
        );
    }
    app.stop().await;
    db.cleanup().await;
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

async fn me(app: &TestApp, token: &str) -> reqwest::Response {
    reqwest::Client::new().get(app.url("/api/v1/analyst/me")).bearer_auth(token).send().await.unwrap()
}

/// The token shown on the page after creating one.
fn new_token(page: &str) -> Option<String> {
    let start = page.find("id=\"new-token\">")? + "id=\"new-token\">".len();
    Some(page[start..start + page[start..].find('<')?].to_owned())
}

async fn an_api_token_is_shown_once_kept_as_a_hash_scoped_revocable_and_every_use_audited(db: &TestDb) {
    let app = TestApp::start(db).await;
    let s = app.logged_in(Role::Analyst, "ana@example.jp").await;
    let res = s
        .client
        .post(app.url("/account/tokens"))
        .header("origin", app.base.clone())
        .form(&[("csrf", s.csrf.as_str()), ("name", "nightly"), ("scope", "read"), ("days", "30")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    let token = new_token(&page).expect("the new token is shown");
    assert!(token.starts_with("tdk_") && token.len() == 47, "{token}");
    // Shown once: the account page does not show it again, only its prefix.
    let again = s.client.get(app.url("/account")).send().await.unwrap().text().await.unwrap();
    assert!(!again.contains(&token) && again.contains(&token[..10]), "only the prefix is listed");
    let stored = app.store.api_tokens(None).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].scopes, "read");
    let hash = sha256_hex(&token);
    // Only the hash is kept: the store finds it by hash, and the database holds no plaintext.
    assert!(app.store.use_api_token(&token, "probe").await.unwrap().is_none(), "the plaintext is no key");
    assert!(app.store.use_api_token(&hash, "GET /probe").await.unwrap().is_some());
    if let Some(dir) = db.data_dir() {
        for f in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(f.unwrap().path()).unwrap();
            assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()), "plaintext token on disk");
        }
    }

    // Without a token, or with a wrong one: 401 with the Bearer challenge, the usual error shape.
    let none = reqwest::Client::new().get(app.url("/api/v1/analyst/me")).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert!(none.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    let body: Value = none.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(me(&app, "tdk_wrongwrongwrongwrongwrongwrongwrongwrongwro").await.status(), StatusCode::UNAUTHORIZED);

    let ok = me(&app, &token).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let v: Value = ok.json().await.unwrap();
    assert_eq!(v["email"], "ana@example.jp");
    assert_eq!(v["scopes"], serde_json::json!(["read"]));
    let audit = app.store.audit_log(50).await.unwrap();
    let uses: Vec<_> = audit.iter().filter(|e| e.action == "api.use").collect();
    assert_eq!(uses.len(), 2, "each use is audited: {audit:?}");
    assert_eq!(uses[0].detail.as_deref(), Some("GET /api/v1/analyst/me"));
    assert_eq!(uses[0].target.as_deref(), Some(format!("token:{}", stored[0].id).as_str()));
    assert!(audit.iter().any(|e| e.action == "api_token.create"));
    assert!(app.store.api_tokens(None).await.unwrap()[0].last_used_at.is_some());

    // Another analyst cannot revoke it; its owner can, from the account page, and then it is refused.
    let other = app.logged_in(Role::Analyst, "other@example.jp").await;
    let path = format!("/account/tokens/{}/revoke", stored[0].id);
    let res = other
        .client
        .post(app.url(&path))
        .header("origin", app.base.clone())
        .form(&[("csrf", other.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(me(&app, &token).await.status(), StatusCode::OK);
    // Without the session's CSRF token nothing happens.
    let res = s
        .client
        .post(app.url(&path))
        .header("origin", app.base.clone())
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = s
        .client
        .post(app.url(&path))
        .header("origin", app.base.clone())
        .form(&[("csrf", s.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let refused = me(&app, &token).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.text().await.unwrap().contains("revoked"));
    let audit = app.store.audit_log(50).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "api_token.revoke"));
    assert!(
        audit.iter().any(|e| e.action == "api.refused" && e.detail.as_deref().unwrap_or("").starts_with("revoked"))
    );

    // No scope, or a lifetime out of range: refused with a message in the page's language.
    let res = s
        .client
        .post(app.url("/account/tokens"))
        .header("origin", app.base.clone())
        .form(&[("csrf", s.csrf.as_str()), ("name", "x"), ("days", "30")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("スコープを一つ以上選んでください"));
    let res = s
        .client
        .post(app.url("/account/tokens"))
        .header("origin", app.base.clone())
        .form(&[("csrf", s.csrf.as_str()), ("scope", "read"), ("days", "400")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.store.api_tokens(None).await.unwrap().len(), 1);
}

async fn an_expired_token_or_one_of_a_disabled_account_is_refused(db: &TestDb) {
    use todokede_app::tokens::{self, Scope};
    let app = TestApp::start(db).await;
    app.user(Role::Analyst, "short@example.jp").await;
    app.user(Role::Admin, "boss@example.jp").await;
    let user = app.store.user_by_email("short@example.jp").await.unwrap().unwrap();
    let boss = app.store.user_by_email("boss@example.jp").await.unwrap().unwrap();
    let short = tokens::create(&app.store, &user, "short", &[Scope::Read], time::Duration::milliseconds(300), &user)
        .await
        .unwrap();
    assert_eq!(me(&app, &short.token).await.status(), StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let res = me(&app, &short.token).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("expired"));
    let long =
        tokens::create(&app.store, &user, "long", &[Scope::Write], time::Duration::days(1), &user).await.unwrap();
    assert_eq!(me(&app, &long.token).await.status(), StatusCode::OK);
    app.store.set_user_disabled(user.id, true, Some(boss.id)).await.unwrap();
    assert_eq!(me(&app, &long.token).await.status(), StatusCode::UNAUTHORIZED, "a disabled account's tokens stop");
    assert!(matches!(
        tokens::create(&app.store, &boss, "x", &[Scope::Read], time::Duration::days(367), &boss).await,
        Err(todokede_app::AppError::Invalid(_))
    ));
    assert!(tokens::parse_scopes("read,admin").is_err());
    assert_eq!(tokens::parse_scopes("export, read,read").unwrap(), vec![Scope::Read, Scope::Export]);
}

/// The real binary: `token create` prints the token alone on stdout (scripts capture it).
async fn the_cli_creates_lists_and_revokes_tokens(db: &TestDb) {
    let app = TestApp::start(db).await;
    app.user(Role::Analyst, "cli@example.jp").await;
    let out =
        todokede(&db.url, &["token", "create", "--as", "cli@example.jp", "--scope", "read,export", "--expires", "7d"]);
    let token = common::ok(out).trim().to_owned();
    assert!(token.starts_with("tdk_"), "{token}");
    let v: Value = me(&app, &token).await.json().await.unwrap();
    assert_eq!(v["scopes"], serde_json::json!(["read", "export"]));
    let list = common::ok(todokede(&db.url, &["token", "list", "--as", "cli@example.jp"]));
    let line = list.lines().next().expect("one token listed");
    assert!(line.contains("cli@example.jp") && line.contains("read,export") && line.ends_with("active"), "{line}");
    assert!(!list.contains(&token), "never the token itself");
    let id = line.split('\t').next().unwrap();
    assert_eq!(common::ok(todokede(&db.url, &["token", "revoke", id])).trim(), format!("{id}\trevoked"));
    assert_eq!(me(&app, &token).await.status(), StatusCode::UNAUTHORIZED);
    let again = todokede(&db.url, &["token", "revoke", id]);
    assert!(!again.status.success());
    let bad = todokede(&db.url, &["token", "create", "--as", "cli@example.jp", "--scope", "root"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("unknown scope"));
}
