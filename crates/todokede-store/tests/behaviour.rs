//! One behaviour suite, run against both backends: every behaviour is written once, as
//! `async fn name(store: &Store)`, and `on_both_backends!` makes `sqlite::name` and
//! `postgres::name` of it — a PostgreSQL failure is its own red line. Each test gets its own
//! database (`TestDb`). PostgreSQL needs `TODOKEDE_TEST_POSTGRES_URL`: without it the postgres
//! tests skip with the reason locally and fail when `CI` is set (`todokede_testkit::requires`).
//!
//! Every public method of [`Store`] is exercised here; `every_public_method_of_store_is_exercised`
//! fails when one is added to `src/lib.rs` without a behaviour that calls it.

use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use todokede_domain::*;
use todokede_store::*;
use todokede_testkit::{TestDb, submission};

// Each behaviour below as a test per backend (`todokede_testkit::on_both_backends!`).
todokede_testkit::on_both_backends!(
    #[tokio::test] super::run =>
    a_stored_report_reads_back_whole_and_only_with_its_secret,
    the_same_delivery_twice_is_one_report,
    racing_duplicates_through_separate_writers_store_once,
    a_retry_after_the_secret_was_pruned_gets_the_same_report_without_secret,
    the_lifecycle_is_recorded_with_who_and_when,
    the_queue_filters_pages_and_counts,
    times_compare_as_instants_whatever_their_offset,
    a_report_is_assigned_to_an_analyst_or_to_nobody,
    links_are_stored_once_and_join_reports_into_incidents,
    accounts_are_keyed_by_their_lower_cased_address_and_can_be_disabled,
    one_time_passwords_resets_recovery_codes_and_settings_are_kept_and_audited,
    sessions_live_until_they_expire_or_are_deleted,
    a_totp_step_is_accepted_once_and_never_an_earlier_one,
    the_audit_log_is_newest_first_with_who_and_what,
    a_claimed_job_is_not_claimed_again_before_its_lease_ends,
    an_analysis_is_saved_replaced_and_its_primary_cause_filters_the_queue,
    the_outbox_hands_each_mail_to_one_worker_and_backs_off_after_a_failure,
    a_mail_thread_finds_its_report_and_a_mailed_follow_up_is_stored_once,
    a_confirmed_classification_keeps_the_overrides_and_moves_the_facets,
    publication_versions_are_never_overwritten_and_approved_once,
    settings_are_set_replaced_removed_and_audited,
    the_sla_clock_runs_from_the_last_state_change_and_overdue_reports_filter_and_sort_first,
    reply_templates_are_created_replaced_deleted_and_audited,
    saved_filters_belong_to_their_analyst,
    search_finds_japanese_substrings_with_every_filter,
    indicators_are_found_by_value_address_range_and_domain_tree,
    reports_sharing_an_uncommon_indicator_correlate_below_the_cap,
    near_duplicates_share_lsh_bands_and_clusters_are_counted,
    facets_are_counted_per_period_and_list_their_reports_newest_first,
    a_bulk_load_stores_reports_with_their_index,
    the_integrity_check_counts_what_is_stored,
    concurrent_limit_hits_are_each_counted_and_ended_windows_evicted,
    claims_given_back_are_taken_at_once_and_the_queues_are_counted,
    the_schema_is_complete_and_an_sqlite_backup_is_a_sound_copy,
    api_tokens_are_found_by_hash_revoked_once_and_every_use_audited,
    a_sharing_approval_is_replaced_withdrawn_and_raises_the_version,
    taxii_objects_keep_date_added_while_unchanged_and_page_by_date_and_id,
    watch_lists_hit_reports_by_value_range_and_domain_and_a_re_import_replaces_its_file,
    a_warning_listed_value_links_no_reports_and_expired_entries_stop_hitting,
);

async fn run(db: TestDb, behaviour: todokede_testkit::Behaviour<Store>) {
    let key = (db.backend == "postgres")
        .then(|| todokede_store::seal::SealKey::from_hex(todokede_testkit::TEST_TOTP_KEY_HEX).unwrap());
    let store = Store::open_with(&db.url, key).await.unwrap_or_else(|e| panic!("{}: {e}", db.backend));
    assert_eq!(store.backend_name(), db.backend, "the test runs on the backend it is named after");
    behaviour(&store).await;
    drop(store);
    db.cleanup().await;
}

// ── helpers ─────────────────────────────────────────────────────────────────────────────

/// A report id that no report has.
const NO_REPORT: ReportId = ReportId(999_999);
const NO_USER: UserId = UserId(999_999);

async fn ingest_one(store: &Store, sub: Submission) -> Receipt {
    store.ingest_batch(&[sub]).await.unwrap().pop().unwrap().unwrap()
}

/// A report received at `at` (as `todokede import` keeps a historical 届出日).
async fn report_at(store: &Store, description: &str, at: OffsetDateTime) -> ReportId {
    let mut sub = submission(description, None);
    sub.received_at = Some(at);
    ingest_one(store, sub).await.report_id
}

async fn new_analyst(store: &Store, email: &str) -> UserId {
    store.create_user(email, Role::Analyst, "argon2-hash").await.unwrap()
}

fn ids(rows: &[ReportSummary]) -> Vec<ReportId> {
    rows.iter().map(|r| r.id).collect()
}

async fn tracking(store: &Store, id: ReportId) -> TrackingNumber {
    store.report(id).await.unwrap().unwrap().tracking_number
}

fn indicator(kind: &str, value: &str, common: bool) -> IndexedIndicator {
    IndexedIndicator { kind: kind.into(), value: value.into(), common }
}

/// The second half of 2019, in JST (how periods are asked for).
const H2_2019: (OffsetDateTime, OffsetDateTime) = (datetime!(2019-07-01 00:00 +9), datetime!(2020-01-01 00:00 +9));

async fn audit_actions(store: &Store, action: &str) -> Vec<AuditEntry> {
    store.audit_log(1000).await.unwrap().into_iter().filter(|a| a.action == action).collect()
}

// ── intake ──────────────────────────────────────────────────────────────────────────────

async fn a_stored_report_reads_back_whole_and_only_with_its_secret(store: &Store) {
    let mut sub = submission("phpMyAdmin 経由で DB が消去され、0.03 BTC を要求された", None);
    sub.content.reporter.kind = Some(ReporterKind::NonProfit);
    sub.content.reporter.email = Some(EmailAddress::parse("taro@example.jp").unwrap());
    sub.content.causes = vec![CauseCategory::MissingAccessControl, CauseCategory::WeakCredentials];
    sub.content.affected.exposed_ports = vec![3306];
    sub.attachments = vec![Attachment::new("../../etc/passwd", "text/plain", b"root:x:0:0".to_vec())];
    sub.intake_notes = vec!["attachment renamed".into()];
    let other = ingest_one(store, submission("別の届出", None)).await;
    let r = ingest_one(store, sub.clone()).await;
    assert!(!r.duplicate);
    let secret = r.secret.clone().unwrap();

    let got = store.report_for_reporter(&r.tracking_number, &secret).await.unwrap().expect("with its secret");
    assert_eq!(got.id, r.report_id);
    assert_eq!(got.content, sub.content);
    assert_eq!((got.state, got.channel), (ReportState::Received, Channel::Api));
    assert_eq!(got.intake_notes, sub.intake_notes);
    assert_eq!(got.attachments.len(), 1);
    assert_eq!(got.attachments[0].filename, "passwd");
    assert_eq!(got.attachments[0].sha256, sub.attachments[0].sha256_hex());
    assert_eq!(got.attachments[0].size, 10);
    assert_eq!(store.blob(&got.attachments[0].sha256).await.unwrap().unwrap(), b"root:x:0:0");
    assert_eq!(store.blob(&"0".repeat(64)).await.unwrap(), None);
    // The head of a blob (the report page's look at a file's content), never more than it has.
    assert_eq!(store.blob_head(&got.attachments[0].sha256, 4).await.unwrap().unwrap(), b"root");
    assert_eq!(store.blob_head(&got.attachments[0].sha256, 4096).await.unwrap().unwrap(), b"root:x:0:0");
    assert_eq!(store.blob_head(&"0".repeat(64), 4).await.unwrap(), None);
    let raw = store.raw_input(r.report_id).await.unwrap().unwrap();
    assert_eq!((raw.content_type.as_str(), raw.bytes.as_slice()), ("application/json", sub.raw.bytes.as_slice()));
    assert!(store.raw_input(NO_REPORT).await.unwrap().is_none());
    assert!(store.report(NO_REPORT).await.unwrap().is_none());
    assert_eq!(store.report_id_by_tracking(&r.tracking_number).await.unwrap(), Some(r.report_id));
    assert_eq!(store.report_id_by_tracking(&TrackingNumber::generate()).await.unwrap(), None);

    // Wrong secret, another report's secret, unknown number: all the same "nothing".
    assert!(store.report_for_reporter(&r.tracking_number, &ReporterSecret::generate()).await.unwrap().is_none());
    assert!(store.report_for_reporter(&r.tracking_number, other.secret.as_ref().unwrap()).await.unwrap().is_none());
    assert!(store.report_for_reporter(&TrackingNumber::generate(), &secret).await.unwrap().is_none());

    // Every new report has an analysis job waiting.
    let jobs = store.pending_jobs(10).await.unwrap();
    assert_eq!(
        jobs.iter().map(|j| (j.report_id, j.kind.key())).collect::<Vec<_>>(),
        [(other.report_id, "analyse"), (r.report_id, "analyse")]
    );
}

async fn the_same_delivery_twice_is_one_report(store: &Store) {
    let key = Some(DedupKey::IdempotencyKey("k-1".into()));
    // Twice in one batch and once more in a later batch.
    let batch = vec![submission("同じ届出", key.clone()), submission("同じ届出", key.clone())];
    let res: Vec<_> = store.ingest_batch(&batch).await.unwrap().into_iter().map(Result::unwrap).collect();
    let again = ingest_one(store, submission("同じ届出", key.clone())).await;
    assert_eq!(res[0].tracking_number, res[1].tracking_number);
    assert_eq!(res[0].tracking_number, again.tracking_number);
    assert_eq!([res[0].duplicate, res[1].duplicate, again.duplicate], [false, true, true]);
    // The retry gets the secret back, so a client that lost the first answer is not locked out.
    assert_eq!(again.secret, res[0].secret);

    // The same key with another body is refused, not silently merged.
    let conflict = store.ingest_batch(&[submission("違う内容", key)]).await.unwrap().pop().unwrap();
    assert_eq!(conflict, Err(IngestRejection::KeyReusedWithDifferentContent));

    // Message-ID: the same mail redelivered is the same report.
    let m = Some(DedupKey::MessageId("<abc@example.jp>".into()));
    let a = ingest_one(store, submission("メール", m.clone())).await;
    let b = ingest_one(store, submission("メール", m)).await;
    assert_eq!(a.tracking_number, b.tracking_number);
    assert_eq!(store.check_integrity().await.unwrap().reports, 2);
    assert_eq!(store.all_report_ids().await.unwrap(), [res[0].report_id, a.report_id]);
}

async fn racing_duplicates_through_separate_writers_store_once(store: &Store) {
    // Two intake queues on two store handles: what two server processes do.
    let q1 = IntakeQueue::start(store.clone());
    let q2 = IntakeQueue::start(store.clone());
    let mut tasks = Vec::new();
    for i in 0..40 {
        let q = if i % 2 == 0 { q1.clone() } else { q2.clone() };
        let key = Some(DedupKey::IdempotencyKey(format!("race-{}", i % 10)));
        tasks.push(tokio::spawn(async move { q.submit(submission(&format!("race {}", i % 10), key)).await }));
    }
    let mut numbers = std::collections::BTreeMap::new();
    for (i, t) in tasks.into_iter().enumerate() {
        let r = t.await.unwrap().unwrap().unwrap();
        if let Some(p) = numbers.insert(i % 10, r.tracking_number.clone()) {
            assert_eq!(p, r.tracking_number, "key {} got two numbers", i % 10);
        }
    }
    let integrity = store.check_integrity().await.unwrap();
    assert_eq!(integrity.reports, 10);
    assert!(integrity.problems.is_empty(), "{:?}", integrity.problems);
}

async fn a_retry_after_the_secret_was_pruned_gets_the_same_report_without_secret(store: &Store) {
    let key = DedupKey::IdempotencyKey("api:retry-late".into());
    let first = ingest_one(store, submission("遅い再送", Some(key.clone()))).await;
    let again = ingest_one(store, submission("遅い再送", Some(key.clone()))).await;
    assert_eq!(
        again.secret.as_ref().map(|s| s.expose().to_owned()),
        first.secret.as_ref().map(|s| s.expose().to_owned())
    );
    // Nothing younger than the cut-off is pruned.
    assert_eq!(store.prune_secrets(OffsetDateTime::now_utc() - Duration::hours(24)).await.unwrap(), 0);
    assert_eq!(store.prune_secrets(OffsetDateTime::now_utc() + Duration::seconds(1)).await.unwrap(), 1);
    let late = ingest_one(store, submission("遅い再送", Some(key))).await;
    assert!(late.duplicate && late.secret.is_none());
    assert_eq!(late.tracking_number, first.tracking_number, "never a new report");
    assert_eq!(store.check_integrity().await.unwrap().reports, 1);
}

// ── reports and the queue ───────────────────────────────────────────────────────────────

