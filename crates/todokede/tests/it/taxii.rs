//! The TAXII 2.1 server, read side (issue 18): the reference client (taxii2-client 2.3.x,
//! `taxii_walk.py`) walks the real `todokede serve` process — discovery, API root,
//! collections, every object of every collection a page of one, over a set whose objects share
//! one date_added — and gets each object of the STIX export exactly once; the export's SCO ids
//! are recomputed by the OASIS stix2 library (`stix2_ids.py`). In process (TestApp): 401 with
//! its challenges, 403 without the export scope, 406 for a wrong Accept, TAXII error
//! messages, TLP:RED never served, the filters, the cursor, and date_added kept while content
//! is unchanged. On every backend.

use crate::common::{self, todokede};
use crate::exchange::{handled_report, token};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use todokede_app::tokens::Scope;
use todokede_testkit::TestDb;
use todokede_testkit::app::TestApp;

todokede_testkit::on_both_backends!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] todokede_testkit::run_on =>
    taxii2_client_walks_every_collection_a_page_of_one_and_gets_each_exported_object_once,
    taxii_answers_only_authorised_taxii_requests_with_taxii_errors_and_never_red,
    taxii_filters_pages_and_keeps_date_added_while_content_is_unchanged,
    taxii_after_one_report_changes_a_poll_sees_exactly_its_changed_objects_and_the_rest_keep_date_added,
    taxii_refresh_after_one_report_changes_rebuilds_only_its_incident,
);

const TAXII: &str = "application/taxii+json;version=2.1";
/// The one value only the TLP:RED report has.
const RED_ONLY: &str = "91.240.118.172";
const LEVELS: [&str; 4] = ["clear", "green", "amber", "amber+strict"];

/// `n` reports with attacker indicators (each its own address, domain, URL and hash; every
/// one the same scanner, 45.137.21.9), and one more whose only indicator is [`RED_ONLY`].
fn reports_json(n: usize) -> String {
    let mut v = Vec::new();
    for i in 0..n {
        v.push(json!({
            "form": "unauthorized_access", "received_on": "2026-10-01", "reporter": {"kind": "company"},
            "description": format!(
                "弊社の VPN 装置に 45.137.21.9 と 185.220.{}.{} から総当たり攻撃があり、侵入後に \
                 hxxp://drop-{i}[.]xyz/p{i}.exe がダウンロードされ、c2-{i}.top へ通信していました。\
                 ハッシュ SHA-256 {:064x}。",
                100 + i / 200, 1 + i % 200, 0x5eed_0000_u64 + i as u64)
        }));
    }
    v.push(json!({
        "form": "unauthorized_access", "received_on": "2026-10-02", "reporter": {"kind": "company"},
        "description": format!("社外秘の案件です。{RED_ONLY} から侵入されました。")
    }));
    serde_json::to_string(&v).unwrap()
}

