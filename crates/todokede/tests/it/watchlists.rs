//! Analysts' watch and warning lists (issue 18, item 5), each a test per backend, with real
//! files from fixtures/watchlists (the OASIS APT1 STIX 2.1 example; a MISP event and a static
//! MISP feed that `todokede export --format misp` and `todokede feed misp` wrote): imported with
//! `todokede watchlist import` (the real binary: its output and exit code are the contract) and
//! by upload on the lists page (the in-process service), a report naming a listed address,
//! domain or hash hit on its page, in the queue's filter and in the indicator search; a
//! warning-listed value no longer links two reports; a re-import changes nothing; a file that
//! is no list is refused and stores nothing.

use crate::common::{self, ok, repo, todokede};

use reqwest::StatusCode;
use todokede_domain::TrackingNumber;
use todokede_store::Role;
use todokede_testkit::TestDb;
use todokede_testkit::app::TestApp;

todokede_testkit::on_both_backends!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] todokede_testkit::run_on =>
    stix_and_misp_watch_lists_mark_reports_on_their_page_in_the_queue_and_in_search,
    a_warning_list_uploaded_by_an_admin_stops_a_shared_value_linking_two_reports,
);

/// A page as the analyst's browser gets it, with minijinja's escaped slashes read back.
async fn get(app: &TestApp, who: &todokede_testkit::app::Session, path: &str) -> String {
    common::get(app, who, path).await.replace("&#x2f;", "/")
}

