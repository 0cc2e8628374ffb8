//! One behaviour suite, run against every backend: SQLite always, PostgreSQL when
//! `TODOKEDE_TEST_POSTGRES_URL` is set.

use todokede_domain::*;
use todokede_store::*;
use todokede_testkit::{TestDb, submission};

async fn each_backend<F, Fut>(test: F)
where
    F: Fn(Store, &'static str) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in TestDb::all().await {
        let store = Store::open(&db.url).await.unwrap_or_else(|e| panic!("{}: {e}", db.backend));
        test(store, db.backend).await;
        db.cleanup().await;
    }
}

async fn ingest_one(store: &Store, sub: Submission) -> Receipt {
    store.ingest_batch(&[sub]).await.unwrap().pop().unwrap().unwrap()
}

#[tokio::test]
async fn a_stored_report_reads_back_whole_and_only_with_its_secret() {
    each_backend(|store, backend| async move {
        let mut sub = submission("phpMyAdmin 経由で DB が消去され、0.03 BTC を要求された", None);
        sub.content.reporter.kind = Some(ReporterKind::NonProfit);
        sub.content.reporter.email = Some(EmailAddress::parse("taro@example.jp").unwrap());
        sub.content.causes = vec![CauseCategory::MissingAccessControl, CauseCategory::WeakCredentials];
        sub.content.affected.exposed_ports = vec![3306];
        sub.attachments = vec![Attachment::new("../../etc/passwd", "text/plain", b"root:x:0:0".to_vec())];
        let other = ingest_one(&store, submission("別の届出", None)).await;
        let r = ingest_one(&store, sub.clone()).await;
        assert!(!r.duplicate);
        let secret = r.secret.clone().unwrap();

        let got = store.report_for_reporter(&r.tracking_number, &secret).await.unwrap().expect(backend);
        assert_eq!(got.content, sub.content, "{backend}");
        assert_eq!(got.state, ReportState::Received);
        assert_eq!(got.attachments.len(), 1);
        assert_eq!(got.attachments[0].filename, "passwd");
        assert_eq!(got.attachments[0].sha256, sub.attachments[0].sha256_hex());
        assert_eq!(store.blob(&got.attachments[0].sha256).await.unwrap().unwrap(), b"root:x:0:0");
        assert_eq!(store.raw_input(r.report_id).await.unwrap().unwrap().bytes, sub.raw.bytes);

        // Wrong secret, another report's secret, unknown number: all the same "nothing".
        assert!(store.report_for_reporter(&r.tracking_number, &ReporterSecret::generate()).await.unwrap().is_none());
        assert!(store.report_for_reporter(&r.tracking_number, other.secret.as_ref().unwrap()).await.unwrap().is_none());
        assert!(store.report_for_reporter(&TrackingNumber::generate(), &secret).await.unwrap().is_none());

        // Every new report has an analysis job waiting.
        let jobs = store.pending_jobs(10).await.unwrap();
        assert!(jobs.iter().any(|j| j.report_id == r.report_id && j.kind == todokede_store::JobKind::Analyse));
    })
    .await;
}

#[tokio::test]
async fn the_same_delivery_twice_is_one_report() {
    each_backend(|store, backend| async move {
        let key = Some(DedupKey::IdempotencyKey("k-1".into()));
        // Twice in one batch and once more in a later batch.
        let batch = vec![submission("同じ届出", key.clone()), submission("同じ届出", key.clone())];
        let res: Vec<_> = store.ingest_batch(&batch).await.unwrap().into_iter().map(Result::unwrap).collect();
        let again = ingest_one(&store, submission("同じ届出", key.clone())).await;
        assert_eq!(res[0].tracking_number, res[1].tracking_number, "{backend}");
        assert_eq!(res[0].tracking_number, again.tracking_number);
        assert_eq!([res[0].duplicate, res[1].duplicate, again.duplicate], [false, true, true]);
        // The retry gets the secret back, so a client that lost the first answer is not locked out.
        assert_eq!(again.secret, res[0].secret);

        // The same key with another body is refused, not silently merged.
        let conflict = store.ingest_batch(&[submission("違う内容", key)]).await.unwrap().pop().unwrap();
        assert_eq!(conflict, Err(IngestRejection::KeyReusedWithDifferentContent));

        // Message-ID: the same mail redelivered is the same report.
        let m = Some(DedupKey::MessageId("<abc@example.jp>".into()));
        let a = ingest_one(&store, submission("メール", m.clone())).await;
        let b = ingest_one(&store, submission("メール", m)).await;
        assert_eq!(a.tracking_number, b.tracking_number);
        assert_eq!(store.check_integrity().await.unwrap().reports, 2);
    })
    .await;
}