async fn taxii2_client_walks_every_collection_a_page_of_one_and_gets_each_exported_object_once(db: &TestDb) {
    let python = todokede_testkit::requires::tool("python3")
        && todokede_testkit::requires::python_module("taxii2client")
        && todokede_testkit::requires::python_module("stix2");
    if !python {
        return;
    }
    let analyst = "csirt-walk@example.jp";
    common::user_add(&db.url, "analyst", analyst);
    let tag = format!("{}-{}", db.backend, std::process::id());
    let file = std::env::temp_dir().join(format!("todokede-taxii-reports-{tag}.json"));
    std::fs::write(&file, reports_json(24)).unwrap();
    let numbers: Vec<String> = common::ok(todokede(&db.url, &["import", file.to_str().unwrap()]))
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_owned())
        .collect();
    assert_eq!(numbers.len(), 25);
    common::ok(todokede(&db.url, &["reanalyse"]));
    {
        let store = todokede_store::Store::open(&db.url).await.unwrap();
        let user = store.user_by_email(analyst).await.unwrap().unwrap();
        let mut ids = Vec::new();
        for n in &numbers {
            let id = store.report_id_by_tracking(&todokede_domain::TrackingNumber::parse(n).unwrap()).await.unwrap();
            let id = id.unwrap();
            let c = todokede_domain::Classification {
                causes: vec![todokede_domain::CauseCategory::WeakCredentials],
                damages: vec![],
                attack_types: vec![todokede_domain::AttackType::Intrusion],
                techniques: vec!["T1110.001".into(), "T1133".into()],
                has_damage: Some(true),
            };
            store.confirm_classification(id, user.id, &c, &c, None).await.unwrap();
            ids.push(id);
        }
        // Two incidents of two reports at different levels: marked with the stricter one.
        store.link_reports(ids[0], ids[1], user.id, None).await.unwrap();
        store.link_reports(ids[2], ids[7], user.id, None).await.unwrap();
    }
    for (i, n) in numbers.iter().enumerate() {
        let tlp = if i == 24 { "red" } else { LEVELS[i % 4] };
        common::ok(todokede(&db.url, &["share", n, "--as", analyst, "--tlp", tlp]));
    }
    let token = common::ok(todokede(&db.url, &["token", "create", "--as", analyst, "--scope", "export"]));
    let token = token.trim();
    let export = std::env::temp_dir().join(format!("todokede-taxii-export-{tag}.json"));
    common::ok(todokede(&db.url, &["export", "stix", "--all", "-o", export.to_str().unwrap()]));
    let bundle: Value = serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    let exported = bundle["objects"].as_array().unwrap().len();
    assert!(exported > 200, "a set worth walking: {exported} objects");
    assert!(!String::from_utf8(std::fs::read(&export).unwrap()).unwrap().contains(RED_ONLY));

    let server = common::serve(&db.url, &[]);
    let script = common::repo("crates/todokede/tests/it/taxii_walk.py");
    let out = tokio::process::Command::new("python3")
        .args([&script, &server.base, analyst, token, export.to_str().unwrap(), RED_ONLY])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["api_roots"], json!([server.url("/taxii2/todokede/")]), "{v}");
    assert_eq!(v["versions"], json!([TAXII]));
    let cs = v["collections"].as_object().unwrap();
    let aliases: BTreeSet<&str> = cs.keys().map(String::as_str).collect();
    assert_eq!(aliases, BTreeSet::from(["tlp-clear", "tlp-green", "tlp-amber", "tlp-amber-strict"]), "never red");
    let mut walked = 0;
    for (alias, c) in cs {
        for empty in ["duplicates", "missing", "unexpected", "changed", "manifest_duplicates"] {
            assert_eq!(c[empty], json!([]), "{alias} {empty}: {c}");
        }
        assert_eq!(c["manifest_equals_objects"], true, "{alias}: {c}");
        assert_eq!(c["forbidden_seen"], false, "{alias}: {c}");
        assert_eq!((c["can_read"].as_bool(), c["can_write"].as_bool()), (Some(true), Some(false)));
        assert_eq!(c["media_types"], json!(["application/stix+json;version=2.1"]));
        let n = c["objects"].as_u64().unwrap();
        assert!(n > 10, "{alias}: {c}");
        assert!(c["pages"].as_u64().unwrap() >= n, "one object a page: {c}");
        // One build served them all: the ties the cursor must break.
        assert_eq!(c["largest_tie"].as_u64().unwrap(), n, "{alias}: all at one date_added: {c}");
        walked += n;
    }
    assert_eq!(walked as usize, exported, "every exported object in exactly one collection");
    eprintln!("{}: taxii2-client walked {walked} objects a page of one: {v}", db.backend);
    assert_eq!(v["bearer_collections"], 4);

    let ids = common::repo("crates/todokede/tests/it/stix2_ids.py");
    let out = tokio::process::Command::new("python3").args([&ids, export.to_str().unwrap()]).output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mismatches"], json!([]), "SCO ids as the stix2 library derives them: {v}");
    for kind in ["ipv4-addr", "domain-name", "url", "file"] {
        assert!(v["by_type"][kind].as_u64().is_some_and(|n| n >= 1), "{kind}: {v}");
    }
    assert!(v["checked"].as_u64().unwrap() >= 24 * 4, "{v}");
    drop(server);
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_file(&export);
}

fn taxii_get(app: &TestApp, token: &str, path: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new().get(app.url(path)).bearer_auth(token).header("accept", TAXII)
}

async fn json_of(res: reqwest::Response) -> Value {
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], TAXII);
    res.json().await.unwrap()
}