/// A report filed through the API and analysed by the service's worker.
async fn analysed(app: &TestApp, description: &str) -> (String, todokede_domain::ReportId) {
    let tn = app.submit_report(description).await.tracking_number;
    let id = app.store.report_id_by_tracking(&TrackingNumber::parse(&tn).unwrap()).await.unwrap().unwrap();
    // Done when its job is: the analysis and then the index are written.
    for _ in 0..400 {
        if app.store.pending_jobs(100).await.unwrap().iter().all(|j| j.report_id != id) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(app.store.analysis(id).await.unwrap().is_some(), "analysed by the worker");
    (tn, id)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn stix_and_misp_watch_lists_mark_reports_on_their_page_in_the_queue_and_in_search(db: &TestDb) {
    let app = TestApp::start(db).await;
    let analyst = app.logged_in(Role::Analyst, "watch@ipa.example").await;
    // Addresses, a domain and a hash APT1's indicators name (an address inside a /15 range, a
    // subdomain of a listed domain), and a report naming none of them.
    let (hit, hit_id) = analysed(
        &app,
        "223.167.20.30 から VPN に不正ログインされ、www.hugesoft.org へ通信していた。検体の MD5 は 001dd76872d80801692ff942308c64e6。",
    )
    .await;
    let (clean, _) = analysed(&app, "45.33.32.156 から SSH への総当たり攻撃を受けた。被害はない。").await;

    let apt1 = repo("fixtures/watchlists/apt1.json");
    let out = todokede(&db.url, &["watchlist", "import", "--name", "APT1", "--kind", "watch", "--tlp", "clear", &apt1]);
    let stdout = ok(out.clone());
    // 12 indicators: 4 ranges, 3 domains, 3 MD5s; 2 x509 patterns with AND that cannot be matched.
    assert!(stdout.contains("apt1.json\t10 entries\t2 unusable"), "{stdout}");
    assert!(stdout.contains("APT1\twatch\t10 entries\t10 imported, 0 replaced\t1 reports hit"), "{stdout}");
    let err = stderr(&out);
    assert_eq!(err.matches("unusable\tapt1.json\tindicator--").count(), 2, "{err}");
    assert!(
        err.contains("x509-certificate:issuer")
            && err.contains("単純な比較")
            && err.contains("only simple comparisons"),
        "{err}"
    );
    assert!(err.contains("2 件は照合に使えない") && err.contains("2 could not be used"), "{err}");

    // The hit on the report page: the list, the report's value, the entry and its STIX id.
    let page = get(&app, &analyst, &format!("/reports/{hit}")).await;
    let hits = &page[page.find("id=\"watch-hits\"").expect("the watch-hit card")..];
    let hits = &hits[..hits.find("</table>").unwrap()];
    assert!(hits.contains(">APT1</a>"), "{hits}");
    for (indicator, entry, source) in [
        ("ipv4 223.167.20.30", "cidr 223.166.0.0/15", "indicator--031778a4-057f-48e6-9db9-c8d72b81ccd5"),
        ("domain www.hugesoft.org", "domain hugesoft.org", "indicator--3f3ff9f1-bb4e-4392-89e5-1991179042ba"),
        (
            "md5 001dd76872d80801692ff942308c64e6",
            "md5 001dd76872d80801692ff942308c64e6",
            "indicator--8d12f44f-8ac0-4b12-8b4a-3699ca8c9691",
        ),
    ] {
        assert!(hits.contains(indicator) && hits.contains(entry), "{indicator} / {entry}: {hits}");
        assert!(hits.contains(source), "{source}: {hits}");
    }
    assert!(!get(&app, &analyst, &format!("/reports/{clean}")).await.contains("id=\"watch-hits\""));

    // The queue: marked, and the filter keeps only it.
    let queue = get(&app, &analyst, "/queue").await;
    assert!(common::row(&queue, &hit).contains("badge flag watch"));
    assert!(!common::row(&queue, &clean).contains("badge flag watch"));
    let filtered = get(&app, &analyst, "/queue?watch=1").await;
    assert!(filtered.contains(&format!(">{hit}</a>")) && !filtered.contains(&format!(">{clean}</a>")));
    assert!(filtered.contains("name=\"watch\" value=\"1\" checked"));

    // The indicator search names the list the value falls under (also with no report).
    let search = get(&app, &analyst, "/search?q=223.167.99.1").await;
    assert!(search.contains("id=\"list-matches\"") && search.contains("cidr 223.166.0.0/15"), "{search}");
    let search = get(&app, &analyst, "/search?q=www.hugesoft.org").await;
    assert!(search.contains("domain hugesoft.org") && search.contains("badge flag watch"), "the row is marked too");

    // A static MISP feed (the project's own `feed misp`) into a second list; a report filed
    // afterwards is matched when it is analysed.
    let feed = repo("fixtures/watchlists/misp-feed");
    let out = ok(todokede(&db.url, &["watchlist", "import", "--name", "共有フィード", "--kind", "watch", &feed]));
    assert!(out.contains("misp-feed\t4 entries\t0 unusable"), "{out}");
    let (later, later_id) =
        analysed(&app, "http://dl.badsite-example.top/invoice.exe からダウンロードしたファイルを実行した。").await;
    let later_hits = app.store.watch_hits(later_id).await.unwrap();
    assert!(
        later_hits.iter().any(|h| h.list == "共有フィード" && h.indicator_value == "dl.badsite-example.top"),
        "{later_hits:?}"
    );
    assert!(later_hits.iter().all(|h| !h.entry.source_id.is_empty()), "MISP attribute uuids: {later_hits:?}");
    let page = get(&app, &analyst, &format!("/reports/{later}")).await;
    assert!(page.contains("id=\"watch-hits\"") && page.contains("共有フィード"));

    // Re-importing the same file changes nothing: the same entries, none twice.
    let again = ok(todokede(&db.url, &["watchlist", "import", "--name", "APT1", "--kind", "watch", &apt1]));
    assert!(again.contains("APT1\twatch\t10 entries\t10 imported, 10 replaced\t1 reports hit"), "{again}");
    assert_eq!(app.store.watch_hits(hit_id).await.unwrap().len(), 3);

    // A file that is no list (report JSON) is refused, with the reason in both languages, and
    // nothing of the import is stored — not even the good file before it.
    let bad = repo("fixtures/seeds/2019H1.json");
    let out = todokede(&db.url, &["watchlist", "import", "--name", "Broken", "--kind", "watch", &apt1, &bad]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("2019H1.json") && err.contains("MISP のイベント") && err.contains("not a MISP event"),
        "{err}"
    );
    assert!(err.contains("何も取り込んでいません") && err.contains("nothing was imported"), "{err}");
    let out = todokede(
        &db.url,
        &["watchlist", "import", "--name", "Broken", "--kind", "watch", "--format", "stix", &repo("README.md")],
    );
    assert!(!out.status.success() && stderr(&out).contains("JSON として読めません"), "{}", stderr(&out));
    let listed = ok(todokede(&db.url, &["watchlist", "list"]));
    assert!(!listed.contains("Broken"), "{listed}");
    assert!(listed.contains("APT1") && listed.contains("共有フィード"), "{listed}");
    let shown = ok(todokede(&db.url, &["watchlist", "show", "APT1"]));
    assert!(shown.contains("kind\twatch") && shown.contains("tlp\tclear"), "{shown}");
    assert!(
        shown.contains("cidr\t223.166.0.0/15\tapt1.json\tindicator--031778a4-057f-48e6-9db9-c8d72b81ccd5"),
        "{shown}"
    );

    // The lists page for analysts (no import form), and the audit log.
    let lists = get(&app, &analyst, "/watchlists").await;
    assert!(
        lists.contains("APT1") && lists.contains("共有フィード") && !lists.contains("enctype=\"multipart/form-data\"")
    );
    let detail = get(&app, &analyst, "/watchlists/APT1").await;
    assert!(detail.contains("hugesoft.org") && detail.contains("id=\"entry-count\">10<"), "{detail}");
    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let imports = store.audit_log(100).await.unwrap().into_iter().filter(|a| a.action == "watchlist.import").count();
    assert_eq!(imports, 3, "every import, none of the refused ones");

    let removed = ok(todokede(&db.url, &["watchlist", "remove", "APT1"]));
    assert_eq!(removed.trim(), "removed\tAPT1");
    assert!(app.store.watch_hits(hit_id).await.unwrap().is_empty());
    assert!(!todokede(&db.url, &["watchlist", "remove", "APT1"]).status.success());
    app.stop().await;
}

async fn a_warning_list_uploaded_by_an_admin_stops_a_shared_value_linking_two_reports(db: &TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.logged_in(Role::Admin, "chief@ipa.example").await;
    let analyst = app.logged_in(Role::Analyst, "desk@ipa.example").await;
    // Two reports sharing only the scanner address the MISP event lists.
    let (a, a_id) = analysed(&app, "185.220.101.47 から管理画面へのログイン試行が続いている。").await;
    let (b, _) = analysed(&app, "WordPress に 185.220.101.47 から大量のアクセスがあった。").await;
    let linked = |id| {
        let store = app.store.clone();
        async move { store.correlations(id, 50).await.unwrap().into_iter().map(|c| c.value).collect::<Vec<_>>() }
    };
    assert_eq!(linked(a_id).await, ["185.220.101.47"]);
    let page = get(&app, &analyst, &format!("/reports/{a}")).await;
    assert!(page.contains(&format!("/reports/{b}\">{b}</a>")), "suggested before the list");

    let event = std::fs::read(repo("fixtures/watchlists/misp-event.json")).unwrap();
    let upload = |who: &todokede_testkit::app::Session, csrf: &str, bytes: Vec<u8>, file: &str| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.to_owned())
            .text("name", "既知のスキャナー")
            .text("kind", "warning")
            .text("format", "auto")
            .text("description", "共有された MISP イベントから")
            .part("file", reqwest::multipart::Part::bytes(bytes).file_name(file.to_owned()));
        who.client.post(app.url("/watchlists")).header("origin", app.base.clone()).multipart(form).send()
    };
    // Analysts read the lists; admins import (as for the other shared desk data).
    let res = upload(&analyst, &analyst.csrf, event.clone(), "misp-event.json").await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = upload(&admin, "stale", event.clone(), "misp-event.json").await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a stale CSRF token");
    // A broken file: refused on the page, nothing stored.
    let res = upload(&admin, &admin.csrf, b"{\"Event\": ".to_vec(), "broken.json").await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("JSON として読めません"));
    assert!(app.store.watchlists().await.unwrap().is_empty());

    let res = upload(&admin, &admin.csrf, event.clone(), "misp-event.json").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let done = res.text().await.unwrap();
    assert!(done.contains("id=\"done\"") && done.contains("既知のスキャナー"), "{done}");
    assert!(done.contains("<td>misp-event.json</td><td>4</td><td>0</td>"), "{done}");
    assert!(linked(a_id).await.is_empty(), "a warning-listed value links nothing");
    let page = get(&app, &analyst, &format!("/reports/{a}")).await;
    assert!(!page.contains(&format!("/reports/{b}\">{b}</a>")), "no longer suggested");
    assert!(page.contains("id=\"warning-hits\"") && !page.contains("id=\"watch-hits\""));
    assert!(get(&app, &analyst, "/queue?watch=1").await.contains("<td colspan"), "no watch hits");
    // Again: the same entries, nothing twice.
    let res = upload(&admin, &admin.csrf, event, "misp-event.json").await.unwrap();
    assert!(res.text().await.unwrap().contains("4 件（うち今回 4 件、置き換え 4 件）"));
    let list = app.store.watchlist("既知のスキャナー").await.unwrap().unwrap();
    assert_eq!((list.entries, list.updated_by.as_deref()), (4, Some("chief@ipa.example")));

    // Removal (admins, with the form's token) brings the link back.
    let res = common::post(
        &app,
        &analyst,
        &format!("/watchlists/{}/delete", "%E6%97%A2%E7%9F%A5%E3%81%AE%E3%82%B9%E3%82%AD%E3%83%A3%E3%83%8A%E3%83%BC"),
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = common::post(
        &app,
        &admin,
        &format!("/watchlists/{}/delete", "%E6%97%A2%E7%9F%A5%E3%81%AE%E3%82%B9%E3%82%AD%E3%83%A3%E3%83%8A%E3%83%BC"),
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(linked(a_id).await, ["185.220.101.47"]);
    let audit = get(&app, &admin, "/admin/audit").await;
    assert!(audit.contains("watchlist.import") && audit.contains("watchlist.remove"));
    app.stop().await;
}

/// A user walk: a refused upload on the lists page (a file that is no list, a file over the
/// limit) threw away the name, kind, description and TLP the admin had filled in (or, for a
/// large file, ended on a dead-end page). The form comes back filled in, with the reason in the
/// admin's language, and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_watch_list_upload_brings_the_form_back_with_what_was_typed() {
    let db = TestDb::sqlite().await;
    let app = TestApp::start_with(&db, |c| c.limits.max_attachment_bytes = 1 << 20).await;
    let admin = app.logged_in(Role::Admin, "lists@ipa.example").await;
    // The upload's page speaks the language the admin chose (the `lang` cookie).
    let upload = async |lang: &str, bytes: Vec<u8>, file: &str| {
        admin.client.get(app.url(&format!("/watchlists?lang={lang}"))).send().await.unwrap();
        let form = reqwest::multipart::Form::new()
            .text("csrf", admin.csrf.clone())
            .text("name", "APT <対策> 2026")
            .text("kind", "watch")
            .text("format", "misp")
            .text("description", "共有された指標 \"第2報\"")
            .text("tlp", "amber+strict")
            .part("file", reqwest::multipart::Part::bytes(bytes).file_name(file.to_owned()));
        admin.client.post(app.url("/watchlists")).header("origin", app.base.clone()).multipart(form).send().await
    };
    let kept = |html: &str, lang: &str| {
        assert!(html.contains("value=\"APT &lt;対策&gt; 2026\""), "{lang}: name kept, escaped");
        assert!(html.contains("value=\"共有された指標 &quot;第2報&quot;\""), "{lang}: description kept");
        assert!(html.contains("<option value=\"watch\" selected>"), "{lang}: kind kept");
        assert!(html.contains("<option value=\"misp\" selected>"), "{lang}: format kept");
        assert!(html.contains("<option value=\"amber+strict\" selected>"), "{lang}: TLP kept");
        assert!(html.contains("id=\"choose-again\""), "{lang}: the files to choose again");
    };
    for (lang, broken, large) in
        [("ja", "broken.json: ", "1 ファイル 1 MiB を超える"), ("en", "broken.json: ", "larger than 1 MiB per file")]
    {
        let res = upload(lang, b"{\"Event\": ".to_vec(), "broken.json").await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{lang}");
        let html = res.text().await.unwrap();
        assert!(between(&html, "id=\"errors\"", "</div>").contains(broken), "{lang}");
        kept(&html, lang);
        let res = upload(lang, vec![b' '; (1 << 20) + 1], "huge.json").await.unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "{lang}");
        let html = res.text().await.unwrap();
        let errors = between(&html, "id=\"errors\"", "</div>");
        assert!(errors.contains("huge.json") && errors.contains(large), "{lang}: {errors}");
        kept(&html, lang);
    }
    assert!(app.store.watchlists().await.unwrap().is_empty(), "nothing stored");
    app.stop().await;
}

fn between<'a>(html: &'a str, a: &str, b: &str) -> &'a str {
    let s = html.find(a).unwrap_or_else(|| panic!("{a} not in page")) + a.len();
    &html[s..s + html[s..].find(b).unwrap()]
}