#[tokio::test]
async fn racing_duplicates_through_separate_writers_store_once() {
    // Two intake queues on two store handles: what two server processes do.
    each_backend(|store, backend| async move {
        let url_store = store.clone();
        let q1 = IntakeQueue::start(store.clone());
        let q2 = IntakeQueue::start(url_store);
        let mut tasks = Vec::new();
        for i in 0..40 {
            let q = if i % 2 == 0 { q1.clone() } else { q2.clone() };
            let key = Some(DedupKey::IdempotencyKey(format!("race-{}", i % 10)));
            tasks.push(tokio::spawn(async move { q.submit(submission(&format!("race {}", i % 10), key)).await }));
        }
        let mut numbers = std::collections::BTreeMap::new();
        for (i, t) in tasks.into_iter().enumerate() {
            let r = t.await.unwrap().unwrap().unwrap();
            let prev = numbers.insert(i % 10, r.tracking_number.clone());
            if let Some(p) = prev {
                assert_eq!(p, r.tracking_number, "{backend}: key {} got two numbers", i % 10);
            }
        }
        let integrity = store.check_integrity().await.unwrap();
        assert_eq!(integrity.reports, 10, "{backend}");
        assert!(integrity.problems.is_empty(), "{backend}: {:?}", integrity.problems);
    })
    .await;
}