/// The tracking number's report shared at `tlp` through the analysts' API.
async fn share(app: &TestApp, t: &str, tn: &str, tlp: Option<&str>) {
    let base = app.url(&format!("/api/v1/analyst/reports/{tn}"));
    let etag = reqwest::Client::new().get(&base).bearer_auth(t).send().await.unwrap().headers()["etag"].clone();
    let res = reqwest::Client::new()
        .post(format!("{base}/sharing"))
        .bearer_auth(t)
        .header("if-match", etag)
        .json(&json!({ "tlp": tlp }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

fn collection_path(alias: &str) -> String {
    let c = todokede_app::taxii::Collection::find(alias).unwrap();
    format!("/taxii2/todokede/collections/{}/", c.id())
}

async fn taxii_answers_only_authorised_taxii_requests_with_taxii_errors_and_never_red(db: &TestDb) {
    let app = TestApp::start(db).await;
    let sharer = token(&app, "taxii-sharer@example.jp", &[Scope::Write, Scope::Export]).await;
    let reader = token(&app, "taxii-reader@example.jp", &[Scope::Read, Scope::Write]).await;
    let analyst = app.store.user_by_email("taxii-sharer@example.jp").await.unwrap().unwrap();
    let (green, _) = handled_report(&app, &analyst, "VPN 装置に 45.137.21.9 から総当たり攻撃がありました。").await;
    let (red, _) = handled_report(&app, &analyst, &format!("社外秘の案件です。{RED_ONLY} から侵入されました。")).await;
    share(&app, &sharer, &green, Some("green")).await;
    share(&app, &sharer, &red, Some("red")).await;

    // No token: 401 with both challenges, as a TAXII error message.
    let res = reqwest::Client::new().get(app.url("/taxii2/")).header("accept", TAXII).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let challenges: Vec<&str> =
        res.headers().get_all("www-authenticate").iter().map(|v| v.to_str().unwrap()).collect::<Vec<_>>();
    assert!(challenges.iter().any(|c| c.starts_with("Bearer")) && challenges.iter().any(|c| c.starts_with("Basic")));
    assert_eq!(res.headers()["content-type"], TAXII);
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["http_status"], "401");
    assert!(e["title"].as_str().is_some_and(|t| !t.is_empty()), "{e}");
    let bad = reqwest::Client::new().get(app.url("/taxii2/")).bearer_auth("tdk_nonsense").send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    // A token without the export scope: 403.
    let res = taxii_get(&app, &reader, "/taxii2/").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.json::<Value>().await.unwrap()["http_status"], "403");
    // HTTP Basic with the token as the password works as Bearer does.
    let res = reqwest::Client::new()
        .get(app.url("/taxii2/"))
        .basic_auth("taxii-sharer@example.jp", Some(&sharer))
        .header("accept", TAXII)
        .send()
        .await
        .unwrap();
    let discovery = json_of(res).await;
    let root = app.url("/taxii2/todokede/");
    assert_eq!(discovery["api_roots"], json!([root]));
    assert_eq!(discovery["default"], json!(root));
    // A wrong Accept: 406, on every endpoint.
    for path in ["/taxii2/", "/taxii2/todokede/collections/", &format!("{}objects/", collection_path("tlp-green"))] {
        for accept in ["application/json", "application/taxii+json;version=2.0", "application/stix+json;version=2.1"] {
            let res = reqwest::Client::new()
                .get(app.url(path))
                .bearer_auth(&sharer)
                .header("accept", accept)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::NOT_ACCEPTABLE, "{path} {accept}");
            assert_eq!(res.json::<Value>().await.unwrap()["http_status"], "406");
        }
    }
    let api_root = json_of(taxii_get(&app, &sharer, "/taxii2/todokede/").send().await.unwrap()).await;
    assert_eq!(api_root["versions"], json!([TAXII]));
    let list = json_of(taxii_get(&app, &sharer, "/taxii2/todokede/collections/").send().await.unwrap()).await;
    let aliases: Vec<&str> =
        list["collections"].as_array().unwrap().iter().map(|c| c["alias"].as_str().unwrap()).collect();
    assert_eq!(aliases, ["tlp-clear", "tlp-green", "tlp-amber", "tlp-amber-strict"]);
    let one = json_of(taxii_get(&app, &sharer, &collection_path("tlp-green")).send().await.unwrap()).await;
    assert_eq!(one, list["collections"][1]);
    let missing = taxii_get(&app, &sharer, "/taxii2/todokede/collections/tlp-red/objects/").send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.json::<Value>().await.unwrap()["http_status"], "404");

    // Red never: in no collection, under no marking; the green report is there.
    let mut all = Vec::new();
    for alias in ["tlp-clear", "tlp-green", "tlp-amber", "tlp-amber-strict"] {
        let page = taxii_get(&app, &sharer, &format!("{}objects/?limit=1000", collection_path(alias)));
        let v = json_of(page.send().await.unwrap()).await;
        assert_eq!(v["more"], false);
        all.extend(v["objects"].as_array().cloned().unwrap_or_default());
    }
    let text = serde_json::to_string(&all).unwrap();
    assert!(!text.contains(RED_ONLY), "red content leaked: {text}");
    assert!(!text.contains(todokede_publish::stix::Tlp::Red.marking_id()));
    assert!(text.contains("45.137.21.9"));
    // Exactly the export's objects (the same generator, byte for byte per object).
    let served: BTreeMap<String, Value> =
        all.iter().map(|o| (o["id"].as_str().unwrap().to_owned(), o.clone())).collect();
    assert_eq!(served, exported(&app).await);
    // Every use is audited, as on the analysts' API.
    let audit = app.store.audit_log(500).await.unwrap();
    assert!(
        audit.iter().any(|e| e.action == "api.use" && e.detail.as_deref().is_some_and(|d| d.contains("/taxii2/"))),
        "{audit:?}"
    );
    app.stop().await;
}