async fn the_lifecycle_is_recorded_with_who_and_when(store: &Store) {
    let analyst = new_analyst(store, "analyst@ipa.example").await;
    let r = ingest_one(store, submission("SSH ブルートフォース", None)).await;
    assert_eq!(store.transition(r.report_id, ReportState::Triage, analyst, None).await.unwrap(), ReportState::Triage);
    store.add_reply(r.report_id, analyst, "ログをお送りください", None).await.unwrap();
    store.transition(r.report_id, ReportState::WaitingOnReporter, analyst, None).await.unwrap();
    let log = Attachment::new("auth.log", "text/plain", b"sshd[1]: Failed password".to_vec());
    let answered = ReportFilter { answered: true, limit: 10, ..Default::default() };
    assert!(store.list_reports(&answered).await.unwrap().is_empty());
    store.add_follow_up(r.report_id, "auth.log を添付します", &[log]).await.unwrap();
    // The reporter's answer brings 届出者回答待ち back to 対応中 (the system's doing) and flags
    // the report for an analyst until one acts on it.
    let flagged = store.list_reports(&answered).await.unwrap();
    assert_eq!((flagged.len(), flagged[0].answered, flagged[0].state), (1, true, ReportState::InProgress));
    assert_eq!(store.count_flags().await.unwrap(), (1, 1), "one answered, one unconfirmed");
    store.add_note(r.report_id, analyst, "踏み台の可能性", None).await.unwrap();
    assert!(store.list_reports(&answered).await.unwrap().is_empty(), "an analyst acted");
    assert_eq!(store.count_flags().await.unwrap(), (0, 1));
    store.transition(r.report_id, ReportState::Closed, analyst, None).await.unwrap();
    let err = store.transition(r.report_id, ReportState::Triage, analyst, None).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidTransition(_)), "{err}");
    let err = store.transition(NO_REPORT, ReportState::Triage, analyst, None).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err}");
    for err in [
        store.add_note(NO_REPORT, analyst, "x", None).await.unwrap_err(),
        store.add_reply(NO_REPORT, analyst, "x", None).await.unwrap_err(),
        store.add_follow_up(NO_REPORT, "x", &[]).await.unwrap_err(),
    ] {
        assert!(matches!(err, StoreError::NotFound), "{err}");
    }

    let report = store.report(r.report_id).await.unwrap().unwrap();
    assert_eq!(report.state, ReportState::Closed);
    let kinds: Vec<&str> = report
        .timeline
        .iter()
        .map(|e| match e {
            TimelineEntry::StateChanged { .. } => "state",
            TimelineEntry::FollowUp { .. } => "follow_up",
            TimelineEntry::Note { .. } => "note",
            TimelineEntry::Reply { .. } => "reply",
            TimelineEntry::Assigned { .. } => "assign",
            TimelineEntry::Classified { .. } => "classify",
            TimelineEntry::Linked { .. } => "link",
        })
        .collect();
    assert_eq!(kinds, ["state", "reply", "state", "follow_up", "state", "note", "state"]);
    let TimelineEntry::FollowUp { attachments, body, .. } = &report.timeline[3] else { panic!() };
    assert_eq!((attachments[0].filename.as_str(), body.as_str()), ("auth.log", "auth.log を添付します"));
    assert!(report.attachments.is_empty(), "follow-up attachments stay with the follow-up");
    assert!(matches!(
        report.timeline[0],
        TimelineEntry::StateChanged { from: ReportState::Received, to: ReportState::Triage, by, .. } if by == Actor::Analyst(analyst)
    ));
    assert!(matches!(
        report.timeline[4],
        TimelineEntry::StateChanged {
            from: ReportState::WaitingOnReporter,
            to: ReportState::InProgress,
            by: Actor::System,
            ..
        }
    ));
    assert_eq!(report.timeline[3].actor(), Actor::Reporter);
    assert!(
        matches!(&report.timeline[5], TimelineEntry::Note { body, by, .. } if body == "踏み台の可能性" && *by == analyst)
    );
    let times: Vec<OffsetDateTime> = report.timeline.iter().map(TimelineEntry::at).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in order: {times:?}");
    assert_eq!(report.timeline.iter().filter(|e| e.visible_to_reporter()).count(), 6);

    let transitions = audit_actions(store, "report.transition").await;
    assert_eq!(transitions.len(), 4);
    assert_eq!(transitions.last().unwrap().detail.as_deref(), Some("received -> triage"));
    assert_eq!(audit_actions(store, "report.note").await.len(), 1);
    assert_eq!(audit_actions(store, "report.reply").await.len(), 1);
    // The follow-up queued a re-analysis.
    assert_eq!(store.pending_jobs(10).await.unwrap().len(), 2);
}