#[tokio::test]
async fn the_lifecycle_is_recorded_with_who_and_when() {
    each_backend(|store, backend| async move {
        let analyst = store.create_user("analyst@ipa.example", Role::Analyst, "hash").await.unwrap();
        let r = ingest_one(&store, submission("SSH ブルートフォース", None)).await;
        store.transition(r.report_id, ReportState::Triage, analyst).await.unwrap();
        store.add_reply(r.report_id, analyst, "ログをお送りください").await.unwrap();
        store.transition(r.report_id, ReportState::WaitingOnReporter, analyst).await.unwrap();
        store
            .add_follow_up(r.report_id, "auth.log を添付します", &[Attachment::new("auth.log", "text/plain", b"sshd[1]: Failed password".to_vec())])
            .await
            .unwrap();
        store.add_note(r.report_id, analyst, "踏み台の可能性").await.unwrap();
        store.transition(r.report_id, ReportState::InProgress, analyst).await.unwrap();
        store.transition(r.report_id, ReportState::Closed, analyst).await.unwrap();
        let err = store.transition(r.report_id, ReportState::Triage, analyst).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidTransition(_)), "{backend}: {err}");

        let report = store.report(r.report_id).await.unwrap().unwrap();
        assert_eq!(report.state, ReportState::Closed);
        let kinds: Vec<&str> = report.timeline.iter().map(|e| match e {
            TimelineEntry::StateChanged { .. } => "state",
            TimelineEntry::FollowUp { .. } => "follow_up",
            TimelineEntry::Note { .. } => "note",
            TimelineEntry::Reply { .. } => "reply",
        }).collect();
        assert_eq!(kinds, ["state", "reply", "state", "follow_up", "note", "state", "state"], "{backend}");
        let TimelineEntry::FollowUp { attachments, .. } = &report.timeline[3] else { panic!() };
        assert_eq!(attachments[0].filename, "auth.log");
        assert!(report.attachments.is_empty(), "follow-up attachments stay with the follow-up");
        assert!(matches!(report.timeline[0], TimelineEntry::StateChanged { from: ReportState::Received, to: ReportState::Triage, by, .. } if by == analyst));
        assert_eq!(report.timeline.iter().filter(|e| e.visible_to_reporter()).count(), 6);

        let audit = store.audit_log(100).await.unwrap();
        assert!(audit.iter().filter(|a| a.action == "report.transition").count() == 4, "{backend}");
        // The follow-up queued a re-analysis.
        assert_eq!(store.pending_jobs(10).await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn the_queue_filters_pages_and_counts() {
    each_backend(|store, backend| async move {
        let analyst = store.create_user("a@ipa.example", Role::Admin, "h").await.unwrap();
        let mut ids = Vec::new();
        for i in 0..7 {
            let mut s = submission(&format!("届出 {i}\n二行目"), None);
            if i % 2 == 0 {
                s.content.form = ReportForm::Virus;
                s.content.reporter.kind = Some(ReporterKind::Individual);
            }
            ids.push(ingest_one(&store, s).await.report_id);
        }
        store.transition(ids[0], ReportState::Triage, analyst).await.unwrap();
        let all = store.list_reports(&ReportFilter { limit: 100, ..Default::default() }).await.unwrap();
        assert_eq!(all.len(), 7, "{backend}");
        assert_eq!(all[0].headline, "届出 0");
        let virus = store
            .list_reports(&ReportFilter { form: Some(ReportForm::Virus), limit: 100, ..Default::default() })
            .await
            .unwrap();
        assert_eq!(virus.len(), 4);
        let indiv = store
            .list_reports(&ReportFilter {
                reporter_kind: Some(ReporterKind::Individual),
                state: Some(ReportState::Received),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(indiv.len(), 3);
        let page = store
            .list_reports(&ReportFilter { limit: 3, offset: 3, newest_first: true, ..Default::default() })
            .await
            .unwrap();
        assert_eq!(page.iter().map(|r| r.id).collect::<Vec<_>>(), vec![ids[3], ids[2], ids[1]]);
        let counts = store.count_by_state().await.unwrap();
        assert!(
            counts.contains(&(ReportState::Received, 6)) && counts.contains(&(ReportState::Triage, 1)),
            "{counts:?}"
        );
        let integrity = store.check_integrity().await.unwrap();
        assert!(integrity.problems.is_empty());
    })
    .await;
}

#[tokio::test]
async fn users_are_unique_by_email() {
    each_backend(|store, backend| async move {
        store.create_user("x@ipa.example", Role::Analyst, "h1").await.unwrap();
        let dup = store.create_user("x@ipa.example", Role::Admin, "h2").await.unwrap_err();
        assert!(matches!(dup, StoreError::Duplicate(_)), "{backend}: {dup}");
        let u = store.user_by_email("x@ipa.example").await.unwrap().unwrap();
        assert_eq!((u.role, u.password_hash.as_str(), u.disabled), (Role::Analyst, "h1", false));
    })
    .await;
}

#[tokio::test]
async fn a_bad_url_is_a_clear_error() {
    assert!(matches!(Store::open("mysql://x").await, Err(StoreError::BadUrl(_))));
    let e = Store::open("postgres://nobody@127.0.0.1:1/none").await.err().expect("refused");
    assert!(matches!(e, StoreError::Unavailable(_)), "{e}");
}

#[tokio::test]
async fn concurrent_limit_hits_are_each_counted_and_ended_windows_evicted() {
    each_backend(|store, backend| async move {
        let tasks: Vec<_> = (0..24)
            .map(|_| {
                let s = store.clone();
                tokio::spawn(
                    async move { s.limit_hit("login:a@x|10.0.0.1", time::Duration::minutes(15)).await.unwrap() },
                )
            })
            .collect();
        let mut counts = Vec::new();
        for t in tasks {
            counts.push(t.await.unwrap());
        }
        counts.sort();
        assert_eq!(counts, (1..=24).collect::<Vec<i64>>(), "{backend}: every hit its own count");
        assert_eq!(store.limit_count("login:a@x|10.0.0.1").await.unwrap(), 24);
        store.limit_undo("login:a@x|10.0.0.1", false).await.unwrap();
        assert_eq!(store.limit_count("login:a@x|10.0.0.1").await.unwrap(), 23);

        // A window that ended starts again at 1, and the sweep deletes it.
        assert_eq!(store.limit_hit("short", time::Duration::milliseconds(50)).await.unwrap(), 1);
        assert_eq!(store.limit_hit("short", time::Duration::milliseconds(50)).await.unwrap(), 2);
        tokio::time::sleep(std::time::Duration::from_millis(120)).await;
        assert_eq!(store.limit_count("short").await.unwrap(), 0, "{backend}");
        assert_eq!(store.evict_limits().await.unwrap(), 1, "{backend}: only the ended window");
        assert_eq!(store.limit_hit("short", time::Duration::milliseconds(50)).await.unwrap(), 1);
        store.limit_undo("login:a@x|10.0.0.1", true).await.unwrap();
        assert_eq!(store.limit_count("login:a@x|10.0.0.1").await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_retry_after_the_secret_was_pruned_gets_the_same_report_without_secret() {
    each_backend(|store, backend| async move {
        let key = DedupKey::IdempotencyKey("api:retry-late".into());
        let first = ingest_one(&store, submission("遅い再送", Some(key.clone()))).await;
        let again = ingest_one(&store, submission("遅い再送", Some(key.clone()))).await;
        assert_eq!(
            again.secret.as_ref().map(|s| s.expose().to_owned()),
            first.secret.as_ref().map(|s| s.expose().to_owned())
        );
        // Nothing younger than the cut-off is pruned.
        assert_eq!(store.prune_secrets(time::OffsetDateTime::now_utc() - time::Duration::hours(24)).await.unwrap(), 0);
        assert_eq!(store.prune_secrets(time::OffsetDateTime::now_utc() + time::Duration::seconds(1)).await.unwrap(), 1);
        let late = ingest_one(&store, submission("遅い再送", Some(key))).await;
        assert!(late.duplicate && late.secret.is_none(), "{backend}");
        assert_eq!(late.tracking_number, first.tracking_number, "{backend}: never a new report");
        assert_eq!(store.check_integrity().await.unwrap().reports, 1);
    })
    .await;
}