/// Every object of a collection, walked with `limit`, and the pages' headers.
async fn walk(app: &TestApp, t: &str, alias: &str, query: &str, limit: usize) -> (Vec<Value>, usize) {
    let (mut objects, mut pages, mut next) = (Vec::new(), 0, None::<String>);
    loop {
        let mut url = format!("{}objects/?limit={limit}{query}", collection_path(alias));
        if let Some(n) = &next {
            url.push_str(&format!("&next={n}"));
        }
        let res = taxii_get(app, t, &url).send().await.unwrap();
        let first = res.headers().get("x-taxii-date-added-first").map(|v| v.to_str().unwrap().to_owned());
        let last = res.headers().get("x-taxii-date-added-last").map(|v| v.to_str().unwrap().to_owned());
        let v = json_of(res).await;
        pages += 1;
        let page = v["objects"].as_array().cloned().unwrap_or_default();
        assert!(page.len() <= limit);
        assert_eq!(first.is_some(), !page.is_empty());
        assert!(first <= last);
        objects.extend(page);
        if v["more"] != true {
            assert!(v.get("next").is_none());
            break;
        }
        next = Some(v["next"].as_str().unwrap().to_owned());
        assert!(pages < 10_000);
    }
    (objects, pages)
}

async fn manifest(app: &TestApp, t: &str, alias: &str, query: &str) -> BTreeMap<String, (String, String)> {
    let v = json_of(
        taxii_get(app, t, &format!("{}manifest/?limit=1000{query}", collection_path(alias))).send().await.unwrap(),
    )
    .await;
    v["objects"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| {
            assert_eq!(m["media_type"], "application/stix+json;version=2.1");
            let s = |k: &str| m[k].as_str().unwrap().to_owned();
            (s("id"), (s("date_added"), s("version")))
        })
        .collect()
}