async fn the_queue_filters_pages_and_counts(store: &Store) {
    let admin = store.create_user("a@ipa.example", Role::Admin, "h").await.unwrap();
    let mut ids_in_order = Vec::new();
    for i in 0..7 {
        let mut s = submission(&format!("\n届出 {i}\n二行目"), None);
        if i % 2 == 0 {
            s.content.form = ReportForm::Virus;
            s.content.reporter.kind = Some(ReporterKind::Individual);
        }
        ids_in_order.push(ingest_one(store, s).await.report_id);
    }
    let long = "長".repeat(100);
    let long_id = ingest_one(store, submission(&long, None)).await.report_id;
    store.transition(ids_in_order[0], ReportState::Triage, admin, None).await.unwrap();
    let all = store.list_reports(&ReportFilter { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(all.len(), 8);
    assert_eq!(all[0].headline, "届出 0", "the first line that is not empty");
    assert_eq!(all[7].headline, format!("{}…", "長".repeat(80)));
    assert_eq!(store.list_reports(&ReportFilter::default()).await.unwrap().len(), 8, "limit 0 means the default");
    let virus = store
        .list_reports(&ReportFilter { form: Some(ReportForm::Virus), limit: 100, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(ids(&virus), [ids_in_order[0], ids_in_order[2], ids_in_order[4], ids_in_order[6]]);
    let indiv = store
        .list_reports(&ReportFilter {
            reporter_kind: Some(ReporterKind::Individual),
            state: Some(ReportState::Received),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&indiv), [ids_in_order[2], ids_in_order[4], ids_in_order[6]]);
    assert!(indiv.iter().all(|r| r.reporter_kind == Some(ReporterKind::Individual) && r.form == ReportForm::Virus));
    let page = store
        .list_reports(&ReportFilter { limit: 3, offset: 4, newest_first: true, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(ids(&page), [ids_in_order[3], ids_in_order[2], ids_in_order[1]]);
    let counts = store.count_by_state().await.unwrap();
    assert_eq!(counts.len(), ReportState::ALL.len(), "every state, zeros too");
    assert!(counts.contains(&(ReportState::Received, 7)) && counts.contains(&(ReportState::Triage, 1)), "{counts:?}");
    assert!(counts.contains(&(ReportState::Closed, 0)));
    let mut every = ids_in_order.clone();
    every.push(long_id);
    assert_eq!(store.all_report_ids().await.unwrap(), every);
    assert!(store.check_integrity().await.unwrap().problems.is_empty());
}

/// SQLite keeps times as text: they must compare as instants whatever offset and fraction of
/// a second they were given with, and read back as PostgreSQL reads them (microseconds).
async fn times_compare_as_instants_whatever_their_offset(store: &Store) {
    let midnight_utc = datetime!(2019-07-01 00:00 UTC);
    // 08:00 JST on 1 July is 23:00 UTC on 30 June: before UTC midnight although its date is later.
    let a = report_at(store, "JST の朝", datetime!(2019-07-01 08:00 +9)).await;
    let b = report_at(store, "UTC 真夜中の半秒後", datetime!(2019-07-01 00:00:00.5 UTC)).await;
    let c = report_at(store, "UTC 真夜中", midnight_utc).await;
    let d = report_at(store, "ナノ秒まで", datetime!(2019-07-01 00:00:00.123456789 UTC)).await;
    let list =
        |f: ReportFilter| async move { ids(&store.list_reports(&ReportFilter { limit: 10, ..f }).await.unwrap()) };
    assert_eq!(list(ReportFilter::default()).await, [a, c, d, b], "oldest first");
    assert_eq!(list(ReportFilter { newest_first: true, ..Default::default() }).await, [b, d, c, a]);
    assert_eq!(list(ReportFilter { received_from: Some(midnight_utc), ..Default::default() }).await, [c, d, b]);
    // The same instant written in JST.
    let nine_jst = datetime!(2019-07-01 09:00 +9);
    assert_eq!(list(ReportFilter { received_from: Some(nine_jst), ..Default::default() }).await, [c, d, b]);
    let quarter_past = midnight_utc + Duration::milliseconds(250);
    assert_eq!(list(ReportFilter { received_before: Some(quarter_past), ..Default::default() }).await, [a, c, d]);
    assert_eq!(store.count_received(nine_jst, nine_jst + Duration::days(1)).await.unwrap(), 3);
    let search = SearchQuery {
        filter: ReportFilter { received_from: Some(nine_jst), ..Default::default() },
        ..Default::default()
    };
    assert_eq!(ids(&store.search(&search).await.unwrap()), [d, c, b], "search's filters too (newest id first)");

    // Read back as the same instants, to the microsecond on both backends.
    let received = |id| async move { store.report(id).await.unwrap().unwrap().received_at };
    assert_eq!(received(a).await, datetime!(2019-06-30 23:00 UTC));
    assert_eq!(received(b).await, datetime!(2019-07-01 00:00:00.5 UTC));
    assert_eq!(received(d).await, datetime!(2019-07-01 00:00:00.123456 UTC));
}

async fn a_report_is_assigned_to_an_analyst_or_to_nobody(store: &Store) {
    let admin = store.create_user("admin@ipa.example", Role::Admin, "h").await.unwrap();
    let analyst = new_analyst(store, "analyst@ipa.example").await;
    let r1 = ingest_one(store, submission("担当を決める", None)).await.report_id;
    let r2 = ingest_one(store, submission("担当なし", None)).await.report_id;
    let assigned_to = |u: UserId| ReportFilter { assignee: Some(u), limit: 10, ..Default::default() };

    store.assign(r1, Some(analyst), admin, None).await.unwrap();
    assert_eq!(store.report(r1).await.unwrap().unwrap().assignee, Some(analyst));
    assert_eq!(store.report(r2).await.unwrap().unwrap().assignee, None);
    assert_eq!(ids(&store.list_reports(&assigned_to(analyst)).await.unwrap()), [r1]);
    assert!(store.list_reports(&assigned_to(admin)).await.unwrap().is_empty());

    store.assign(r1, None, admin, None).await.unwrap();
    assert_eq!(store.report(r1).await.unwrap().unwrap().assignee, None);
    assert!(store.list_reports(&assigned_to(analyst)).await.unwrap().is_empty());
    let audit = audit_actions(store, "report.assign").await;
    let details: Vec<_> = audit.iter().map(|a| (a.user, a.detail.clone())).collect();
    assert_eq!(details, [(Some(admin), Some("nobody".to_owned())), (Some(admin), Some(analyst.0.to_string()))]);
    // On the report's timeline too, with who did it.
    let timeline = store.report(r1).await.unwrap().unwrap().timeline;
    assert!(
        matches!(
            timeline.as_slice(),
            [TimelineEntry::Assigned { to: Some(to), by: b1, .. }, TimelineEntry::Assigned { to: None, by: b2, .. }]
                if *to == analyst && *b1 == admin && *b2 == admin
        ),
        "{timeline:?}"
    );

    assert!(matches!(store.assign(NO_REPORT, Some(analyst), admin, None).await, Err(StoreError::NotFound)));
    let to_nobody = store.assign(r2, Some(NO_USER), admin, None).await.unwrap_err();
    assert!(matches!(to_nobody, StoreError::NotFound), "an unknown analyst: {to_nobody}");
    assert_eq!(store.report(r2).await.unwrap().unwrap().assignee, None);
}

async fn links_are_stored_once_and_join_reports_into_incidents(store: &Store) {
    let analyst = new_analyst(store, "analyst@ipa.example").await;
    let mut r = Vec::new();
    for i in 0..6 {
        r.push(ingest_one(store, submission(&format!("届出 {i}"), None)).await.report_id);
    }
    store.link_reports(r[1], r[0], analyst, None).await.unwrap();
    store.link_reports(r[0], r[1], analyst, None).await.unwrap(); // the same link, the other way round
    store.link_reports(r[2], r[1], analyst, None).await.unwrap();
    store.link_reports(r[4], r[3], analyst, None).await.unwrap();

    assert_eq!(store.linked_reports(r[0]).await.unwrap(), [tracking(store, r[1]).await]);
    assert_eq!(store.linked_reports(r[1]).await.unwrap(), [tracking(store, r[0]).await, tracking(store, r[2]).await]);
    assert_eq!(store.linked_reports(r[3]).await.unwrap(), [tracking(store, r[4]).await]);
    assert!(store.linked_reports(r[5]).await.unwrap().is_empty());

    let incidents = store.incidents().await.unwrap();
    let expected: std::collections::BTreeMap<ReportId, ReportId> =
        [(r[0], r[0]), (r[1], r[0]), (r[2], r[0]), (r[3], r[3]), (r[4], r[3])].into_iter().collect();
    assert_eq!(incidents, expected, "every linked report maps to its incident's first report");
    // Each action is audited (the repeated link too), with who made it.
    let links = audit_actions(store, "report.link").await;
    assert_eq!(links.len(), 4);
    assert!(links.iter().all(|a| a.user == Some(analyst)));
    // Each new link on both reports' timelines, naming the other (the repeated one not again).
    let timeline = store.report(r[1]).await.unwrap().unwrap().timeline;
    let others: Vec<(TrackingNumber, Actor)> = timeline
        .iter()
        .filter_map(|e| match e {
            TimelineEntry::Linked { other, .. } => Some((other.clone(), e.actor())),
            _ => None,
        })
        .collect();
    assert_eq!(
        others,
        [
            (tracking(store, r[0]).await, Actor::Analyst(analyst)),
            (tracking(store, r[2]).await, Actor::Analyst(analyst))
        ]
    );

    let unknown = store.link_reports(r[0], NO_REPORT, analyst, None).await.unwrap_err();
    assert!(matches!(unknown, StoreError::NotFound), "{unknown}");
    assert_eq!(store.incidents().await.unwrap(), expected);
}

// ── accounts ────────────────────────────────────────────────────────────────────────────

async fn accounts_are_keyed_by_their_lower_cased_address_and_can_be_disabled(store: &Store) {
    let admin = store.create_user("  Admin@IPA.example ", Role::Admin, "h-admin").await.unwrap();
    let x = store.create_user("x@ipa.example", Role::Analyst, "h1").await.unwrap();
    let dup = store.create_user("X@IPA.example", Role::Admin, "h2").await.unwrap_err();
    assert!(matches!(dup, StoreError::Duplicate(_)), "{dup}");

    let u = store.user_by_email(" X@IPA.EXAMPLE").await.unwrap().unwrap();
    assert_eq!(
        (u.id, u.email.as_str(), u.role, u.password_hash.as_str(), u.disabled),
        (x, "x@ipa.example", Role::Analyst, "h1", false)
    );
    assert_eq!(store.user(admin).await.unwrap().unwrap().email, "admin@ipa.example");
    assert!(store.user(NO_USER).await.unwrap().is_none());
    assert!(store.user_by_email("nobody@ipa.example").await.unwrap().is_none());
    let all: Vec<_> = store.users().await.unwrap().into_iter().map(|u| (u.id, u.email, u.role)).collect();
    assert_eq!(all, [(admin, "admin@ipa.example".into(), Role::Admin), (x, "x@ipa.example".into(), Role::Analyst)]);

    // Disabling an account ends its sessions at once; enabling it does not bring them back.
    store.create_session("tok-x", &SessionSubject::Analyst(x), "csrf-x", Duration::hours(8)).await.unwrap();
    store.create_session("tok-admin", &SessionSubject::Analyst(admin), "csrf-a", Duration::hours(8)).await.unwrap();
    store.set_user_disabled(x, true, Some(admin)).await.unwrap();
    assert!(store.user(x).await.unwrap().unwrap().disabled);
    assert!(store.session("tok-x").await.unwrap().is_none());
    assert!(store.session("tok-admin").await.unwrap().is_some(), "only that account's sessions");
    store.set_user_disabled(x, false, Some(admin)).await.unwrap();
    assert!(matches!(store.set_user_disabled(NO_USER, true, None).await, Err(StoreError::NotFound)));
    assert!(!store.user_by_email("x@ipa.example").await.unwrap().unwrap().disabled);
    assert!(store.session("tok-x").await.unwrap().is_none());

    let creations = audit_actions(store, "user.create").await;
    assert_eq!(
        creations.iter().map(|a| a.target.clone().unwrap()).collect::<Vec<_>>(),
        ["x@ipa.example", "admin@ipa.example"]
    );
    for action in ["user.disable", "user.enable"] {
        let a = audit_actions(store, action).await;
        assert_eq!((a.len(), a[0].user, a[0].target.clone()), (1, Some(admin), Some(x.0.to_string())), "{action}");
    }
}

async fn one_time_passwords_resets_recovery_codes_and_settings_are_kept_and_audited(store: &Store) {
    let admin = store.create_user("admin@ipa.example", Role::Admin, "h-admin").await.unwrap();
    let until = datetime!(2030-01-01 09:00 +9);
    let u = store.create_user_one_time("New@IPA.example", Role::Analyst, "h-once", until).await.unwrap();
    let user = store.user(u).await.unwrap().unwrap();
    assert_eq!((user.email.as_str(), user.one_time_until), ("new@ipa.example", Some(until)));
    assert_eq!(store.user(admin).await.unwrap().unwrap().one_time_until, None);

    // The user's own password: no longer one-time; every session ends.
    store.create_session("tok-u", &SessionSubject::Analyst(u), "c", Duration::hours(8)).await.unwrap();
    store.set_password(u, "h-own", None, Some(u)).await.unwrap();
    let user = store.user(u).await.unwrap().unwrap();
    assert_eq!((user.password_hash.as_str(), user.one_time_until), ("h-own", None));
    assert!(store.session("tok-u").await.unwrap().is_none());
    // An admin's reset: a new one-time password.
    store.set_password(u, "h-reset", Some(until), Some(admin)).await.unwrap();
    assert_eq!(store.user(u).await.unwrap().unwrap().one_time_until, Some(until));
    assert!(matches!(store.set_password(NO_USER, "h", None, None).await, Err(StoreError::NotFound)));
    assert_eq!(audit_actions(store, "user.password_change").await[0].user, Some(u));
    assert_eq!(audit_actions(store, "user.password_reset").await[0].user, Some(admin));

    // Recovery codes: replaced as a set, each spent once.
    store.replace_recovery_codes(u, &["a1".into(), "b2".into(), "c3".into()]).await.unwrap();
    assert_eq!(store.recovery_codes_left(u).await.unwrap(), 3);
    assert!(store.use_recovery_code(u, "b2").await.unwrap());
    assert!(!store.use_recovery_code(u, "b2").await.unwrap(), "once");
    assert!(!store.use_recovery_code(admin, "a1").await.unwrap(), "another account's code");
    assert_eq!(store.recovery_codes_left(u).await.unwrap(), 2);
    assert_eq!(audit_actions(store, "user.recovery_code_used").await[0].detail.as_deref(), Some("2 left"));
    store.replace_recovery_codes(u, &["d4".into()]).await.unwrap();
    assert!(!store.use_recovery_code(u, "a1").await.unwrap(), "old codes are gone");

    // The second factor reset: TOTP off, codes gone, sessions ended.
    store.set_totp(u, Some("JBSWY3DPEHPK3PXP")).await.unwrap();
    store.create_session("tok-u2", &SessionSubject::Analyst(u), "c", Duration::hours(8)).await.unwrap();
    store.reset_second_factor(u, Some(admin)).await.unwrap();
    assert_eq!(store.totp(u).await.unwrap(), (None, 0));
    assert_eq!(store.recovery_codes_left(u).await.unwrap(), 0);
    assert!(store.session("tok-u2").await.unwrap().is_none());
    assert!(matches!(store.reset_second_factor(NO_USER, None).await, Err(StoreError::NotFound)));
    assert_eq!(audit_actions(store, "user.totp_reset").await[0].user, Some(admin));

    // Settings: upserted, listed by key, audited.
    assert!(store.settings().await.unwrap().is_empty());
    store.set_setting("one_time_password_hours", "24", Some(admin)).await.unwrap();
    store.set_setting("four_eyes_publication", "off", None).await.unwrap();
    store.set_setting("one_time_password_hours", "48", Some(admin)).await.unwrap();
    assert_eq!(
        store.settings().await.unwrap(),
        [("four_eyes_publication".into(), "off".into()), ("one_time_password_hours".into(), "48".into())]
    );
    assert_eq!(audit_actions(store, "settings.set").await.len(), 3);
}

async fn sessions_live_until_they_expire_or_are_deleted(store: &Store) {
    let u = new_analyst(store, "analyst@ipa.example").await;
    let r = ingest_one(store, submission("届出者のセッション", None)).await.report_id;
    store.create_session("hash-analyst", &SessionSubject::Analyst(u), "csrf-1", Duration::hours(8)).await.unwrap();
    store.create_session("hash-reporter", &SessionSubject::Reporter(r), "csrf-2", Duration::minutes(30)).await.unwrap();
    let s = store.session("hash-analyst").await.unwrap().unwrap();
    assert_eq!((s.subject, s.csrf.as_str()), (SessionSubject::Analyst(u), "csrf-1"));
    let s = store.session("hash-reporter").await.unwrap().unwrap();
    assert_eq!((s.subject, s.csrf.as_str()), (SessionSubject::Reporter(r), "csrf-2"));
    assert!(store.session("hash-unknown").await.unwrap().is_none());
    let again = store.create_session("hash-analyst", &SessionSubject::Analyst(u), "c", Duration::hours(1)).await;
    assert!(matches!(again, Err(StoreError::Duplicate(_))), "one token, one session");

    // A session ends when its lifetime does, and the ended one is swept by the next login.
    store.create_session("hash-short", &SessionSubject::Analyst(u), "c", Duration::milliseconds(400)).await.unwrap();
    assert!(store.session("hash-short").await.unwrap().is_some());
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert!(store.session("hash-short").await.unwrap().is_none(), "expired");
    store.create_session("hash-short", &SessionSubject::Analyst(u), "c2", Duration::hours(1)).await.unwrap();
    assert_eq!(store.session("hash-short").await.unwrap().unwrap().csrf, "c2");

    store.delete_session("hash-analyst").await.unwrap();
    assert!(store.session("hash-analyst").await.unwrap().is_none());
    assert!(store.session("hash-reporter").await.unwrap().is_some(), "only that session");
    store.delete_session("hash-analyst").await.unwrap(); // logging out twice is fine

    let unknown = store.create_session("x", &SessionSubject::Reporter(NO_REPORT), "c", Duration::hours(1)).await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
}

async fn a_totp_step_is_accepted_once_and_never_an_earlier_one(store: &Store) {
    let u = new_analyst(store, "analyst@ipa.example").await;
    assert_eq!(store.totp(u).await.unwrap(), (None, 0));
    assert!(!store.has_totp(u).await.unwrap());
    assert!(store.can_seal() && store.seal_key().is_some(), "the test stores have a key");
    store.set_totp(u, Some("JBSWY3DPEHPK3PXP")).await.unwrap();
    assert!(store.has_totp(u).await.unwrap());
    assert_eq!(store.totp(u).await.unwrap(), (Some("JBSWY3DPEHPK3PXP".into()), 0));
    // Sealed at rest: what the database holds is not the seed, and opens only with the key.
    let sealed = todokede_store::seal::Sealer::new(store.seal_key());
    let other = todokede_store::seal::Sealer::new(Some(todokede_store::seal::SealKey::generate()));
    let probe = sealed.seal("JBSWY3DPEHPK3PXP", &format!("totp:user:{}", u.0)).unwrap();
    assert!(other.open(&probe, &format!("totp:user:{}", u.0)).is_err());
    assert!(store.use_totp_step(u, 1000).await.unwrap());
    assert!(!store.use_totp_step(u, 1000).await.unwrap(), "a replayed code is refused");
    assert!(!store.use_totp_step(u, 999).await.unwrap(), "so is an earlier one");
    assert!(store.use_totp_step(u, 1001).await.unwrap());
    assert_eq!(store.totp(u).await.unwrap().1, 1001);

    // Turning it off (and on again) starts over.
    store.set_totp(u, None).await.unwrap();
    assert_eq!(store.totp(u).await.unwrap(), (None, 0));
    let on = audit_actions(store, "user.totp_on").await;
    let off = audit_actions(store, "user.totp_off").await;
    assert_eq!((on.len(), on[0].user, off.len(), off[0].user), (1, Some(u), 1, Some(u)));

    assert!(matches!(store.totp(NO_USER).await, Err(StoreError::NotFound)));
    assert!(!store.use_totp_step(NO_USER, 1).await.unwrap());
}

async fn the_audit_log_is_newest_first_with_who_and_what(store: &Store) {
    let admin = store.create_user("admin@ipa.example", Role::Admin, "h").await.unwrap();
    store.audit(None, "system.start", None, None).await.unwrap();
    store.audit(Some(admin), "report.download", Some("42"), Some("auth.log")).await.unwrap();
    let last = store.audit_log(1).await.unwrap();
    assert_eq!(last.len(), 1);
    let a = &last[0];
    assert_eq!(
        (a.user, a.action.as_str(), a.target.as_deref(), a.detail.as_deref()),
        (Some(admin), "report.download", Some("42"), Some("auth.log"))
    );
    let all = store.audit_log(10).await.unwrap();
    assert_eq!(
        all.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(),
        ["report.download", "system.start", "user.create"]
    );
    assert_eq!((all[1].user, all[1].target.as_deref()), (None, None));
    assert!(all.windows(2).all(|w| w[0].at >= w[1].at), "newest first");
    assert!(OffsetDateTime::now_utc() - all[0].at < Duration::minutes(1));
    let unknown = store.audit(Some(NO_USER), "x", None, None).await.unwrap_err();
    assert!(matches!(unknown, StoreError::NotFound), "{unknown}");
}

// ── jobs and analyses ───────────────────────────────────────────────────────────────────

async fn a_claimed_job_is_not_claimed_again_before_its_lease_ends(store: &Store) {
    let mut reports = Vec::new();
    for i in 0..3 {
        reports.push(ingest_one(store, submission(&format!("解析 {i}"), None)).await.report_id);
    }
    let lease = Duration::minutes(5);
    let first = store.claim_jobs(2, lease).await.unwrap();
    assert_eq!(first.iter().map(|j| j.report_id).collect::<Vec<_>>(), reports[..2], "oldest first");
    assert!(first.iter().all(|j| j.kind == JobKind::Analyse));
    let second = store.claim_jobs(10, lease).await.unwrap();
    assert_eq!(second.iter().map(|j| j.report_id).collect::<Vec<_>>(), reports[2..]);
    assert!(store.claim_jobs(10, lease).await.unwrap().is_empty(), "all are leased");
    assert_eq!(store.pending_jobs(10).await.unwrap().len(), 3, "claimed is not done");

    // Done: gone. An error: released at once, to be retried; after five failed tries, given up.
    store.finish_job(first[0].id, None).await.unwrap();
    let pending: Vec<i64> = store.pending_jobs(10).await.unwrap().iter().map(|j| j.id).collect();
    assert_eq!(pending, [first[1].id, second[0].id]);
    store.finish_job(first[1].id, Some("analysis panicked")).await.unwrap();
    let retried = store.claim_jobs(10, lease).await.unwrap();
    assert_eq!(retried.iter().map(|j| j.id).collect::<Vec<_>>(), [first[1].id]);
    for _ in 0..4 {
        store.finish_job(first[1].id, Some("analysis panicked")).await.unwrap();
    }
    assert!(store.claim_jobs(10, lease).await.unwrap().is_empty());
    assert_eq!(store.pending_jobs(10).await.unwrap().iter().map(|j| j.id).collect::<Vec<_>>(), [second[0].id]);

    // A short lease ends, and then another worker may take the job.
    store.finish_job(second[0].id, Some("worker lost")).await.unwrap();
    let short = store.claim_jobs(10, Duration::milliseconds(400)).await.unwrap();
    assert_eq!(short.iter().map(|j| j.id).collect::<Vec<_>>(), [second[0].id]);
    assert!(store.claim_jobs(10, lease).await.unwrap().is_empty(), "not before the lease ends");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let taken = store.claim_jobs(10, lease).await.unwrap();
    assert_eq!(taken.iter().map(|j| j.id).collect::<Vec<_>>(), [second[0].id]);
    assert_eq!(store.pending_jobs(1).await.unwrap().len(), 1, "limit");
}

async fn an_analysis_is_saved_replaced_and_its_primary_cause_filters_the_queue(store: &Store) {
    let a = ingest_one(store, submission("パスワードが弱かった", None)).await.report_id;
    let b = ingest_one(store, submission("原因不明", None)).await.report_id;
    assert_eq!(store.analysis(a).await.unwrap(), None);
    store.save_analysis(a, "0.1.0+rules1", r#"{"v":1}"#, Some(CauseCategory::WeakCredentials)).await.unwrap();
    assert_eq!(store.analysis(a).await.unwrap().as_deref(), Some(r#"{"v":1}"#));
    store.save_analysis(a, "0.1.0+rules2", r#"{"v":2}"#, Some(CauseCategory::MissingAccessControl)).await.unwrap();
    store.save_analysis(b, "0.1.0+rules2", r#"{"v":3}"#, None).await.unwrap();
    assert_eq!(store.analysis(a).await.unwrap().as_deref(), Some(r#"{"v":2}"#), "the latest replaces the old");
    assert_eq!(store.analysis(b).await.unwrap().as_deref(), Some(r#"{"v":3}"#));
    let by_cause = |c| ReportFilter { primary_cause: Some(c), limit: 10, ..Default::default() };
    assert_eq!(ids(&store.list_reports(&by_cause(CauseCategory::MissingAccessControl)).await.unwrap()), [a]);
    assert!(store.list_reports(&by_cause(CauseCategory::WeakCredentials)).await.unwrap().is_empty());
    let unknown = store.save_analysis(NO_REPORT, "v", "{}", None).await.unwrap_err();
    assert!(matches!(unknown, StoreError::NotFound), "{unknown}");
}

// ── mail ────────────────────────────────────────────────────────────────────────────────

fn mail(report: ReportId, message_id: &str) -> NewMail {
    NewMail {
        report,
        message_id: message_id.into(),
        from: "todokede@ipa.example".into(),
        to: "taro@example.jp".into(),
        raw: format!("Message-ID: <{message_id}>\r\n\r\n受付しました").into_bytes(),
    }
}

async fn the_outbox_hands_each_mail_to_one_worker_and_backs_off_after_a_failure(store: &Store) {
    let r = ingest_one(store, submission("メールで返信する届出", None)).await;
    let report = r.report_id;
    let first = mail(report, "ack-1@ipa.example");
    store.enqueue_mail(report, &first.message_id, &first.from, &first.to, &first.raw).await.unwrap();
    store.enqueue_mails(&[mail(report, "ack-2@ipa.example"), mail(report, "ack-3@ipa.example")]).await.unwrap();
    store.enqueue_mails(&[]).await.unwrap();
    let due = store.due_mail(10).await.unwrap();
    assert_eq!(
        due.iter().map(|m| m.message_id.as_str()).collect::<Vec<_>>(),
        ["ack-1@ipa.example", "ack-2@ipa.example", "ack-3@ipa.example"]
    );
    assert_eq!(
        (due[0].from.as_str(), due[0].to.as_str(), &due[0].raw),
        (first.from.as_str(), first.to.as_str(), &first.raw)
    );
    assert!(due.iter().all(|m| m.report_id == report && m.attempts == 0));
    assert_eq!(store.due_mail(1).await.unwrap().len(), 1);

    // Claimed mail is no other worker's until its lease ends or its outcome is recorded.
    let lease = Duration::minutes(5);
    let a = store.claim_mail(2, lease).await.unwrap();
    assert_eq!(a.iter().map(|m| m.id).collect::<Vec<_>>(), [due[0].id, due[1].id]);
    let b = store.claim_mail(10, lease).await.unwrap();
    assert_eq!(b.iter().map(|m| m.id).collect::<Vec<_>>(), [due[2].id]);
    assert!(store.claim_mail(10, lease).await.unwrap().is_empty());
    assert_eq!(store.due_mail(10).await.unwrap().len(), 3, "due_mail is a view, claims or not");

    store.mail_sent(a[0].id).await.unwrap();
    store.mail_sent(a[0].id).await.unwrap(); // recorded once
    let now = OffsetDateTime::now_utc();
    // A failure is retried from `retry_at`, not before.
    let given_up =
        store.mail_failed(a[1].id, "421 try later", now + Duration::milliseconds(500), now - Duration::days(5)).await;
    assert!(!given_up.unwrap());
    assert!(store.claim_mail(10, lease).await.unwrap().is_empty(), "backing off");
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let retry = store.claim_mail(10, lease).await.unwrap();
    assert_eq!((retry.len(), retry[0].id, retry[0].attempts), (1, a[1].id, 1));
    // A mail queued before `give_up_before` is given up instead, and is never claimed again.
    let now = OffsetDateTime::now_utc();
    assert!(store.mail_failed(a[1].id, "550 no such user", now, now + Duration::seconds(1)).await.unwrap());
    assert!(store.claim_mail(10, lease).await.unwrap().is_empty());
    assert_eq!(store.due_mail(10).await.unwrap().iter().map(|m| m.id).collect::<Vec<_>>(), [due[2].id]);
    // A mail that was sent is not turned into a failure by a late report.
    assert!(!store.mail_failed(a[0].id, "late", now, now + Duration::seconds(1)).await.unwrap());

    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { queued: 1, failed: 1, sent: 1 });
    let failed = store.failed_mail(10).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!((failed[0].id, failed[0].report_id, &failed[0].tracking_number), (a[1].id, report, &r.tracking_number));
    assert_eq!((failed[0].to.as_str(), failed[0].last_error.as_deref()), ("taro@example.jp", Some("550 no such user")));
    assert!(matches!(failed[0].state, MailState::Failed(_)));
    let on_page = store.report_mail(report).await.unwrap();
    assert_eq!(on_page.iter().map(|m| m.id).collect::<Vec<_>>(), [due[2].id, due[1].id, due[0].id], "newest first");
    assert!(matches!(on_page[0].state, MailState::Pending { attempts: 0 }));
    assert!(matches!(on_page[1].state, MailState::Failed(_)));
    assert!(matches!(on_page[2].state, MailState::Sent(_)));
    let MailState::Sent(sent_at) = on_page[2].state else { unreachable!() };
    assert!(sent_at >= on_page[2].created_at);
    assert_eq!(on_page[2].last_error, None);

    // An admin queues the failed mail again: due at once, its clock restarted.
    assert!(store.retry_mail(a[1].id).await.unwrap());
    assert!(!store.retry_mail(a[1].id).await.unwrap(), "it is not failed any more");
    assert!(!store.retry_mail(a[0].id).await.unwrap(), "a sent mail is not retried");
    assert_eq!(store.claim_mail(10, lease).await.unwrap().iter().map(|m| m.id).collect::<Vec<_>>(), [a[1].id]);
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { queued: 2, failed: 0, sent: 1 });
    assert!(store.failed_mail(10).await.unwrap().is_empty());

    assert_eq!(
        store.sent_message_ids(report).await.unwrap(),
        ["ack-1@ipa.example", "ack-2@ipa.example", "ack-3@ipa.example"]
    );
    let dup = store.enqueue_mail(report, "ack-1@ipa.example", "f", "t", b"x").await.unwrap_err();
    assert!(matches!(dup, StoreError::Duplicate(_)), "a Message-ID is sent once: {dup}");
    let unknown = store.enqueue_mail(NO_REPORT, "other@ipa.example", "f", "t", b"x").await.unwrap_err();
    assert!(matches!(unknown, StoreError::NotFound), "{unknown}");
}

async fn a_mail_thread_finds_its_report_and_a_mailed_follow_up_is_stored_once(store: &Store) {
    let mut by_mail = submission("メールでの届出", Some(DedupKey::MessageId("orig-1@reporter.example".into())));
    by_mail.channel = Channel::Email;
    let a = ingest_one(store, by_mail).await.report_id;
    let b = ingest_one(store, submission("API での届出", None)).await.report_id;
    store.enqueue_mail(b, "ack-b@ipa.example", "f", "t", b"x").await.unwrap();
    let find = |refs: &[&str]| {
        let refs: Vec<String> = refs.iter().map(|s| s.to_string()).collect();
        async move { store.report_by_message_ids(&refs).await.unwrap() }
    };
    assert_eq!(find(&["<orig-1@reporter.example>"]).await, Some(a), "the reporter's own mail");
    assert_eq!(find(&["ack-b@ipa.example"]).await, Some(b), "our acknowledgement");
    assert_eq!(find(&["<orig-1@reporter.example>", "<ack-b@ipa.example>"]).await, Some(b), "the last reference wins");
    assert_eq!(find(&["<orig-1@reporter.example>", "<nobody@example.jp>"]).await, Some(a));
    assert_eq!(find(&["<nobody@example.jp>"]).await, None);
    assert_eq!(find(&[]).await, None);

    // A follow-up by mail may be delivered twice: stored (and analysed) once per Message-ID.
    let key = DedupKey::MessageId("follow-1@reporter.example".into());
    let log = Attachment::new("access.log", "text/plain", b"GET /phpmyadmin/ 200".to_vec());
    assert!(store.add_follow_up_once(a, "続報です", std::slice::from_ref(&log), &key).await.unwrap());
    let answered = store.list_reports(&ReportFilter { answered: true, limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(answered.iter().map(|r| r.id).collect::<Vec<_>>(), [a], "a mailed answer waits for an analyst");
    assert!(!store.add_follow_up_once(a, "続報です", std::slice::from_ref(&log), &key).await.unwrap());
    let timeline = store.report(a).await.unwrap().unwrap().timeline;
    assert_eq!(timeline.len(), 1);
    let TimelineEntry::FollowUp { body, attachments, .. } = &timeline[0] else { panic!("{timeline:?}") };
    assert_eq!((body.as_str(), attachments[0].filename.as_str()), ("続報です", "access.log"));
    assert_eq!(store.blob(&log.sha256_hex()).await.unwrap().unwrap(), log.bytes);
    let jobs = store.pending_jobs(10).await.unwrap();
    assert_eq!(jobs.iter().filter(|j| j.report_id == a).count(), 2, "intake's and the follow-up's");
    assert_eq!(find(&["<follow-1@reporter.example>"]).await, Some(a), "the follow-up threads too");
    let other = DedupKey::MessageId("follow-2@reporter.example".into());
    let unknown = store.add_follow_up_once(NO_REPORT, "x", &[], &other).await.unwrap_err();
    assert!(matches!(unknown, StoreError::NotFound), "{unknown}");
    assert!(store.add_follow_up_once(b, "x", &[], &other).await.unwrap(), "the key was not used up");

    // Only our own Message-IDs prove a thread (issue 17, finding 11).
    let ours = |refs: &[&str]| {
        let refs: Vec<String> = refs.iter().map(|s| s.to_string()).collect();
        async move { store.report_by_our_message_ids(&refs).await.unwrap() }
    };
    assert_eq!(ours(&["<ack-b@ipa.example>", "<orig-1@reporter.example>"]).await, Some(b));
    assert_eq!(ours(&["<orig-1@reporter.example>"]).await, None, "the reporter's own Message-ID is no proof");
    // A different follow-up under a used Message-ID is kept (and audited), its repeat is not.
    assert!(store.add_follow_up_once(a, "別の続報です", &[], &key).await.unwrap());
    assert!(!store.add_follow_up_once(a, "別の続報です", &[], &key).await.unwrap());
    assert_eq!(store.report(a).await.unwrap().unwrap().timeline.len(), 2);
    // A different new report under a used Message-ID is stored too, flagged.
    let mut reused = submission("まったく別の届出", Some(DedupKey::MessageId("orig-1@reporter.example".into())));
    reused.channel = Channel::Email;
    let r = ingest_one(store, reused.clone()).await;
    assert!(!r.duplicate && r.report_id != a);
    let notes = store.report(r.report_id).await.unwrap().unwrap().intake_notes;
    assert_eq!(notes, ["message_id_collision"]);
    assert_eq!(ingest_one(store, reused).await.report_id, r.report_id, "and stored once");
}

// ── classification and publication ──────────────────────────────────────────────────────

async fn a_confirmed_classification_keeps_the_overrides_and_moves_the_facets(store: &Store) {
    let analyst = new_analyst(store, "analyst@ipa.example").await;
    let r1 = report_at(store, "phpMyAdmin が公開されていた", datetime!(2019-08-10 12:00 +9)).await;
    let r2 = report_at(store, "パスワードが推測された", datetime!(2019-09-01 12:00 +9)).await;
    let r3 = report_at(store, "大晦日の届出", datetime!(2019-12-31 23:30 +9)).await;
    let r4 = report_at(store, "元日の届出", datetime!(2020-01-01 00:30 +9)).await;
    let automatic = Classification {
        causes: vec![CauseCategory::Unknown],
        damages: vec![DamageCategory::None],
        ..Default::default()
    };
    let confirmed = Classification {
        causes: vec![CauseCategory::WeakCredentials, CauseCategory::MissingAccessControl],
        damages: vec![DamageCategory::DataDestructionExtortion],
        attack_types: vec![AttackType::Intrusion],
        techniques: vec!["T1110".into()],
        has_damage: Some(true),
    };
    // What the automatic analysis indexed.
    let automatic_facets = ReportIndex {
        facets: vec!["cause.unknown".into(), "indicator.ipv4".into()],
        search_body: "phpMyAdmin".into(),
        ..Default::default()
    };
    store.index_report(r1, &automatic_facets).await.unwrap();
    assert_eq!(store.classification(r1).await.unwrap(), None);

    let all = ["causes", "damages", "attack_types", "techniques", "has_damage"];
    assert_eq!(store.confirm_classification(r1, analyst, &confirmed, &automatic, None).await.unwrap(), all);
    assert_eq!(store.classification(r1).await.unwrap(), Some(confirmed.clone()));
    let timeline = store.report(r1).await.unwrap().unwrap().timeline;
    assert!(
        matches!(
            timeline.as_slice(),
            [TimelineEntry::Classified { primary_cause: Some(CauseCategory::WeakCredentials), by, .. }] if *by == analyst
        ),
        "the confirmation is on the timeline: {timeline:?}"
    );
    let unconfirmed = ReportFilter { unconfirmed: true, limit: 10, ..Default::default() };
    let listed = store.list_reports(&unconfirmed).await.unwrap();
    assert!(!listed.iter().any(|s| s.id == r1) && listed.iter().all(|s| !s.confirmed), "only unconfirmed ones");
    assert!(
        store
            .list_reports(&ReportFilter { limit: 10, ..Default::default() })
            .await
            .unwrap()
            .iter()
            .any(|s| s.id == r1 && s.confirmed)
    );
    assert!(store.confirm_classification(r2, analyst, &confirmed, &confirmed, None).await.unwrap().is_empty());
    // Confirmed again: replaced, and the overrides of both confirmations kept.
    let changed = Classification { causes: vec![CauseCategory::Phishing], ..confirmed.clone() };
    assert_eq!(store.confirm_classification(r1, analyst, &changed, &automatic, None).await.unwrap(), all);
    assert_eq!(store.classification(r1).await.unwrap(), Some(changed.clone()));
    let only_damage = Classification { has_damage: Some(false), ..confirmed.clone() };
    assert_eq!(
        store.confirm_classification(r3, analyst, &confirmed, &only_damage, None).await.unwrap(),
        ["has_damage"]
    );
    store.confirm_classification(r4, analyst, &confirmed, &confirmed, None).await.unwrap();
    assert_eq!(
        store.override_counts().await.unwrap(),
        [
            ("attack_types".to_owned(), 2),
            ("causes".to_owned(), 2),
            ("damages".to_owned(), 2),
            ("has_damage".to_owned(), 3),
            ("techniques".to_owned(), 2)
        ]
    );

    // The trend facets follow the confirmation; the others (indicator.…) stay.
    assert_eq!(
        store.facet_counts(H2_2019.0, H2_2019.1).await.unwrap(),
        [
            ("cause.phishing".to_owned(), 1),
            ("cause.weak_credentials".to_owned(), 2),
            ("damage.data_destruction_extortion".to_owned(), 3),
            ("indicator.ipv4".to_owned(), 1),
            ("technique.T1110".to_owned(), 3)
        ]
    );

    // Publication reads the confirmed cases of a period (JST bounds), oldest first.
    let cases = store.confirmed_cases(H2_2019.0, H2_2019.1).await.unwrap();
    assert_eq!(cases.iter().map(|c| c.id).collect::<Vec<_>>(), [r1, r2, r3]);
    assert_eq!(cases[0].classification, changed);
    assert_eq!(cases[0].content.description, "phpMyAdmin が公開されていた");
    assert_eq!(cases[0].tracking_number, tracking(store, r1).await);
    assert_eq!(cases[2].received_at, datetime!(2019-12-31 14:30 UTC));
    assert_eq!(store.count_received(H2_2019.0, H2_2019.1).await.unwrap(), 3);
    assert_eq!(store.count_received(datetime!(2020-01-01 00:00 +9), datetime!(2020-07-01 00:00 +9)).await.unwrap(), 1);
    // The newest classified report (r4, received in 2020) is where the publication page opens.
    let newest = store.newest_confirmed_received_at().await.unwrap().expect("classified reports");
    assert!((datetime!(2020-01-01 00:00 +9)..datetime!(2020-07-01 00:00 +9)).contains(&newest), "{newest}");

    let audit = audit_actions(store, "report.classify").await;
    assert_eq!(audit.len(), 5);
    assert_eq!(audit[1].detail.as_deref(), Some("overrides: has_damage"));
    assert_eq!((audit[1].user, audit[1].target.clone()), (Some(analyst), Some(r3.0.to_string())));
    let unknown = store.confirm_classification(NO_REPORT, analyst, &confirmed, &automatic, None).await.unwrap_err();
    assert!(matches!(unknown, StoreError::NotFound), "{unknown}");
}

async fn settings_are_set_replaced_removed_and_audited(store: &Store) {
    let admin = new_analyst(store, "admin@ipa.example").await;
    assert!(store.settings().await.unwrap().is_empty());
    store.set_setting("publication.contact.virus.email", "virus@cert.example.jp", Some(admin)).await.unwrap();
    store.set_setting("publication.contact.virus.url", "https://cert.example.jp/v", None).await.unwrap();
    store.set_setting("publication.contact.virus.email", "report@cert.example.jp", Some(admin)).await.unwrap();
    assert_eq!(
        store.settings().await.unwrap(),
        [
            ("publication.contact.virus.email".to_owned(), "report@cert.example.jp".to_owned()),
            ("publication.contact.virus.url".to_owned(), "https://cert.example.jp/v".to_owned()),
        ]
    );
    // An empty value removes the setting (its default applies again).
    store.set_setting("publication.contact.virus.url", "", Some(admin)).await.unwrap();
    assert_eq!(
        store.settings().await.unwrap(),
        [("publication.contact.virus.email".to_owned(), "report@cert.example.jp".to_owned())]
    );
    let audit = audit_actions(store, "settings.set").await;
    assert_eq!(audit.len(), 4);
    assert_eq!((audit[0].user, audit[0].target.as_deref()), (Some(admin), Some("publication.contact.virus.url")));
}

async fn the_sla_clock_runs_from_the_last_state_change_and_overdue_reports_filter_and_sort_first(store: &Store) {
    let analyst = new_analyst(store, "analyst@ipa.example").await;
    // Real times: one report received two days ago and still 受付, one received now; one moved
    // to 確認中 now (its clock restarts at the change, whatever its receipt).
    let now = OffsetDateTime::now_utc();
    let old = report_at(store, "二日前の届出", now - Duration::hours(48)).await;
    let fresh = report_at(store, "いまの届出", now).await;
    let moved = report_at(store, "二日前に届き、いま確認中", now - Duration::hours(47)).await;
    let before_move = OffsetDateTime::now_utc();
    store.transition(moved, ReportState::Triage, analyst, None).await.unwrap();
    let clock = store.report_clock(moved).await.unwrap();
    assert!(clock.state_since >= before_move - Duration::seconds(1), "the clock restarts at the change");
    assert_eq!(clock.answered_at, None);
    let old_clock = store.report_clock(old).await.unwrap();
    assert!((old_clock.state_since - (now - Duration::hours(48))).abs() < Duration::seconds(1), "from the receipt");
    assert!(matches!(store.report_clock(NO_REPORT).await, Err(StoreError::NotFound)));
    // 受付 allowed 24 hours, 確認中 72 hours: only the old one is overdue.
    let sla = SlaCutoffs {
        received: Some(now - Duration::hours(24)),
        triage: Some(now - Duration::hours(72)),
        ..Default::default()
    };
    let list = |f: ReportFilter| async move {
        store
            .list_reports(&ReportFilter { limit: 10, sla, ..f })
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(list(ReportFilter { overdue: true, ..Default::default() }).await, [old]);
    assert_eq!(list(ReportFilter { overdue_first: true, ..Default::default() }).await, [old, fresh, moved]);
    let summary = &store.list_reports(&ReportFilter { limit: 10, ..Default::default() }).await.unwrap();
    let of = |id| summary.iter().find(|r| r.id == id).unwrap().state_since;
    assert!(of(moved) >= before_move - Duration::seconds(1) && of(old) < now - Duration::hours(47));
    // A 確認中 clock whose cut-off is after the change: the moved report is overdue.
    let tight = SlaCutoffs { triage: Some(OffsetDateTime::now_utc() + Duration::seconds(1)), ..Default::default() };
    let overdue = ReportFilter { overdue: true, sla: tight, limit: 10, ..Default::default() };
    assert_eq!(
        store.list_reports(&overdue).await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>(),
        [moved],
        "the change is before the cut-off"
    );
    // No clocks: nothing is overdue.
    let none = store.list_reports(&ReportFilter { overdue: true, limit: 10, ..Default::default() }).await.unwrap();
    assert!(none.is_empty(), "without cut-offs no report is overdue");
    // The reporter's answer shows on the clock.
    store.transition(moved, ReportState::WaitingOnReporter, analyst, None).await.unwrap();
    store.add_follow_up(moved, "ログを送ります", &[]).await.unwrap();
    assert!(store.report_clock(moved).await.unwrap().answered_at.is_some());
}

async fn reply_templates_are_created_replaced_deleted_and_audited(store: &Store) {
    let admin = new_analyst(store, "admin@ipa.example").await;
    // The migration brings one template per language.
    let seeded = store.reply_templates().await.unwrap();
    assert_eq!(seeded.iter().map(|t| t.language).collect::<Vec<_>>(), [Language::Ja, Language::En]);
    assert!(seeded[0].body.contains("{tracking_number}") && seeded[0].updated_by.is_none());
    let id = store
        .save_reply_template(None, "ログの依頼", Language::Ja, "{tracking_number} のログを", Some(admin))
        .await
        .unwrap();
    let again =
        store.save_reply_template(Some(id), "ログのお願い", Language::Ja, "ログを {reporter_name}", Some(admin));
    assert_eq!(again.await.unwrap(), id, "replaced in place");
    let all = store.reply_templates().await.unwrap();
    let t = all.iter().find(|t| t.id == id).unwrap();
    assert_eq!(
        (t.name.as_str(), t.body.as_str(), t.updated_by),
        ("ログのお願い", "ログを {reporter_name}", Some(admin))
    );
    let missing = store.save_reply_template(Some(9999), "x", Language::En, "x", Some(admin)).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound), "{missing}");
    store.delete_reply_template(id, Some(admin)).await.unwrap();
    assert!(matches!(store.delete_reply_template(id, Some(admin)).await, Err(StoreError::NotFound)));
    assert_eq!(store.reply_templates().await.unwrap().len(), 2);
    assert_eq!(audit_actions(store, "template.save").await.len(), 2);
    let deleted = audit_actions(store, "template.delete").await;
    assert_eq!((deleted.len(), deleted[0].user, deleted[0].detail.as_deref()), (1, Some(admin), Some("ログのお願い")));
}

async fn saved_filters_belong_to_their_analyst(store: &Store) {
    let a = new_analyst(store, "a@ipa.example").await;
    let b = new_analyst(store, "b@ipa.example").await;
    let id = store.save_filter(a, "期限超過", "overdue=1&sort=sla").await.unwrap();
    store.save_filter(a, "回答あり", "answered=1").await.unwrap();
    assert_eq!(store.save_filter(a, "期限超過", "overdue=1").await.unwrap(), id, "the same name replaces it");
    let mine = store.saved_filters(a).await.unwrap();
    assert_eq!(
        mine.iter().map(|f| (f.name.as_str(), f.query.as_str())).collect::<Vec<_>>(),
        [("回答あり", "answered=1"), ("期限超過", "overdue=1")]
    );
    assert!(store.saved_filters(b).await.unwrap().is_empty(), "per analyst");
    assert!(matches!(store.delete_saved_filter(b, id).await, Err(StoreError::NotFound)), "not another's");
    store.delete_saved_filter(a, id).await.unwrap();
    assert_eq!(store.saved_filters(a).await.unwrap().len(), 1);
}

async fn publication_versions_are_never_overwritten_and_approved_once(store: &Store) {
    let analyst = new_analyst(store, "analyst@ipa.example").await;
    let approver = new_analyst(store, "approver@ipa.example").await;
    assert_eq!(store.save_publication("2019H2", r#"{"v":1}"#, analyst, "草稿").await.unwrap(), 1);
    assert_eq!(store.save_publication("2019H2", r#"{"v":2}"#, analyst, "表2-1 の注記").await.unwrap(), 2);
    assert_eq!(store.save_publication("2020H1", r#"{"v":1}"#, analyst, "草稿").await.unwrap(), 1);
    let versions = store.publication_versions("2019H2").await.unwrap();
    let summary: Vec<_> = versions
        .iter()
        .map(|v| (v.period.as_str(), v.version, v.document_json.as_str(), v.change_note.as_str()))
        .collect();
    assert_eq!(summary, [("2019H2", 2, r#"{"v":2}"#, "表2-1 の注記"), ("2019H2", 1, r#"{"v":1}"#, "草稿")]);
    assert!(versions.iter().all(|v| v.created_by == analyst && v.approved_by.is_none() && v.approved_at.is_none()));

    assert!(store.approve_publication("2019H2", 1, approver).await.unwrap());
    assert!(!store.approve_publication("2019H2", 1, analyst).await.unwrap(), "approved once");
    assert!(!store.approve_publication("2019H2", 9, approver).await.unwrap(), "no such version");
    let versions = store.publication_versions("2019H2").await.unwrap();
    assert_eq!((versions[1].approved_by, versions[0].approved_by), (Some(approver), None));
    assert!(versions[1].approved_at.unwrap() >= versions[1].created_at);
    assert!(store.publication_versions("2020H1").await.unwrap()[0].approved_at.is_none(), "periods are apart");
    assert!(store.publication_versions("1999H1").await.unwrap().is_empty());

    assert_eq!(audit_actions(store, "publication.save").await[0].detail.as_deref(), Some("version 1: 草稿"));
    let approvals = audit_actions(store, "publication.approve").await;
    assert_eq!(
        (approvals.len(), approvals[0].user, approvals[0].detail.as_deref()),
        (1, Some(approver), Some("version 1"))
    );
}

// ── across reports ──────────────────────────────────────────────────────────────────────

async fn search_finds_japanese_substrings_with_every_filter(store: &Store) {
    let analyst = new_analyst(store, "analyst@ipa.example").await;
    let mut s1 = submission("DB 消去", None);
    s1.received_at = Some(datetime!(2019-08-01 12:00 +9));
    s1.content.reporter.kind = Some(ReporterKind::Company);
    let r1 = ingest_one(store, s1).await.report_id;
    let mut s2 = submission("SSH", None);
    s2.received_at = Some(datetime!(2019-10-01 12:00 +9));
    s2.content.reporter.kind = Some(ReporterKind::Individual);
    let r2 = ingest_one(store, s2).await.report_id;
    let r3 = report_at(store, "ランサムウェア", datetime!(2019-11-01 12:00 +9)).await;
    let unindexed = report_at(store, "まだ解析されていない", datetime!(2019-11-02 12:00 +9)).await;
    let index = |body: &str, facets: &[&str]| ReportIndex {
        search_body: body.into(),
        facets: facets.iter().map(|f| f.to_string()).collect(),
        ..Default::default()
    };
    store
        .index_report(
            r1,
            &index(
                "phpMyAdmin 経由でデータベースが消去され、ビットコインを要求する脅迫文が残された",
                &["cause.missing_access_control"],
            ),
        )
        .await
        .unwrap();
    store
        .index_report(
            r2,
            &index("SSH へのブルートフォースで侵入され、踏み台として悪用された。帯域の100%を_で埋めた", &[]),
        )
        .await
        .unwrap();
    store
        .index_report(r3, &index("ランサムウェアによりファイルが暗号化された。データベースも被害", &[]))
        .await
        .unwrap();
    store.transition(r3, ReportState::Triage, analyst, None).await.unwrap();

    let search = |terms: &[&str], filter: ReportFilter| {
        let q = SearchQuery { terms: terms.iter().map(|t| t.to_string()).collect(), filter };
        async move { ids(&store.search(&q).await.unwrap()) }
    };
    let any = ReportFilter::default;
    assert_eq!(search(&["データベース"], any()).await, [r3, r1], "newest first");
    assert_eq!(search(&["消去"], any()).await, [r1], "two characters");
    assert_eq!(search(&["侵"], any()).await, [r2], "one character");
    assert_eq!(search(&["データベース", "脅迫文"], any()).await, [r1], "every term");
    assert_eq!(search(&["データベース", "被害"], any()).await, [r3], "a long and a short term");
    assert_eq!(search(&["PHPMYADMIN"], any()).await, [r1], "ASCII case does not matter");
    assert_eq!(search(&["ssh"], any()).await, [r2]);
    assert_eq!(search(&["100%"], any()).await, [r2], "pattern characters are literal");
    assert_eq!(search(&["%"], any()).await, [r2]);
    assert_eq!(search(&["_"], any()).await, [r2]);
    assert_eq!(search(&["を_"], any()).await, [r2]);
    assert!(search(&["脅迫\"文"], any()).await.is_empty(), "a quote is text, not syntax");
    assert!(search(&["存在しない語"], any()).await.is_empty());

    // The queue's filters.
    assert_eq!(search(&["データベース"], ReportFilter { state: Some(ReportState::Triage), ..any() }).await, [r3]);
    let company = ReportFilter { reporter_kind: Some(ReporterKind::Company), ..any() };
    assert_eq!(search(&["データベース"], company).await, [r1]);
    let from_september = ReportFilter { received_from: Some(datetime!(2019-09-01 00:00 +9)), ..any() };
    assert_eq!(search(&["データベース"], from_september).await, [r3]);
    let before_september = ReportFilter { received_before: Some(datetime!(2019-09-01 00:00 +9)), ..any() };
    assert_eq!(search(&["データベース"], before_september).await, [r1]);
    let by_cause = ReportFilter { primary_cause: Some(CauseCategory::MissingAccessControl), ..any() };
    assert_eq!(search(&["データベース"], by_cause.clone()).await, [r1]);
    assert_eq!(search(&["消去"], by_cause.clone()).await, [r1]);
    assert_eq!(search(&[], by_cause).await, [r1]);
    assert_eq!(search(&["データベース"], ReportFilter { limit: 1, ..any() }).await, [r3]);
    // Without terms: the filtered reports, indexed or not.
    assert_eq!(search(&[], ReportFilter { state: Some(ReportState::Received), ..any() }).await, [unindexed, r2, r1]);

    // Indexing again replaces the text.
    store.index_report(r1, &index("別の文章に置き換えた", &[])).await.unwrap();
    assert!(search(&["消去"], any()).await.is_empty());
    assert_eq!(search(&["データベース"], any()).await, [r3]);
    assert_eq!(search(&["置き換え"], any()).await, [r1]);
    assert!(matches!(store.index_report(NO_REPORT, &index("x", &[])).await, Err(StoreError::NotFound)));
}

async fn indicators_are_found_by_value_address_range_and_domain_tree(store: &Store) {
    let r1 = ingest_one(store, submission("一件目", None)).await.report_id;
    let r2 = ingest_one(store, submission("二件目", None)).await.report_id;
    let r3 = ingest_one(store, submission("三件目", None)).await.report_id;
    let index = |indicators: Vec<IndexedIndicator>| ReportIndex { indicators, ..Default::default() };
    for (report, indicators) in [
        (
            r1,
            vec![
                indicator("ipv4", "203.0.113.5", false),
                indicator("domain", "evil.example.jp", false),
                indicator("ipv4", "192.168.1.10", true),
            ],
        ),
        (
            r2,
            vec![
                indicator("ipv4", "203.0.113.77", false),
                indicator("ipv4", "203.0.113.9", false),
                indicator("domain", "WWW.Evil.Example.jp", false),
            ],
        ),
        (
            r3,
            vec![
                indicator("ipv4", "198.51.100.1", false),
                indicator("domain", "evilx.example.jp", false),
                indicator("domain", "evil.example.jp.attacker.example", false),
            ],
        ),
    ] {
        store.index_report(report, &index(indicators)).await.unwrap();
    }
    let find = |q: IndicatorQuery, limit: i64| async move {
        let rows = store.reports_by_indicator(&q, limit).await.unwrap();
        rows.into_iter().map(|(s, kind, value, common)| (s.id, kind, value, common)).collect::<Vec<_>>()
    };
    let hit = |id: ReportId, kind: &str, value: &str, common: bool| (id, kind.to_owned(), value.to_owned(), common);

    assert_eq!(find(IndicatorQuery::Exact("203.0.113.5".into()), 10).await, [hit(r1, "ipv4", "203.0.113.5", false)]);
    assert_eq!(
        find(IndicatorQuery::Exact("192.168.1.10".into()), 10).await,
        [hit(r1, "ipv4", "192.168.1.10", true)],
        "common values are searchable, and say so"
    );
    assert!(find(IndicatorQuery::Exact("203.0.113.6".into()), 10).await.is_empty());
    let ip = |s: &str| i64::from(u32::from(s.parse::<std::net::Ipv4Addr>().unwrap()));
    assert_eq!(
        find(IndicatorQuery::Ipv4Range(ip("203.0.113.0"), ip("203.0.113.255")), 10).await,
        [
            hit(r2, "ipv4", "203.0.113.77", false),
            hit(r2, "ipv4", "203.0.113.9", false),
            hit(r1, "ipv4", "203.0.113.5", false),
        ]
    );
    assert_eq!(
        find(IndicatorQuery::Ipv4Range(ip("203.0.113.0"), ip("203.0.113.8")), 10).await,
        [hit(r1, "ipv4", "203.0.113.5", false)]
    );
    assert_eq!(find(IndicatorQuery::Ipv4Range(ip("203.0.113.0"), ip("203.0.113.255")), 1).await.len(), 1, "limit");
    // A domain and its subdomains (stored lower-cased), not a longer label nor another tree.
    assert_eq!(
        find(IndicatorQuery::DomainTree("jp.example.evil.".into()), 10).await,
        [hit(r2, "domain", "WWW.Evil.Example.jp", false), hit(r1, "domain", "evil.example.jp", false),]
    );
    assert_eq!(find(IndicatorQuery::DomainTree("jp.example.".into()), 10).await.len(), 3);
    assert!(find(IndicatorQuery::DomainTree("jp.example.evil.www.x.".into()), 10).await.is_empty());
    let summary = &store.reports_by_indicator(&IndicatorQuery::Exact("198.51.100.1".into()), 1).await.unwrap()[0].0;
    assert_eq!((summary.id, summary.headline.as_str()), (r3, "三件目"));
}

async fn reports_sharing_an_uncommon_indicator_correlate_below_the_cap(store: &Store) {
    let mut r = Vec::new();
    for i in 0..5 {
        r.push(ingest_one(store, submission(&format!("相関 {i}"), None)).await.report_id);
    }
    let scanner = indicator("ipv4", "203.0.113.5", false);
    let wallet = indicator("btc", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", false);
    let internal = indicator("ipv4", "10.0.0.1", true);
    let index = |indicators: Vec<IndexedIndicator>| ReportIndex { indicators, ..Default::default() };
    store.index_report(r[0], &index(vec![scanner.clone(), wallet.clone(), internal.clone()])).await.unwrap();
    store.index_report(r[1], &index(vec![scanner.clone(), internal.clone()])).await.unwrap();
    store.index_report(r[2], &index(vec![wallet.clone()])).await.unwrap();
    store.index_report(r[3], &index(vec![internal.clone()])).await.unwrap();
    let correlated = |id: ReportId, cap: i64| async move {
        let c = store.correlations(id, cap).await.unwrap();
        c.into_iter().map(|c| (c.report, c.kind, c.value)).collect::<Vec<_>>()
    };
    let with = |id: ReportId, i: &IndexedIndicator| (id, i.kind.clone(), i.value.clone());
    assert_eq!(correlated(r[0], 50).await, [with(r[2], &wallet), with(r[1], &scanner)], "newest first, never 10.0.0.1");
    assert_eq!(correlated(r[1], 50).await, [with(r[0], &scanner)]);
    assert!(correlated(r[3], 50).await.is_empty(), "a common value correlates nothing");
    let c = store.correlations(r[1], 50).await.unwrap();
    assert_eq!(c[0].tracking_number, tracking(store, r[0]).await);

    // A value in more than `cap` reports is noise.
    store.index_report(r[4], &index(vec![scanner.clone()])).await.unwrap();
    assert_eq!(correlated(r[0], 3).await, [with(r[4], &scanner), with(r[2], &wallet), with(r[1], &scanner)]);
    assert_eq!(correlated(r[0], 2).await, [with(r[2], &wallet)], "the scanner is in three reports");
    // Re-indexing replaces the indicators.
    store.index_report(r[2], &index(vec![])).await.unwrap();
    assert!(correlated(r[0], 2).await.is_empty());
}

const NOTE: &str = "To recover your lost Database and avoid leaking it: Send us 0.05 Bitcoin (BTC) to our Bitcoin address and contact us by Email with your Server IP or Domain name and a Proof of Payment. Your Database is downloaded and backed up on our servers.";

async fn near_duplicates_share_lsh_bands_and_clusters_are_counted(store: &Store) {
    use todokede_analyse::similarity;
    let text_b = NOTE.replace("0.05", "0.07").replace("Email", "mail");
    let text_c = "SSH へのブルートフォース攻撃で管理者アカウントが乗っ取られ、踏み台として外部への攻撃に使われた。";
    let sig = |t: &str| similarity::signature(t).expect("long enough");
    let (sa, sb, sc) = (sig(NOTE), sig(&text_b), sig(text_c));
    assert!(similarity::similarity(&sa, &sb) >= similarity::CLUSTER_THRESHOLD);
    let with_sig = |s: &similarity::Signature, cluster: Option<(ReportId, f64)>| ReportIndex {
        signatures: vec![(0, similarity::to_bytes(s), similarity::band_keys(s).to_vec())],
        cluster,
        ..Default::default()
    };
    let r1 = report_at(store, "脅迫文 1", datetime!(2019-08-01 12:00 +9)).await;
    let r2 = report_at(store, "脅迫文 2", datetime!(2019-09-01 12:00 +9)).await;
    let r3 = report_at(store, "SSH", datetime!(2019-10-01 12:00 +9)).await;
    let r4 = report_at(store, "未索引", datetime!(2019-10-02 12:00 +9)).await;
    store.index_report(r1, &with_sig(&sa, None)).await.unwrap();
    assert_eq!(store.cluster_of(r1).await.unwrap(), Some((r1, 1.0)), "a report without a cluster starts its own");

    // r2 is not indexed yet: the analysis asks for its candidates first.
    let candidates = store.lsh_candidates(r2, &similarity::band_keys(&sb)).await.unwrap();
    assert_eq!(candidates.len(), 1);
    assert_eq!((candidates[0].report, candidates[0].cluster), (r1, r1));
    assert_eq!(similarity::from_bytes(&candidates[0].signature), Some(sa));
    let joined = similarity::similarity(&sa, &sb);
    store.index_report(r2, &with_sig(&sb, Some((r1, joined)))).await.unwrap();
    store.index_report(r3, &with_sig(&sc, None)).await.unwrap();
    assert!(store.lsh_candidates(r3, &similarity::band_keys(&sc)).await.unwrap().is_empty());
    let from_r1 = store.lsh_candidates(r1, &similarity::band_keys(&sa)).await.unwrap();
    assert_eq!(
        from_r1.iter().map(|c| (c.report, c.cluster)).collect::<Vec<_>>(),
        [(r2, r1)],
        "itself left out, each once"
    );

    assert_eq!(store.cluster_of(r2).await.unwrap(), Some((r1, joined)));
    assert_eq!(store.cluster_of(r4).await.unwrap(), None);
    assert_eq!(ids(&store.cluster_members(r1).await.unwrap()), [r1, r2]);
    assert_eq!(ids(&store.cluster_members(r3).await.unwrap()), [r3]);
    let clusters = store.clusters(10).await.unwrap();
    assert_eq!(clusters.len(), 1, "only clusters of more than one report");
    let c = &clusters[0];
    assert_eq!(
        (c.cluster, &c.tracking_number, c.members, c.latest),
        (r1, &tracking(store, r1).await, 2, datetime!(2019-09-01 12:00 +9))
    );
    // Indexed again without a cluster: on its own again.
    store.index_report(r2, &with_sig(&sb, None)).await.unwrap();
    assert!(store.clusters(10).await.unwrap().is_empty());
    assert_eq!(store.cluster_of(r2).await.unwrap(), Some((r2, 1.0)));
}

async fn facets_are_counted_per_period_and_list_their_reports_newest_first(store: &Store) {
    let same_day = datetime!(2019-08-10 12:00 +9);
    let r1 = report_at(store, "七月", datetime!(2019-07-10 12:00 +9)).await;
    let r2 = report_at(store, "八月 a", same_day).await;
    let r3 = report_at(store, "八月 b", same_day).await;
    let r4 = report_at(store, "一月", datetime!(2020-01-05 12:00 +9)).await;
    let facets = |f: &[&str]| ReportIndex { facets: f.iter().map(|s| s.to_string()).collect(), ..Default::default() };
    store.index_report(r1, &facets(&["indicator.ipv4", "cause.weak_credentials"])).await.unwrap();
    store.index_report(r2, &facets(&["cause.weak_credentials"])).await.unwrap();
    store.index_report(r3, &facets(&["cause.weak_credentials", "technique.T1110"])).await.unwrap();
    store.index_report(r4, &facets(&["cause.weak_credentials"])).await.unwrap();
    assert_eq!(
        store.facet_counts(H2_2019.0, H2_2019.1).await.unwrap(),
        [("cause.weak_credentials".to_owned(), 3), ("indicator.ipv4".to_owned(), 1), ("technique.T1110".to_owned(), 1)]
    );
    let (from, to) = H2_2019;
    assert_eq!(ids(&store.reports_with_facet("cause.weak_credentials", from, to, 10).await.unwrap()), [r3, r2, r1]);
    assert_eq!(ids(&store.reports_with_facet("cause.weak_credentials", from, to, 1).await.unwrap()), [r3]);
    assert!(store.reports_with_facet("indicator.ipv4", to, to + Duration::days(180), 10).await.unwrap().is_empty());
    assert_eq!(
        ids(&store.reports_with_facet("cause.weak_credentials", to, to + Duration::days(180), 10).await.unwrap()),
        [r4]
    );
}

async fn a_bulk_load_stores_reports_with_their_index(store: &Store) {
    let earlier = ingest_one(store, submission("通常の届出", None)).await.report_id;
    let generated = |i: usize| BulkReport {
        received_at: datetime!(2019-08-01 12:00 +9) + Duration::days(i as i64),
        reporter_kind: Some(ReporterKind::Company),
        description: format!("生成された届出 {i}: 第{i}拠点の機器"),
        index: ReportIndex {
            indicators: vec![indicator("ipv4", &format!("198.51.100.{i}"), false)],
            search_body: format!("生成された届出 {i}: 第{i}拠点の機器"),
            facets: vec!["cause.weak_credentials".into()],
            ..Default::default()
        },
    };
    let loaded = store.bulk_load(&[generated(1), generated(2), generated(3)]).await.unwrap();
    assert_eq!(loaded.len(), 3);
    let mut all = vec![earlier];
    all.extend(&loaded);
    assert_eq!(store.all_report_ids().await.unwrap(), all);
    let r = store.report(loaded[1]).await.unwrap().unwrap();
    assert_eq!(
        (r.content.description.as_str(), r.channel, r.state),
        ("生成された届出 2: 第2拠点の機器", Channel::Import, ReportState::Received)
    );
    assert_eq!(r.received_at, datetime!(2019-08-03 12:00 +9));
    let q = SearchQuery { terms: vec!["第2拠点".into()], ..Default::default() };
    assert_eq!(ids(&store.search(&q).await.unwrap()), [loaded[1]]);
    let hits = store.reports_by_indicator(&IndicatorQuery::Exact("198.51.100.3".into()), 10).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.0.id).collect::<Vec<_>>(), [loaded[2]]);
    assert_eq!(store.facet_counts(H2_2019.0, H2_2019.1).await.unwrap(), [("cause.weak_credentials".to_owned(), 3)]);
    let by_kind = ReportFilter { reporter_kind: Some(ReporterKind::Company), limit: 10, ..Default::default() };
    assert_eq!(ids(&store.list_reports(&by_kind).await.unwrap()), loaded);
    assert!(store.bulk_load(&[]).await.unwrap().is_empty());
    let integrity = store.check_integrity().await.unwrap();
    assert_eq!(integrity.reports, 4);
    assert!(integrity.problems.is_empty(), "{:?}", integrity.problems);
}

async fn the_integrity_check_counts_what_is_stored(store: &Store) {
    assert_eq!(
        store.check_integrity().await.unwrap(),
        IntegrityReport { reports: 0, dedup_keys: 0, blobs: 0, problems: vec![] }
    );
    let same = Attachment::new("a.log", "text/plain", b"the same bytes".to_vec());
    let mut a = submission("一件目", Some(DedupKey::IdempotencyKey("one".into())));
    a.attachments = vec![same.clone()];
    let mut b = submission("二件目", None);
    b.attachments = vec![same.clone(), Attachment::new("b.log", "text/plain", b"other bytes".to_vec())];
    store.ingest_batch(&[a, b]).await.unwrap();
    // Two raw inputs and two distinct attachments: content-addressed, the shared one stored once.
    assert_eq!(
        store.check_integrity().await.unwrap(),
        IntegrityReport { reports: 2, dedup_keys: 1, blobs: 4, problems: vec![] }
    );
}

// ── limits ──────────────────────────────────────────────────────────────────────────────

async fn concurrent_limit_hits_are_each_counted_and_ended_windows_evicted(store: &Store) {
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move { s.limit_hit("login:a@x|10.0.0.1", Duration::minutes(15)).await.unwrap() })
        })
        .collect();
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.unwrap());
    }
    counts.sort();
    assert_eq!(counts, (1..=24).collect::<Vec<i64>>(), "every hit its own count");
    assert_eq!(store.limit_count("login:a@x|10.0.0.1").await.unwrap(), 24);
    store.limit_undo("login:a@x|10.0.0.1", false).await.unwrap();
    assert_eq!(store.limit_count("login:a@x|10.0.0.1").await.unwrap(), 23);
    assert_eq!(store.limit_count("never-hit").await.unwrap(), 0);
    // A batch of hits in one transaction: each counted, in the order given.
    let batch = [("b", Duration::minutes(1)), ("a", Duration::minutes(1)), ("b", Duration::minutes(1))];
    let batch: Vec<(String, Duration)> = batch.iter().map(|(k, w)| (format!("batch:{k}"), *w)).collect();
    assert_eq!(store.limit_hits(&batch).await.unwrap(), [1, 1, 2]);
    assert_eq!(store.limit_hits(&[]).await.unwrap(), Vec::<i64>::new());

    // A window that ended starts again at 1, and the sweep deletes it.
    assert_eq!(store.limit_hit("short", Duration::milliseconds(300)).await.unwrap(), 1);
    assert_eq!(store.limit_hit("short", Duration::milliseconds(300)).await.unwrap(), 2);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(store.limit_count("short").await.unwrap(), 0);
    assert_eq!(store.evict_limits().await.unwrap(), 1, "only the ended window");
    assert_eq!(store.limit_hit("short", Duration::milliseconds(300)).await.unwrap(), 1);
    store.limit_undo("login:a@x|10.0.0.1", true).await.unwrap();
    assert_eq!(store.limit_count("login:a@x|10.0.0.1").await.unwrap(), 0);
}

// ── without a database ──────────────────────────────────────────────────────────────────

#[tokio::test]
async fn a_bad_url_is_a_clear_error() {
    assert!(matches!(Store::open("mysql://x").await, Err(StoreError::BadUrl(_))));
    assert!(matches!(Store::open("sqlite:///tmp/x.db?cache_mb=5").await, Err(StoreError::BadUrl(_))));
    let e = Store::open("postgres://nobody@127.0.0.1:1/none").await.err().expect("refused");
    assert!(matches!(e, StoreError::Unavailable(_)), "{e}");
}

#[test]
fn only_sqlite_urls_name_a_database_file() {
    let file = |url: &str| Store::sqlite_file(url).map(|p| p.display().to_string());
    assert_eq!(file("sqlite://./todokede-data/todokede.db").as_deref(), Some("./todokede-data/todokede.db"));
    assert_eq!(file("sqlite:/var/lib/t.db?busy_timeout_ms=100").as_deref(), Some("/var/lib/t.db"));
    assert_eq!(file("sqlite::memory:"), None);
    assert_eq!(file("postgres://postgres@127.0.0.1/todokede"), None);
}

async fn a_sharing_approval_is_replaced_withdrawn_and_raises_the_version(store: &Store) {
    let analyst = store.create_user("s@ipa.example", Role::Analyst, "h").await.unwrap();
    let r = store.ingest_batch(&[submission("共有する届出", None)]).await.unwrap().remove(0).unwrap();
    let v0 = store.report(r.report_id).await.unwrap().unwrap().version;
    store.approve_sharing(r.report_id, "green", analyst).await.unwrap();
    store.approve_sharing(r.report_id, "amber+strict", analyst).await.unwrap();
    let shared = store.shared_reports().await.unwrap();
    assert_eq!(shared.len(), 1);
    assert_eq!(
        (shared[0].report, shared[0].tlp.as_str(), shared[0].approved_by),
        (r.report_id, "amber+strict", analyst)
    );
    assert_eq!(store.report(r.report_id).await.unwrap().unwrap().version, v0 + 2, "each approval is a change");
    assert!(store.approve_sharing(r.report_id, "purple", analyst).await.is_err(), "only TLP 2.0 levels");
    assert!(matches!(store.approve_sharing(NO_REPORT, "red", analyst).await, Err(StoreError::NotFound)));
    assert!(store.withdraw_sharing(r.report_id, analyst).await.unwrap());
    assert!(!store.withdraw_sharing(r.report_id, analyst).await.unwrap());
    assert!(store.shared_reports().await.unwrap().is_empty());
    // The version guard: a write naming an old version fails and changes nothing.
    let v = store.report(r.report_id).await.unwrap().unwrap().version;
    let stale = store.add_note(r.report_id, analyst, "x", Some(v - 1)).await.unwrap_err();
    assert!(matches!(stale, StoreError::VersionMismatch(now) if now == v), "{stale}");
    store.add_note(r.report_id, analyst, "y", Some(v)).await.unwrap();
    assert_eq!(store.report(r.report_id).await.unwrap().unwrap().timeline.len(), 1);
    let log = store.audit_log(10).await.unwrap();
    assert!(log.iter().any(|e| e.action == "report.share" && e.detail.as_deref() == Some("amber+strict")));
    assert!(log.iter().any(|e| e.action == "report.unshare"));
}

fn taxii_object(collection: &str, id: &str, content: &str, version: Option<&str>) -> TaxiiObject {
    TaxiiObject {
        collection: collection.into(),
        id: id.into(),
        object_type: id.split("--").next().unwrap().into(),
        version: version.map(str::to_owned),
        content_hash: format!("hash of {content}"),
        content: content.into(),
    }
}

async fn taxii_objects_keep_date_added_while_unchanged_and_page_by_date_and_id(store: &Store) {
    // The fingerprint moves with approvals, versions and analyses of shared reports.
    let analyst = store.create_user("t@ipa.example", Role::Analyst, "h").await.unwrap();
    let r = store.ingest_batch(&[submission("TAXII の届出", None)]).await.unwrap().remove(0).unwrap();
    let f0 = store.sharing_fingerprint().await.unwrap();
    store.approve_sharing(r.report_id, "green", analyst).await.unwrap();
    let f1 = store.sharing_fingerprint().await.unwrap();
    store.add_note(r.report_id, analyst, "内部メモ", None).await.unwrap();
    let f2 = store.sharing_fingerprint().await.unwrap();
    store.save_analysis(r.report_id, "t", "{}", None).await.unwrap();
    let f3 = store.sharing_fingerprint().await.unwrap();
    assert_eq!(store.sharing_fingerprint().await.unwrap(), f3, "stable while nothing changes");
    assert_eq!(std::collections::BTreeSet::from([&f0, &f1, &f2, &f3]).len(), 4, "{f0} {f1} {f2} {f3}");

    // Stamps: one per shared report, moving with its version and analysis.
    let stamps = store.sharing_stamps().await.unwrap();
    assert_eq!(stamps.len(), 1);
    assert_eq!((stamps[0].report, stamps[0].tlp.as_str()), (r.report_id, "green"));
    assert!(stamps[0].version >= 3 && stamps[0].analysed_at.is_some(), "{stamps:?}");

    let s0 = store.taxii_state().await.unwrap();
    assert_eq!(s0.fingerprint, "");
    // 300 objects at one date_added: pages of 7 by the (date_added, id) cursor, each once.
    let t0 = datetime!(2026-12-06 21:00:00.123456 UTC);
    let first: Vec<TaxiiObject> = (0..300)
        .map(|i| {
            taxii_object(
                "green",
                &format!("indicator--{i:04}"),
                &format!("{{\"n\":{i}}}"),
                Some("2026-01-01T00:00:00.000Z"),
            )
        })
        .chain([taxii_object("clear", "ipv4-addr--a", "{}", None)])
        .collect();
    let changes = |generation, fingerprint: &str, delete: Vec<(String, String)>, insert: Vec<TaxiiObject>| {
        TaxiiChanges { generation, fingerprint: fingerprint.into(), delete, insert }
    };
    let g1 = store.taxii_apply(&changes(s0.generation, "fp1", vec![], first.clone()), t0).await.unwrap().unwrap();
    assert!(g1 > s0.generation);
    assert_eq!(
        store.taxii_apply(&changes(s0.generation, "fp1", vec![], first.clone()), t0).await.unwrap(),
        None,
        "another writer came first: nothing written"
    );
    assert_eq!(store.taxii_state().await.unwrap(), TaxiiState { generation: g1, fingerprint: "fp1".into() });
    let (state, stored) = store.taxii_stored().await.unwrap();
    assert_eq!(state.generation, g1);
    assert_eq!(stored.len(), 301);
    assert_eq!(
        stored[0],
        TaxiiStored { collection: "clear".into(), id: "ipv4-addr--a".into(), content_hash: "hash of {}".into() }
    );
    let page = |after: Option<(String, String)>, limit| TaxiiQuery {
        collection: "green".into(),
        after,
        limit,
        ..TaxiiQuery::default()
    };
    let (mut seen, mut after) = (Vec::new(), None);
    loop {
        let rows = store.taxii_objects(&page(after.clone(), 7)).await.unwrap();
        if rows.is_empty() {
            break;
        }
        after = rows.last().map(|r| (r.date_added.clone(), r.id.clone()));
        seen.extend(rows);
    }
    assert_eq!(seen.len(), 300);
    assert!(seen.iter().all(|r| r.date_added == "2026-12-06T21:00:00.123Z"), "milliseconds, UTC");
    let ids: std::collections::BTreeSet<&str> = seen.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), 300, "none twice");
    let clear = TaxiiQuery { collection: "clear".into(), limit: 10, ..TaxiiQuery::default() };
    let sco = store.taxii_objects(&clear).await.unwrap();
    assert_eq!((sco.len(), sco[0].version.as_str()), (1, "2026-12-06T21:00:00.123Z"), "unversioned: date_added");

    // A write at an earlier clock: one changed, one gone, one new, one moved; the rest untouched.
    let second = changes(
        g1,
        "fp2",
        vec![
            ("green".into(), "indicator--0000".into()),
            ("green".into(), "indicator--0001".into()),
            ("clear".into(), "ipv4-addr--a".into()),
        ],
        vec![
            taxii_object("green", "indicator--0001", "{\"changed\":1}", Some("2026-02-01T00:00:00.000Z")),
            taxii_object("green", "indicator--new", "{}", Some("2026-02-01T00:00:00.000Z")),
            taxii_object("green", "ipv4-addr--a", "{}", None),
        ],
    );
    let g2 = store.taxii_apply(&second, t0 - Duration::hours(1)).await.unwrap().unwrap();
    let all = store.taxii_objects(&page(None, 1000)).await.unwrap();
    assert_eq!(all.len(), 301);
    assert!(!all.iter().any(|r| r.id == "indicator--0000"), "gone");
    assert!(store.taxii_objects(&clear).await.unwrap().is_empty(), "moved out of clear");
    let later: Vec<&TaxiiRow> = all.iter().filter(|r| r.date_added == "2026-12-06T21:00:00.124Z").collect();
    assert_eq!(
        later.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["indicator--0001", "indicator--new", "ipv4-addr--a"]
    );
    assert_eq!(later[0].content, "{\"changed\":1}");
    assert_eq!(&all[..298], &seen[2..], "unchanged rows keep their date_added, in order before the new ones");
    assert!(all.iter().all(|r| r.date_added.len() == 24));
    // Filters: added_after (with and without a cursor), types, ids, versions.
    let q = |f: &dyn Fn(&mut TaxiiQuery)| {
        let mut q = page(None, 1000);
        f(&mut q);
        q
    };
    let n = |q: TaxiiQuery| async move { store.taxii_objects(&q).await.unwrap().len() };
    assert_eq!(n(q(&|q| q.added_after = Some("2026-12-06T21:00:00.123Z".into()))).await, 3);
    let cursor = Some(("2026-12-06T21:00:00.124Z".to_owned(), "indicator--0001".to_owned()));
    assert_eq!(
        n(q(&|q| {
            q.added_after = Some("2026-12-06T21:00:00.123Z".into());
            q.after = cursor.clone();
        }))
        .await,
        2
    );
    assert_eq!(n(q(&|q| q.types = vec!["indicator".into(), "url".into()])).await, 300);
    assert_eq!(n(q(&|q| q.types = vec!["url".into()])).await, 0);
    assert_eq!(n(q(&|q| q.ids = vec!["indicator--0005".into(), "indicator--new".into()])).await, 2);
    assert_eq!(n(q(&|q| q.versions = vec!["2026-02-01T00:00:00.000Z".into()])).await, 2);
    // A write that fails (an object twice) changes nothing.
    let twice = changes(g2, "fp3", vec![], vec![first[1].clone(), first[1].clone()]);
    assert!(store.taxii_apply(&twice, t0).await.is_err());
    assert_eq!(store.taxii_state().await.unwrap(), TaxiiState { generation: g2, fingerprint: "fp2".into() });
    assert_eq!(store.taxii_objects(&page(None, 1000)).await.unwrap(), all);
    // A large object (the report naming every other) is written whole.
    let big = format!("{{\"object_refs\":[{}]}}", vec!["\"indicator--0000-é\""; 30_000].join(","));
    let write = changes(g2, "fp4", vec![], vec![taxii_object("green", "report--big", &big, None)]);
    store.taxii_apply(&write, t0).await.unwrap().unwrap();
    let got = store.taxii_objects(&q(&|q| q.ids = vec!["report--big".into()])).await.unwrap();
    assert_eq!((got.len(), got[0].content == big, got[0].version.len()), (1, true, 24));
}

/// Coverage stays whole: every public method of `Store` (src/lib.rs) is called by this suite.
async fn api_tokens_are_found_by_hash_revoked_once_and_every_use_audited(store: &Store) {
    let a = store.create_user("a@ipa.example", Role::Analyst, "h").await.unwrap();
    let b = store.create_user("b@ipa.example", Role::Admin, "h").await.unwrap();
    let new = |user, hash: &str, expires_at| NewApiToken {
        user,
        name: "script".into(),
        scopes: "read,export".into(),
        token_hash: hash.into(),
        prefix: "tdk_abcdef".into(),
        expires_at,
    };
    let now = OffsetDateTime::now_utc();
    let t1 = store.create_api_token(&new(a, "hash-1", now + Duration::days(1)), a).await.unwrap();
    let t2 = store.create_api_token(&new(b, "hash-2", now - Duration::seconds(1)), b).await.unwrap();
    let dup = store.create_api_token(&new(b, "hash-1", now + Duration::days(1)), b).await.unwrap_err();
    assert!(matches!(dup, StoreError::Duplicate(_)), "one hash, one token: {dup}");
    let all = store.api_tokens(None).await.unwrap();
    assert_eq!(all.iter().map(|t| t.id).collect::<Vec<_>>(), [t1, t2]);
    let mine = store.api_tokens(Some(a)).await.unwrap();
    assert_eq!((mine.len(), mine[0].email.as_str(), mine[0].scopes.as_str()), (1, "a@ipa.example", "read,export"));
    assert_eq!(mine[0].expires_at.unix_timestamp(), (now + Duration::days(1)).unix_timestamp());

    let (t, state) = store.use_api_token("hash-1", "GET /x").await.unwrap().unwrap();
    assert_eq!((t.id, state), (t1, TokenState::Active));
    assert!(store.api_tokens(Some(a)).await.unwrap()[0].last_used_at.is_some());
    assert_eq!(store.use_api_token("hash-2", "GET /y").await.unwrap().unwrap().1, TokenState::Expired);
    assert!(store.use_api_token("hash-3", "GET /z").await.unwrap().is_none());

    assert!(!store.revoke_api_token(t1, Some(b), b).await.unwrap(), "only the owner's, when an owner is given");
    assert!(store.revoke_api_token(t1, Some(a), a).await.unwrap());
    assert!(!store.revoke_api_token(t1, None, b).await.unwrap(), "revoked once");
    assert_eq!(store.use_api_token("hash-1", "GET /x").await.unwrap().unwrap().1, TokenState::Revoked);
    store.create_api_token(&new(b, "hash-4", now + Duration::days(1)), b).await.unwrap();
    store.set_user_disabled(b, true, Some(a)).await.unwrap();
    assert_eq!(store.use_api_token("hash-4", "GET /x").await.unwrap().unwrap().1, TokenState::OwnerDisabled);

    let log = store.audit_log(100).await.unwrap();
    let actions: Vec<(&str, Option<&str>)> = log
        .iter()
        .filter(|e| e.action.starts_with("api"))
        .map(|e| (e.action.as_str(), e.detail.as_deref()))
        .rev()
        .collect();
    assert_eq!(
        actions[2..6],
        [
            ("api.use", Some("GET /x")),
            ("api.refused", Some("expired: GET /y")),
            ("api_token.revoke", None),
            ("api.refused", Some("revoked: GET /x")),
        ][..],
        "{actions:?}"
    );
    assert_eq!(actions.last().unwrap(), &("api.refused", Some("account disabled: GET /x")));
}

#[test]
fn every_public_method_of_store_is_exercised() {
    let lib = include_str!("../src/lib.rs");
    let suite = include_str!("behaviour.rs");
    let body = &lib[lib.find("impl Store {").expect("impl Store in lib.rs")..];
    let methods: Vec<&str> = body
        .split("pub ")
        .skip(1)
        .filter_map(|s| s.strip_prefix("async fn ").or_else(|| s.strip_prefix("fn ")))
        .map(|s| s.split(['(', '<']).next().unwrap_or("").trim())
        .collect();
    assert!(methods.len() >= 70, "the parse found only {methods:?}");
    let missing: Vec<&&str> = methods
        .iter()
        .filter(|m| !suite.contains(&format!(".{m}(")) && !suite.contains(&format!("Store::{m}(")))
        .collect();
    assert!(
        missing.is_empty(),
        "Store methods no behaviour here calls (add one, it runs on both backends): {missing:?}"
    );
}

async fn claims_given_back_are_taken_at_once_and_the_queues_are_counted(store: &Store) {
    assert_eq!(store.queue_counts().await.unwrap(), QueueCounts::default());
    let before = OffsetDateTime::now_utc() - Duration::seconds(1);
    let r = ingest_one(store, submission("キューの数", None)).await;
    ingest_one(store, submission("キューの数 2", None)).await;
    let lease = Duration::minutes(5);
    let jobs = store.claim_jobs(10, lease).await.unwrap();
    assert_eq!(jobs.len(), 2);
    assert!(store.claim_jobs(10, lease).await.unwrap().is_empty(), "leased");
    // A worker that stops gives the second back unstarted: claimable now, not in five minutes.
    store.finish_job(jobs[0].id, None).await.unwrap();
    store.release_jobs(&[jobs[1].id, jobs[0].id]).await.unwrap();
    let again = store.claim_jobs(10, lease).await.unwrap();
    assert_eq!(again.iter().map(|j| j.id).collect::<Vec<_>>(), [jobs[1].id], "a done job stays done");
    let q = store.queue_counts().await.unwrap();
    assert_eq!((q.jobs_queued, q.jobs_failed, q.reports, q.jobs_done, q.jobs_done_attempts), (1, 0, 2, 1, 1));
    assert!(q.oldest_queued_job.unwrap() > before);
    for _ in 0..5 {
        store.finish_job(jobs[1].id, Some("broken")).await.unwrap();
    }
    let q = store.queue_counts().await.unwrap();
    assert_eq!((q.jobs_queued, q.jobs_failed, q.oldest_queued_job), (0, 1, None));

    store
        .enqueue_mails(&[mail(r.report_id, "rel-1@ipa.example"), mail(r.report_id, "rel-2@ipa.example")])
        .await
        .unwrap();
    let claimed = store.claim_mail(10, lease).await.unwrap();
    assert_eq!(claimed.len(), 2);
    store.mail_sent(claimed[0].id).await.unwrap();
    store.release_mail(&claimed.iter().map(|m| m.id).collect::<Vec<_>>()).await.unwrap();
    let again = store.claim_mail(10, lease).await.unwrap();
    assert_eq!(again.iter().map(|m| m.id).collect::<Vec<_>>(), [claimed[1].id], "a sent mail stays sent");
}

async fn the_schema_is_complete_and_an_sqlite_backup_is_a_sound_copy(store: &Store) {
    let schema = store.schema_status().await.unwrap();
    assert!(schema.ready() && schema.missing.is_empty() && schema.expected.len() >= 12, "{schema:?}");
    let r = ingest_one(store, submission("バックアップされる届出", None)).await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    match store.backend_name() {
        "sqlite" => {
            store.backup_into(&copy).await.unwrap();
            assert!(store.backup_into(&copy).await.is_err(), "never over an existing file");
            let restored = Store::open(&format!("sqlite://{}", copy.display())).await.unwrap();
            assert!(restored.check_integrity().await.unwrap().problems.is_empty());
            let back = restored.report(r.report_id).await.unwrap().unwrap();
            assert_eq!(back.tracking_number, r.tracking_number);
            restored.close().await.unwrap();
            assert!(!dir.path().join("copy.db-wal").exists(), "closing checkpoints the WAL away");
        }
        _ => {
            let e = store.backup_into(&copy).await.unwrap_err();
            assert!(matches!(e, StoreError::Unsupported(_)) && e.to_string().contains("pg_dump"), "{e}");
            assert!(!copy.exists());
        }
    }
}

fn entry(kind: &str, value: &str, source_id: &str) -> NewWatchlistEntry {
    NewWatchlistEntry { kind: kind.into(), value: value.into(), source_id: source_id.into(), valid_until: None }
}

fn list_import(name: &str, kind: WatchlistKind, sources: Vec<(&str, Vec<NewWatchlistEntry>)>) -> WatchlistImport {
    WatchlistImport {
        name: name.into(),
        kind,
        description: Some("テスト".into()),
        tlp: Some("amber".into()),
        sources: sources.into_iter().map(|(f, e)| (f.to_owned(), e)).collect(),
    }
}

async fn watch_lists_hit_reports_by_value_range_and_domain_and_a_re_import_replaces_its_file(store: &Store) {
    let by = new_analyst(store, "lists@ipa.example").await;
    let r1 = ingest_one(store, submission("ウォッチ 1", None)).await.report_id;
    let r2 = ingest_one(store, submission("ウォッチ 2", None)).await.report_id;
    let r3 = ingest_one(store, submission("ウォッチ 3", None)).await.report_id;
    let index = |indicators: Vec<IndexedIndicator>| ReportIndex { indicators, ..Default::default() };
    store
        .index_report(
            r1,
            &index(vec![indicator("ipv4", "223.167.4.5", false), indicator("domain", "www.hugesoft.org", false)]),
        )
        .await
        .unwrap();
    store.index_report(r2, &index(vec![indicator("md5", "001dd76872d80801692ff942308c64e6", false)])).await.unwrap();
    // Internal or context values never hit, nor a longer label than the listed domain.
    store
        .index_report(
            r3,
            &index(vec![indicator("ipv4", "223.166.0.1", true), indicator("domain", "nothugesoft.org", false)]),
        )
        .await
        .unwrap();

    let apt1 = vec![
        entry("cidr", "223.166.0.0/15", "indicator--031778a4"),
        entry("domain", "hugesoft.org", "indicator--3f3ff9f1"),
        entry("md5", "001dd76872d80801692ff942308c64e6", "indicator--8d12f44f"),
    ];
    let done = store
        .import_watchlist(&list_import("APT1", WatchlistKind::Watch, vec![("apt1.json", apt1.clone())]), Some(by))
        .await
        .unwrap();
    assert_eq!((done.inserted, done.replaced, done.entries, done.reports_hit), (3, 0, 3, 2));
    let hits = store.watch_hits(r1).await.unwrap();
    let seen: Vec<(&str, &str, &str)> =
        hits.iter().map(|h| (h.list.as_str(), h.indicator_value.as_str(), h.entry.value.as_str())).collect();
    assert_eq!(seen, [("APT1", "www.hugesoft.org", "hugesoft.org"), ("APT1", "223.167.4.5", "223.166.0.0/15")]);
    assert_eq!(hits[0].entry.source_id, "indicator--3f3ff9f1");
    assert_eq!(hits[0].entry.imported_by.as_deref(), Some("lists@ipa.example"));
    assert!(store.watch_hits(r3).await.unwrap().is_empty(), "internal values and other domains do not hit");

    // The queue's marker and filter.
    let marked = store.list_reports(&ReportFilter { watch_hit: true, limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(marked.iter().map(|r| r.id).collect::<Vec<_>>(), [r1, r2]);
    assert!(marked.iter().all(|r| r.watch_hit));
    let all = store.list_reports(&ReportFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert!(!all.iter().find(|r| r.id == r3).unwrap().watch_hit);

    // A report indexed after the import is matched at once.
    let r4 = ingest_one(store, submission("ウォッチ 4", None)).await.report_id;
    store.index_report(r4, &index(vec![indicator("domain", "mail.hugesoft.org", false)])).await.unwrap();
    assert_eq!(store.watch_hits(r4).await.unwrap().len(), 1);

    // The same file again: the same entries, no duplicates; another file adds to the list.
    let again = store
        .import_watchlist(&list_import("APT1", WatchlistKind::Watch, vec![("apt1.json", apt1)]), Some(by))
        .await
        .unwrap();
    assert_eq!((again.inserted, again.replaced, again.entries, again.reports_hit), (3, 3, 3, 3));
    let more = store
        .import_watchlist(
            &list_import(
                "APT1",
                WatchlistKind::Watch,
                vec![("extra.json", vec![entry("url", "http://x.example/a", "u1")])],
            ),
            None,
        )
        .await
        .unwrap();
    assert_eq!((more.inserted, more.entries), (1, 4));
    // A file re-imported with fewer values drops the rest.
    let fewer = store
        .import_watchlist(
            &list_import(
                "APT1",
                WatchlistKind::Watch,
                vec![("apt1.json", vec![entry("md5", "001dd76872d80801692ff942308c64e6", "indicator--8d12f44f")])],
            ),
            Some(by),
        )
        .await
        .unwrap();
    assert_eq!((fewer.replaced, fewer.entries, fewer.reports_hit), (3, 2, 1));
    assert!(store.watch_hits(r1).await.unwrap().is_empty());
    // A list keeps its kind.
    assert!(matches!(
        store.import_watchlist(&list_import("APT1", WatchlistKind::Warning, vec![]), None).await,
        Err(StoreError::Duplicate(_))
    ));

    let lists = store.watchlists().await.unwrap();
    assert_eq!(lists.len(), 1);
    let l = &lists[0];
    assert_eq!((l.name.as_str(), l.kind, l.entries, l.sources, l.reports_hit), ("APT1", WatchlistKind::Watch, 2, 2, 1));
    assert_eq!(
        (l.description.as_str(), l.tlp.as_deref(), l.updated_by.as_deref()),
        ("テスト", Some("amber"), Some("lists@ipa.example"))
    );
    assert_eq!(store.watchlist("APT1").await.unwrap().unwrap().id, l.id);
    assert!(store.watchlist("none").await.unwrap().is_none());
    let entries = store.watchlist_entries(l.id, 10).await.unwrap();
    assert_eq!(
        entries.iter().map(|e| (e.kind.as_str(), e.value.as_str(), e.source_file.as_str())).collect::<Vec<_>>(),
        [("md5", "001dd76872d80801692ff942308c64e6", "apt1.json"), ("url", "http://x.example/a", "extra.json")]
    );

    // What a search for an indicator finds on the lists: the value, a range holding it, a
    // domain above it.
    store
        .import_watchlist(
            &list_import(
                "Ranges",
                WatchlistKind::Watch,
                vec![("r.json", vec![entry("cidr", "223.166.0.0/15", "a"), entry("domain", "hugesoft.org", "b")])],
            ),
            None,
        )
        .await
        .unwrap();
    let now = OffsetDateTime::now_utc();
    let found = |q: IndicatorQuery| async move {
        store.watchlist_matches(&q, now).await.unwrap().into_iter().map(|h| h.entry.value).collect::<Vec<_>>()
    };
    assert_eq!(found(IndicatorQuery::Exact("223.167.255.1".into())).await, ["223.166.0.0/15"]);
    assert_eq!(found(IndicatorQuery::Exact("001dd76872d80801692ff942308c64e6".into())).await.len(), 1);
    let ip = |s: &str| i64::from(u32::from(s.parse::<std::net::Ipv4Addr>().unwrap()));
    assert_eq!(found(IndicatorQuery::Ipv4Range(ip("223.166.1.0"), ip("223.166.1.255"))).await, ["223.166.0.0/15"]);
    assert_eq!(found(IndicatorQuery::DomainTree("org.hugesoft.www.".into())).await, ["hugesoft.org"]);
    assert_eq!(found(IndicatorQuery::DomainTree("org.".into())).await, ["hugesoft.org"], "under the searched tree");
    assert!(found(IndicatorQuery::DomainTree("org.nothugesoft.".into())).await.is_empty());

    assert!(store.remove_watchlist("APT1", Some(by)).await.unwrap());
    assert!(!store.remove_watchlist("APT1", Some(by)).await.unwrap());
    assert!(store.watch_hits(r2).await.unwrap().is_empty());
    let actions: Vec<String> = store
        .audit_log(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action.starts_with("watchlist."))
        .map(|a| a.action)
        .collect();
    assert_eq!(actions.iter().filter(|a| *a == "watchlist.import").count(), 5);
    assert_eq!(actions.iter().filter(|a| *a == "watchlist.remove").count(), 1);
}

async fn a_warning_listed_value_links_no_reports_and_expired_entries_stop_hitting(store: &Store) {
    let r1 = ingest_one(store, submission("警告 1", None)).await.report_id;
    let r2 = ingest_one(store, submission("警告 2", None)).await.report_id;
    let index = |indicators: Vec<IndexedIndicator>| ReportIndex { indicators, ..Default::default() };
    let resolver = indicator("ipv4", "45.33.32.156", false);
    let wallet = indicator("btc", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", false);
    store.index_report(r1, &index(vec![resolver.clone(), wallet.clone()])).await.unwrap();
    store.index_report(r2, &index(vec![resolver.clone()])).await.unwrap();
    let linked = |id: ReportId| async move {
        store.correlations(id, 50).await.unwrap().into_iter().map(|c| c.value).collect::<Vec<_>>()
    };
    assert_eq!(linked(r2).await, ["45.33.32.156"]);
    let noise = list_import(
        "Scanners",
        WatchlistKind::Warning,
        vec![("scanners.json", vec![entry("ipv4", "45.33.32.156", "s1")])],
    );
    let done = store.import_watchlist(&noise, None).await.unwrap();
    assert_eq!(done.reports_hit, 2);
    assert!(linked(r2).await.is_empty(), "a warning-listed value links nothing");
    assert!(linked(r1).await.is_empty());
    assert!(
        store
            .list_reports(&ReportFilter { watch_hit: true, limit: 10, ..Default::default() })
            .await
            .unwrap()
            .is_empty(),
        "a warning list is no watch hit"
    );
    assert_eq!(store.watch_hits(r1).await.unwrap()[0].list_kind, WatchlistKind::Warning);
    assert!(store.remove_watchlist("Scanners", None).await.unwrap());
    assert_eq!(linked(r2).await, ["45.33.32.156"], "the link is back without the list");

    // An entry past its valid_until hits nothing new, and the housekeeping drops its hits.
    let soon = OffsetDateTime::now_utc() + Duration::seconds(2);
    let expiring = NewWatchlistEntry { valid_until: Some(soon), ..entry("ipv4", "45.33.32.156", "w1") };
    let expired = NewWatchlistEntry {
        valid_until: Some(OffsetDateTime::now_utc() - Duration::days(1)),
        ..entry("btc", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "w2")
    };
    store
        .import_watchlist(
            &list_import("Expiring", WatchlistKind::Watch, vec![("e.json", vec![expiring, expired])]),
            None,
        )
        .await
        .unwrap();
    let hits = store.watch_hits(r1).await.unwrap();
    assert_eq!(
        hits.iter().map(|h| h.indicator_value.as_str()).collect::<Vec<_>>(),
        ["45.33.32.156"],
        "not the expired one"
    );
    assert_eq!(hits[0].entry.valid_until.map(|t| t.unix_timestamp()), Some(soon.unix_timestamp()));
    assert_eq!(store.expire_watch_hits(OffsetDateTime::now_utc()).await.unwrap(), 0);
    assert_eq!(store.expire_watch_hits(soon + Duration::seconds(1)).await.unwrap(), 2);
    assert!(store.watch_hits(r1).await.unwrap().is_empty());
}
