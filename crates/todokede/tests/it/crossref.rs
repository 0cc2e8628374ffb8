//! Across reports, on both backends: the seed cases loaded and analysed show the DB-wipe
//! reports correlated (two ransom notes pay to the same Bitcoin address) and clustered (the
//! notes are near-duplicates), a surge alert for that technique, and any report found by a
//! Japanese phrase (short terms too), an IP, a CIDR range or a domain with its subdomains.
//! Known-benign values are searchable but never correlate.

use crate::common;

use common::{ok, repo, todokede};
use todokede_domain::TrackingNumber;
use todokede_testkit::TestDb;

todokede_testkit::on_both_backends!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)] todokede_testkit::run_on =>
    seed_reports_are_correlated_clustered_searchable_and_raise_a_surge,
);

async fn seed_reports_are_correlated_clustered_searchable_and_raise_a_surge(db: &TestDb) {
    let files = [repo("fixtures/seeds/2019H1.json"), repo("fixtures/seeds/2019H2.json")];
    let imported = ok(todokede(&db.url, &["import", &files[0], &files[1]]));
    let numbers: Vec<&str> = imported.lines().map(|l| l.split('\t').next().unwrap()).collect();
    // 2019H1 has 12 cases, so 2019H2-NN is numbers[11 + NN].
    let h2 = |n: usize| numbers[11 + n].to_owned();
    // Two more reports of one attacker, and one that mentions only a public resolver.
    let extra = std::env::temp_dir().join(format!("crossref-{}-{}.json", std::process::id(), db.backend));
    std::fs::write(&extra, r#"[
      {"form": "unauthorized_access", "received_on": "2019-12-20", "description": "SSH への総当たり攻撃の後、45.33.32.156 からログインされた。フィッシングサイト login.evil-example.com への誘導も確認。DNS は 8.8.8.8 を使用。"},
      {"form": "unauthorized_access", "received_on": "2019-12-21", "description": "当社の VPN に 45.33.32.156 から不正ログインの試行があった。"},
      {"form": "unauthorized_access", "received_on": "2019-12-22", "description": "社内の DNS 設定を 8.8.8.8 に変えたところ名前解決ができなくなった。攻撃かどうか不明。"}
    ]"#).unwrap();
    let more = ok(todokede(&db.url, &["import", extra.to_str().unwrap()]));
    let extra_numbers: Vec<&str> = more.lines().map(|l| l.split('\t').next().unwrap()).collect();
    ok(todokede(&db.url, &["reanalyse"]));

    let store = todokede_store::Store::open(&db.url).await.unwrap();
    let id = |n: &str| {
        let store = store.clone();
        let n = TrackingNumber::parse(n).unwrap();
        async move { store.report_id_by_tracking(&n).await.unwrap().unwrap() }
    };

    // Correlation: #1 and #8 share the ransom address; the attacker IP links the two extras;
    // 8.8.8.8 links nothing.
    let c1 = store.correlations(id(&h2(1)).await, 50).await.unwrap();
    assert!(
        c1.iter().any(|c| c.tracking_number.to_string() == h2(8) && c.value == "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
        "{} {c1:?}",
        db.backend
    );
    let ce = store.correlations(id(extra_numbers[0]).await, 50).await.unwrap();
    assert_eq!(
        ce.iter().map(|c| (c.tracking_number.to_string(), c.value.as_str())).collect::<Vec<_>>(),
        [(extra_numbers[1].to_owned(), "45.33.32.156")]
    );
    assert!(
        store.correlations(id(extra_numbers[2]).await, 50).await.unwrap().is_empty(),
        "a public resolver correlates nothing"
    );

    // Clustering: the four DB-wipe reports (different texts, near-duplicate notes) are one cluster.
    let cluster = store.cluster_of(id(&h2(1)).await).await.unwrap().unwrap().0;
    let members: std::collections::BTreeSet<String> =
        store.cluster_members(cluster).await.unwrap().iter().map(|r| r.tracking_number.to_string()).collect();
    assert_eq!(members, [h2(1), h2(2), h2(5), h2(8)].into(), "{}", db.backend);
    assert!(store.clusters(10).await.unwrap().iter().any(|c| c.cluster == cluster && c.members == 4));

    // Surge: data destruction and extortion this half, none in the two before.
    let alerts =
        todokede_app::crossref::trend_alerts(&store, todokede_domain::Period::parse("2019H2").unwrap()).await.unwrap();
    let wipe =
        alerts.iter().find(|a| a.key == "damage.data_destruction_extortion").unwrap_or_else(|| panic!("{alerts:?}"));
    assert!(wipe.current >= 4 && wipe.previous == [0, 0], "{wipe:?}");

    // Search: Japanese phrase, a 2-character term (LIKE fallback), filters, indicators.
    let found = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["search"];
        a.extend_from_slice(args);
        ok(todokede(&db.url, &a)).lines().map(|l| l.split('\t').next().unwrap().to_owned()).collect()
    };
    let f = found(&["身代金を要求"]);
    assert_eq!(f, [h2(2)], "{}", db.backend);
    let f = found(&["削除"]);
    assert!(f.contains(&h2(1)) && !f.contains(&h2(3)), "{f:?}");
    assert!(found(&["phpmyadmin", "root"]).contains(&h2(1)), "case-insensitive, all terms");
    assert!(found(&["phpMyAdmin", "--period", "2019H1"]).iter().all(|n| !n.starts_with(&h2(1))));
    assert_eq!(found(&["45.33.32.156"]).len(), 2);
    assert_eq!(found(&["45.33.32.0/24"]).len(), 2);
    assert_eq!(found(&["evil-example.com"]), [extra_numbers[0]]);
    let mut f = found(&["1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"]);
    f.sort();
    let mut expected = [h2(1), h2(8)];
    expected.sort();
    assert_eq!(f, expected);
    assert_eq!(found(&["8.8.8.8"]).len(), 2, "benign values are still searchable");
    assert!(found(&["存在しない語句"]).is_empty());
}