async fn taxii_filters_pages_and_keeps_date_added_while_content_is_unchanged(db: &TestDb) {
    let app = TestApp::start(db).await;
    let t = token(&app, "taxii-filter@example.jp", &[Scope::Write, Scope::Export]).await;
    let analyst = app.store.user_by_email("taxii-filter@example.jp").await.unwrap().unwrap();
    let mut tns = Vec::new();
    for i in 0..3 {
        let (tn, _) = handled_report(
            &app,
            &analyst,
            &format!("VPN 装置に 45.137.21.9 と 185.220.101.{} から攻撃があり c2-{i}.top へ通信していました。", 10 + i),
        )
        .await;
        share(&app, &t, &tn, Some("amber")).await;
        tns.push(tn);
    }
    // Pages of every size give the same objects, each once, in (date_added, id) order.
    let (all, _) = walk(&app, &t, "tlp-amber", "", 1000).await;
    assert!(all.len() > 15, "{}", all.len());
    let ids: Vec<&str> = all.iter().map(|o| o["id"].as_str().unwrap()).collect();
    let before = manifest(&app, &t, "tlp-amber", "").await;
    let order: Vec<(String, String)> = ids.iter().map(|i| (before[*i].0.clone(), i.to_string())).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "(date_added, id) order");
    for limit in [1, 2, 7] {
        let (paged, pages) = walk(&app, &t, "tlp-amber", "", limit).await;
        assert_eq!(paged, all, "limit {limit}");
        assert_eq!(pages, all.len().div_ceil(limit), "limit {limit}: no empty last page");
    }
    // The content of an object does not change between requests.
    let (again, _) = walk(&app, &t, "tlp-amber", "", 1000).await;
    assert_eq!(again, all);

    // match[type], match[id], match[version], match[spec_version].
    let (indicators, _) = walk(&app, &t, "tlp-amber", "&match[type]=indicator", 2).await;
    assert!(!indicators.is_empty() && indicators.iter().all(|o| o["type"] == "indicator"));
    let (two_types, _) = walk(&app, &t, "tlp-amber", "&match[type]=indicator,incident", 1000).await;
    assert_eq!(two_types.len(), all.iter().filter(|o| o["type"] == "indicator" || o["type"] == "incident").count());
    let incident = all.iter().find(|o| o["type"] == "incident").unwrap().clone();
    let iid = incident["id"].as_str().unwrap();
    let (just, _) = walk(&app, &t, "tlp-amber", &format!("&match[id]={iid}"), 1000).await;
    assert_eq!(just, std::slice::from_ref(&incident));
    let modified = incident["modified"].as_str().unwrap();
    for (version, n) in [("last", 1), ("all", 1), ("first", 1), (modified, 1), ("2001-01-01T00:00:00.000Z", 0)] {
        let (v, _) = walk(&app, &t, "tlp-amber", &format!("&match[id]={iid}&match[version]={version}"), 1000).await;
        assert_eq!(v.len(), n, "version {version}");
    }
    let (none, _) = walk(&app, &t, "tlp-amber", "&match[spec_version]=2.0", 1000).await;
    assert!(none.is_empty());
    let (some, _) = walk(&app, &t, "tlp-amber", "&match[spec_version]=2.0,2.1", 1000).await;
    assert_eq!(some.len(), all.len());
    // One object, its versions.
    let path = format!("{}objects/{iid}/", collection_path("tlp-amber"));
    let one = json_of(taxii_get(&app, &t, &path).send().await.unwrap()).await;
    assert_eq!(one["objects"], json!([incident]));
    let versions = json_of(taxii_get(&app, &t, &format!("{path}versions/")).send().await.unwrap()).await;
    assert_eq!(versions["versions"], json!([modified]));
    let nothing = taxii_get(
        &app,
        &t,
        &format!("{}objects/incident--00000000-0000-4000-8000-000000000000/", collection_path("tlp-amber")),
    );
    assert_eq!(nothing.send().await.unwrap().status(), StatusCode::NOT_FOUND);
    // Parameters it cannot read: 400 as TAXII errors.
    for q in ["limit=0", "limit=x", "next=garbage", "added_after=yesterday", "match[version]=newest"] {
        let res = taxii_get(&app, &t, &format!("{}objects/?{q}", collection_path("tlp-amber"))).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(res.json::<Value>().await.unwrap()["http_status"], "400");
    }

    // added_after the last date_added: nothing new.
    let last = before.values().map(|(d, _)| d.clone()).max().unwrap();
    let (fresh, _) = walk(&app, &t, "tlp-amber", &format!("&added_after={last}"), 1000).await;
    assert!(fresh.is_empty());
    // One more report: new objects (and the changed report object) come after `last`; the
    // rest keep their date_added.
    let (tn, _) =
        handled_report(&app, &analyst, "別の拠点でも 185.220.101.99 から攻撃があり c2-new.top へ通信していました。")
            .await;
    share(&app, &t, &tn, Some("amber")).await;
    let after = manifest(&app, &t, "tlp-amber", "").await;
    let (fresh, _) = walk(&app, &t, "tlp-amber", &format!("&added_after={last}"), 2).await;
    let fresh_ids: BTreeSet<&str> = fresh.iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert!(fresh_ids.iter().any(|i| i.starts_with("report--")), "the report object changed: {fresh_ids:?}");
    assert!(fresh.iter().any(|o| o.to_string().contains("185.220.101.99")));
    for (id, (added, version)) in &after {
        match before.get(id) {
            Some(old) if !fresh_ids.contains(id.as_str()) => assert_eq!(old, &(added.clone(), version.clone()), "{id}"),
            _ => assert!(added > &last && fresh_ids.contains(id.as_str()), "{id} is new or changed"),
        }
    }
    // Withdrawn: its own objects leave the collection.
    share(&app, &t, &tn, None).await;
    let (now, _) = walk(&app, &t, "tlp-amber", "", 1000).await;
    assert!(!serde_json::to_string(&now).unwrap().contains("185.220.101.99"));
    assert!(serde_json::to_string(&now).unwrap().contains("185.220.101.10"));
    app.stop().await;
}

/// Every object the collections serve (a walk of each with pages of 1000), by id, with its
/// collection and date_added.
async fn served(app: &TestApp, t: &str) -> BTreeMap<String, (String, Value, String)> {
    let mut out = BTreeMap::new();
    for level in LEVELS {
        let alias = todokede_app::taxii::Collection { tlp: todokede_publish::stix::Tlp::parse(level).unwrap() }.alias();
        let (objects, _) = walk(app, t, &alias, "", 1000).await;
        let added = manifest(app, t, &alias, "").await;
        for o in objects {
            let id = o["id"].as_str().unwrap().to_owned();
            let date = added[&id].0.clone();
            assert!(out.insert(id.clone(), (level.to_owned(), o, date)).is_none(), "{id} in two collections");
        }
    }
    out
}

/// The objects of `todokede export stix --all`, by id.
async fn exported(app: &TestApp) -> BTreeMap<String, Value> {
    let publisher = todokede_publish::stix::Publisher { name: todokede_app::exchange::DEFAULT_PUBLISHER.into() };
    let bytes = todokede_app::exchange::stix_bundle(
        &app.store,
        &publisher,
        &todokede_app::exchange::ExportScope::All,
        todokede_publish::stix::Tlp::AmberStrict,
    )
    .await
    .unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    v["objects"].as_array().unwrap().iter().map(|o| (o["id"].as_str().unwrap().to_owned(), o.clone())).collect()
}

/// Reports sharing one scanner (45.137.21.9), each with its own address and C2 domain,
/// handled and shared at `levels`.
async fn shared_set(app: &TestApp, analyst: &todokede_store::User, levels: &[&str]) -> Vec<todokede_domain::ReportId> {
    let mut ids = Vec::new();
    for (i, level) in levels.iter().enumerate() {
        let (_, id) = handled_report(
            app,
            analyst,
            &format!(
                "VPN 装置に 45.137.21.9 と 185.220.102.{} から攻撃があり c2-inc-{i}.top へ通信していました。",
                10 + i
            ),
        )
        .await;
        app.store.approve_sharing(id, level, analyst.id).await.unwrap();
        ids.push(id);
    }
    ids
}

async fn taxii_after_one_report_changes_a_poll_sees_exactly_its_changed_objects_and_the_rest_keep_date_added(
    db: &TestDb,
) {
    let app = TestApp::start(db).await;
    let t = token(&app, "taxii-incr@example.jp", &[Scope::Write, Scope::Export]).await;
    let analyst = app.store.user_by_email("taxii-incr@example.jp").await.unwrap().unwrap();
    let ids = shared_set(&app, &analyst, &["amber", "green", "clear", "green"]).await;
    app.store.link_reports(ids[2], ids[3], analyst.id, None).await.unwrap();
    let same_as_export = |served: &BTreeMap<String, (String, Value, String)>, export: &BTreeMap<String, Value>| {
        let s: BTreeMap<&String, &Value> = served.iter().map(|(k, (_, v, _))| (k, v)).collect();
        let e: BTreeMap<&String, &Value> = export.iter().collect();
        assert_eq!(s, e, "the collections hold exactly the export's objects");
    };
    let mut before = served(&app, &t).await;
    let mut export = exported(&app).await;
    same_as_export(&before, &export);
    let scanner = todokede_publish::stix::sco_id("ipv4-addr", &json!({"value": "45.137.21.9"}));
    assert_eq!(before[&scanner].0, "amber", "a shared observable: the strictest of its reports");

    // Each step changes the data; a poll with added_after the last date_added sees exactly
    // the objects whose bytes changed, and every other object keeps its date_added.
    for step in ["re-approve one report", "one report stricter", "withdraw a linked report", "link two incidents"] {
        match step {
            "re-approve one report" => app.store.approve_sharing(ids[1], "green", analyst.id).await.unwrap(),
            "one report stricter" => app.store.approve_sharing(ids[0], "amber+strict", analyst.id).await.unwrap(),
            "withdraw a linked report" => assert!(app.store.withdraw_sharing(ids[3], analyst.id).await.unwrap()),
            _ => app.store.link_reports(ids[0], ids[1], analyst.id, None).await.unwrap(),
        }
        let last = before.values().map(|(_, _, d)| d.clone()).max().unwrap();
        let now_export = exported(&app).await;
        let changed: BTreeSet<&String> =
            now_export.iter().filter(|(id, o)| export.get(*id) != Some(*o)).map(|(id, _)| id).collect();
        assert!(!changed.is_empty(), "{step}");
        let mut polled = BTreeSet::new();
        for level in LEVELS {
            let alias =
                todokede_app::taxii::Collection { tlp: todokede_publish::stix::Tlp::parse(level).unwrap() }.alias();
            let (fresh, _) = walk(&app, &t, &alias, &format!("&added_after={last}"), 2).await;
            polled.extend(fresh.iter().map(|o| o["id"].as_str().unwrap().to_owned()));
        }
        assert_eq!(polled.iter().collect::<BTreeSet<_>>(), changed, "{step}: the poll sees exactly the changes");
        let after = served(&app, &t).await;
        same_as_export(&after, &now_export);
        for (id, (level, _, date)) in &after {
            match before.get(id) {
                Some((old_level, _, old_date)) if !changed.contains(id) => {
                    assert_eq!((old_level, old_date), (level, date), "{step}: {id} unchanged")
                }
                _ => assert!(*date > last, "{step}: {id} is new or changed"),
            }
        }
        if step == "one report stricter" {
            assert_eq!(after[&scanner].0, "amber+strict", "moved to the stricter collection");
            assert!(changed.contains(&scanner));
        }
        if step == "re-approve one report" {
            assert!(!changed.contains(&scanner), "an observable whose bytes stay keeps its date_added");
        }
        before = after;
        export = now_export;
    }
    app.stop().await;
}

async fn taxii_refresh_after_one_report_changes_rebuilds_only_its_incident(db: &TestDb) {
    let app = TestApp::start(db).await;
    let t = token(&app, "taxii-refresh@example.jp", &[Scope::Write, Scope::Export]).await;
    let analyst = app.store.user_by_email("taxii-refresh@example.jp").await.unwrap().unwrap();
    let _ = t;
    let ids = shared_set(&app, &analyst, &["amber", "green", "clear"]).await;
    app.stop().await;
    // No serve runs now: these materialisers are the only writers.
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let m = todokede_app::taxii::Materialiser::new(store.clone());
    let first = m.refresh().await.unwrap();
    assert!(first.full && first.reports == 3 && first.incidents == 3 && first.inserted > 20, "{first:?}");
    assert_eq!(m.refresh().await.unwrap(), todokede_app::taxii::Refreshed::default(), "nothing changed");
    let objects = store.taxii_stored().await.unwrap().1.len();
    assert_eq!(objects, first.inserted);

    store.approve_sharing(ids[1], "green", analyst.id).await.unwrap();
    let one = m.refresh().await.unwrap();
    // The report's incident, its indicators and relationships, and the report object; its
    // observables' bytes do not change.
    assert!(!one.full && one.reports == 1 && one.incidents == 1, "{one:?}");
    assert!(one.inserted > 3 && one.inserted < objects / 2, "{one:?} of {objects}");
    assert_eq!(one.deleted, one.inserted, "each changed object replaced: {one:?}");

    // Another process (nothing in memory) compares everything and writes nothing.
    let other = todokede_app::taxii::Materialiser::new(store.clone());
    let r = other.refresh().await.unwrap();
    assert!(r.full && r.inserted == 0 && r.deleted == 0, "{r:?}");
    // This one notices the other's write (the generation) and compares everything again.
    let r = m.refresh().await.unwrap();
    assert!(r.full && r.inserted == 0 && r.deleted == 0, "{r:?}");
    // Withdrawing every report empties the collections.
    for id in &ids {
        store.withdraw_sharing(*id, analyst.id).await.unwrap();
    }
    let r = m.refresh().await.unwrap();
    assert_eq!((r.reports, r.inserted, r.deleted), (3, 0, objects), "{r:?}");
    assert!(store.taxii_stored().await.unwrap().1.is_empty());
}
