//! Storage for todokede: one [`Store`] with two real backends, chosen at run time from the URL —
//! `sqlite://path` (the embedded default, WAL + `synchronous=FULL`) or `postgres://…`.
//!
//! Both backends run the same SQL text (`$1` placeholders work on SQLite too), written once in
//! `src/sql/` — one module per area (intake, reports, mail, classification, publication,
//! crossref, accounts, jobs, limits, tokens, sharing, desk, watchlists) plus `rows` (row decoding, shared writes) — and compiled once per
//! backend: `sqlite.rs` and `postgres.rs` each include every area as a `#[path]` submodule.
//! What an area needs from its backend is written as its imports: `Db` (the sqlx database),
//! `Store` (the backend's store: `pool`, `begin_write`) and `dialect` (the few statements that
//! differ: job claiming, full-text search, the LSH band insert). Only connection set-up,
//! migrations and the dialect live in the backend files. This is the only crate with SQL.

/// The columns of a [`ReportSummary`] row, from `reports` aliased `r` (decoded by
/// `rows::summary_from_row`): `concat!("SELECT ", summary_columns!(), " FROM reports r …")`.
macro_rules! summary_columns {
    () => {
        concat!(
            "r.id, r.tracking_number, r.form, r.state, r.channel, r.received_at, r.reporter_kind, r.damage_status, r.description,
         r.answered_at IS NOT NULL AS answered,
         EXISTS (SELECT 1 FROM classifications cx WHERE cx.report_id = r.id) AS confirmed,
         EXISTS (SELECT 1 FROM watchlist_hits wh JOIN watchlists wl ON wl.id = wh.list_id WHERE wh.report_id = r.id AND wl.kind = 'watch') AS watch_hit, ",
            state_since!(),
            " AS state_since"
        )
    };
}

/// When report `r` entered its current state: its last state change, else its receipt (the
/// SLA clocks run from it). Times compare as text on SQLite (fixed-width UTC) and as
/// timestamptz on PostgreSQL, so MAX is the latest on both.
macro_rules! state_since {
    () => {
        "COALESCE((SELECT MAX(ts.at) FROM timeline ts WHERE ts.report_id = r.id AND ts.kind = 'state'), r.received_at)"
    };
}

mod codec;
mod error;
mod intake_queue;
mod limit_queue;
mod model;
pub mod postgres;
pub mod seal;
pub mod sqlite;

pub use error::StoreError;
pub use intake_queue::IntakeQueue;
pub use limit_queue::LimitQueue;
pub use model::*;

/// The most characters of a report's texts that search indexes.
pub const MAX_SEARCH_CHARS: usize = 200_000;

use todokede_domain::*;

/// The storage handle. Cheap to clone (pools inside).
#[derive(Clone)]
pub enum Store {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

/// Dispatch a method call to the backend.
macro_rules! dispatch {
    ($self:ident . $m:ident ( $($a:expr),* )) => {
        match $self {
            Store::Sqlite(s) => s.$m($($a),*).await,
            Store::Postgres(s) => s.$m($($a),*).await,
        }
    };
}

impl Store {
    /// Open (creating and migrating if needed) the store at `url`, with the TOTP key from the
    /// environment or (SQLite) the key file beside the database ([`seal`]).
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, None).await
    }

    /// As [`Store::open`], sealing with `key` when given (`--totp-key-file`), else as there.
    pub async fn open_with(url: &str, key: Option<seal::SealKey>) -> Result<Store, StoreError> {
        let key = match key {
            Some(k) => Some(k),
            None => seal::SealKey::from_env()?,
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Store::Postgres(postgres::PgStore::open(url, key).await?))
        } else if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            Ok(Store::Sqlite(sqlite::SqliteStore::open(path, key).await?))
        } else {
            Err(StoreError::BadUrl(url.chars().take(80).collect()))
        }
    }

    /// The SQLite database file a URL names (`None` for PostgreSQL and `:memory:`).
    pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
        let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
        let path = path.split_once('?').map(|(p, _)| p).unwrap_or(path);
        (path != ":memory:" && !path.is_empty()).then(|| std::path::PathBuf::from(path))
    }

    /// The key this store seals TOTP seeds with (a backup keeps it beside the copy).
    pub fn seal_key(&self) -> Option<seal::SealKey> {
        match self {
            Store::Sqlite(s) => s.seal_key(),
            Store::Postgres(s) => s.seal_key(),
        }
    }

    /// Whether this store has a key to seal TOTP seeds with (PostgreSQL needs one configured).
    pub fn can_seal(&self) -> bool {
        match self {
            Store::Sqlite(s) => s.can_seal(),
            Store::Postgres(s) => s.can_seal(),
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Store a batch of submissions in one transaction (group commit), each deduplicated by its
    /// key. Returns one result per submission, in order. Nothing is acknowledged before the
    /// commit (and, on SQLite, its fsync) returned.
    pub async fn ingest_batch(
        &self,
        batch: &[Submission],
    ) -> Result<Vec<Result<Receipt, IngestRejection>>, StoreError> {
        dispatch!(self.ingest_batch(batch))
    }

    /// Forget the plaintext reporter secrets kept (for retries) with the dedup keys of
    /// submissions made before `before`. A retry after that gets its report's tracking number
    /// and no secret — never a new report.
    pub async fn prune_secrets(&self, before: time::OffsetDateTime) -> Result<u64, StoreError> {
        dispatch!(self.prune_secrets(before))
    }

    /// The report a reporter may see: only with its tracking number and matching secret.
    /// Unknown number and wrong secret are indistinguishable.
    pub async fn report_for_reporter(
        &self,
        tn: &TrackingNumber,
        secret: &ReporterSecret,
    ) -> Result<Option<Report>, StoreError> {
        let Some((id, hash)) = dispatch!(self.secret_hash_by_tracking(tn))? else {
            // Burn the same hashing work so timing does not tell "unknown" from "wrong secret".
            let _ = SecretHash([0; 32]).matches(secret);
            return Ok(None);
        };
        if !hash.matches(secret) {
            return Ok(None);
        }
        dispatch!(self.report(id))
    }

    pub async fn report(&self, id: ReportId) -> Result<Option<Report>, StoreError> {
        dispatch!(self.report(id))
    }

    pub async fn report_id_by_tracking(&self, tn: &TrackingNumber) -> Result<Option<ReportId>, StoreError> {
        Ok(dispatch!(self.secret_hash_by_tracking(tn))?.map(|(id, _)| id))
    }

    pub async fn list_reports(&self, filter: &ReportFilter) -> Result<Vec<ReportSummary>, StoreError> {
        dispatch!(self.list_reports(filter))
    }

    pub async fn count_by_state(&self) -> Result<Vec<(ReportState, i64)>, StoreError> {
        dispatch!(self.count_by_state())
    }

    /// How many reports the queue flags: (answered, waiting for an analyst; unconfirmed).
    pub async fn count_flags(&self) -> Result<(i64, i64), StoreError> {
        dispatch!(self.count_flags())
    }

    pub async fn all_report_ids(&self) -> Result<Vec<ReportId>, StoreError> {
        dispatch!(self.all_report_ids())
    }

    /// Move a report to another state, recording who and when (and in the audit log).
    ///
    /// Every analyst's write takes `if_version`: with `Some(v)` it fails with
    /// [`StoreError::VersionMismatch`] unless the report is still at version `v` (the check and
    /// the raise of the version are one statement in the writing transaction).
    pub async fn transition(
        &self,
        id: ReportId,
        to: ReportState,
        by: UserId,
        if_version: Option<i64>,
    ) -> Result<ReportState, StoreError> {
        dispatch!(self.transition(id, to, by, if_version))
    }

    /// 続報 from the reporter, with attachments.
    pub async fn add_follow_up(&self, id: ReportId, body: &str, attachments: &[Attachment]) -> Result<(), StoreError> {
        dispatch!(self.add_timeline(id, TimelineKind::FollowUp, body, None, attachments, None))
    }

    pub async fn add_note(
        &self,
        id: ReportId,
        by: UserId,
        body: &str,
        if_version: Option<i64>,
    ) -> Result<(), StoreError> {
        dispatch!(self.add_timeline(id, TimelineKind::Note, body, Some(by), &[], if_version))
    }

    pub async fn add_reply(
        &self,
        id: ReportId,
        by: UserId,
        body: &str,
        if_version: Option<i64>,
    ) -> Result<(), StoreError> {
        dispatch!(self.add_timeline(id, TimelineKind::Reply, body, Some(by), &[], if_version))
    }

    /// A 続報 from a channel that may deliver twice (mail), stored once per key. False when the
    /// key was seen before.
    pub async fn add_follow_up_once(
        &self,
        id: ReportId,
        body: &str,
        attachments: &[Attachment],
        key: &DedupKey,
    ) -> Result<bool, StoreError> {
        dispatch!(self.add_follow_up_once(id, body, attachments, key))
    }

    /// The report a mail thread (In-Reply-To / References) belongs to.
    pub async fn report_by_message_ids(&self, ids: &[String]) -> Result<Option<ReportId>, StoreError> {
        dispatch!(self.report_by_message_ids(ids))
    }

    /// The report one of our own messages among `ids` was about (In-Reply-To / References).
    pub async fn report_by_our_message_ids(&self, ids: &[String]) -> Result<Option<ReportId>, StoreError> {
        dispatch!(self.report_by_our_message_ids(ids))
    }

    /// Message-IDs of the mail sent about a report, oldest first (for References).
    pub async fn sent_message_ids(&self, report: ReportId) -> Result<Vec<String>, StoreError> {
        dispatch!(self.sent_message_ids(report))
    }

    /// Queue a composed mail; the outbox worker sends it.
    pub async fn enqueue_mail(
        &self,
        report: ReportId,
        message_id: &str,
        from: &str,
        to: &str,
        raw: &[u8],
    ) -> Result<(), StoreError> {
        let m = NewMail {
            report,
            message_id: message_id.to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
            raw: raw.to_vec(),
        };
        dispatch!(self.enqueue_mails(std::slice::from_ref(&m)))
    }

    /// Queue several mails in one transaction (the batch intake path: one commit, not one each).
    pub async fn enqueue_mails(&self, mails: &[NewMail]) -> Result<(), StoreError> {
        dispatch!(self.enqueue_mails(mails))
    }

    /// Mail not yet sent nor given up, oldest first (a view: the worker claims with
    /// [`Store::claim_mail`]).
    pub async fn due_mail(&self, limit: i64) -> Result<Vec<QueuedMail>, StoreError> {
        dispatch!(self.due_mail(limit))
    }

    /// Claim up to `limit` due mails for `lease`: no other worker, in this process or another,
    /// gets them until the lease ends or the outcome is recorded.
    pub async fn claim_mail(&self, limit: i64, lease: time::Duration) -> Result<Vec<QueuedMail>, StoreError> {
        dispatch!(self.claim_mail(limit, lease))
    }

    /// The mail went out (recorded once; a later call changes nothing).
    pub async fn mail_sent(&self, id: i64) -> Result<(), StoreError> {
        dispatch!(self.mail_sent(id))
    }

    /// A failed try: retried from `retry_at`, or marked failed when it was queued before
    /// `give_up_before`. True when it is now marked failed.
    pub async fn mail_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: time::OffsetDateTime,
        give_up_before: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        dispatch!(self.mail_failed(id, error, retry_at, give_up_before))
    }

    /// Queue a failed mail again (an admin's action). False when it was not failed.
    pub async fn retry_mail(&self, id: i64) -> Result<bool, StoreError> {
        dispatch!(self.retry_mail(id))
    }

    /// The mail queued about a report, newest first.
    pub async fn report_mail(&self, report: ReportId) -> Result<Vec<MailStatus>, StoreError> {
        dispatch!(self.mail_statuses(Some(report), false, 200))
    }

    /// Mail given up on, newest first (the admins' page).
    pub async fn failed_mail(&self, limit: i64) -> Result<Vec<MailStatus>, StoreError> {
        dispatch!(self.mail_statuses(None, true, limit))
    }

    pub async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        dispatch!(self.outbox_counts())
    }

    /// The analyst confirms or overrides the automatic classification; overrides are kept.
    pub async fn confirm_classification(
        &self,
        id: ReportId,
        by: UserId,
        confirmed: &Classification,
        automatic: &Classification,
        if_version: Option<i64>,
    ) -> Result<Vec<&'static str>, StoreError> {
        dispatch!(self.confirm_classification(id, by, confirmed, automatic, if_version))
    }

    /// The analyst-confirmed classification, if any.
    pub async fn classification(&self, id: ReportId) -> Result<Option<Classification>, StoreError> {
        dispatch!(self.classification(id))
    }

    /// Reports received in [from, to) with an analyst-confirmed classification, oldest first.
    pub async fn confirmed_cases(
        &self,
        from: time::OffsetDateTime,
        to: time::OffsetDateTime,
    ) -> Result<Vec<ConfirmedCase>, StoreError> {
        dispatch!(self.confirmed_cases(from, to))
    }

    /// When the newest report that an analyst classified was received (`None`: none is).
    pub async fn newest_confirmed_received_at(&self) -> Result<Option<time::OffsetDateTime>, StoreError> {
        dispatch!(self.newest_confirmed_received_at())
    }

    /// How many reports were received in [from, to), classified or not.
    pub async fn count_received(
        &self,
        from: time::OffsetDateTime,
        to: time::OffsetDateTime,
    ) -> Result<i64, StoreError> {
        dispatch!(self.count_received(from, to))
    }

    /// Incidents: reports joined by analyst-confirmed links (connected components). Maps every
    /// linked report to its incident's first (lowest-id) report; an unlinked report is its own.
    pub async fn incidents(&self) -> Result<std::collections::BTreeMap<ReportId, ReportId>, StoreError> {
        let links = dispatch!(self.all_links())?;
        let mut parent: std::collections::BTreeMap<ReportId, ReportId> = std::collections::BTreeMap::new();
        fn root(parent: &mut std::collections::BTreeMap<ReportId, ReportId>, x: ReportId) -> ReportId {
            let p = *parent.entry(x).or_insert(x);
            if p == x {
                return x;
            }
            let r = root(parent, p);
            parent.insert(x, r);
            r
        }
        for (a, b) in links {
            let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
            let (lo, hi) = if ra.0 < rb.0 { (ra, rb) } else { (rb, ra) };
            parent.insert(hi, lo);
        }
        let keys: Vec<ReportId> = parent.keys().copied().collect();
        Ok(keys.into_iter().map(|k| (k, root(&mut parent, k))).collect())
    }

    /// Save a new version of a period's publication document (edits never overwrite).
    pub async fn save_publication(
        &self,
        period: &str,
        document_json: &str,
        by: UserId,
        change_note: &str,
    ) -> Result<i64, StoreError> {
        dispatch!(self.save_publication(period, document_json, by, change_note))
    }

    /// All versions of a period's document, newest first.
    pub async fn publication_versions(&self, period: &str) -> Result<Vec<PublicationVersion>, StoreError> {
        dispatch!(self.publication_versions(period))
    }

    /// Approve a version; false if it does not exist or was approved already.
    pub async fn approve_publication(&self, period: &str, version: i64, by: UserId) -> Result<bool, StoreError> {
        dispatch!(self.approve_publication(period, version, by))
    }

    /// Replace the cross-report index of a report: indicators, text signatures and LSH bands,
    /// its cluster, trend facets and searchable text.
    pub async fn index_report(&self, id: ReportId, index: &ReportIndex) -> Result<(), StoreError> {
        dispatch!(self.index_report(id, index))
    }

    /// Near-duplicate candidates: reports sharing an LSH band key.
    pub async fn lsh_candidates(&self, id: ReportId, keys: &[i64]) -> Result<Vec<LshCandidate>, StoreError> {
        dispatch!(self.lsh_candidates(id, keys))
    }

    /// Reports sharing a correlatable indicator with `id` (values seen in more than `cap`
    /// reports are left out as noise).
    pub async fn correlations(&self, id: ReportId, cap: i64) -> Result<Vec<Correlation>, StoreError> {
        dispatch!(self.correlations(id, cap))
    }

    /// Reports mentioning an indicator (with the matching kind, value, and whether it is common).
    pub async fn reports_by_indicator(
        &self,
        q: &IndicatorQuery,
        limit: i64,
    ) -> Result<Vec<(ReportSummary, String, String, bool)>, StoreError> {
        dispatch!(self.reports_by_indicator(q, limit))
    }

    pub async fn search(&self, q: &SearchQuery) -> Result<Vec<ReportSummary>, StoreError> {
        dispatch!(self.search(q))
    }

    pub async fn cluster_of(&self, id: ReportId) -> Result<Option<(ReportId, f64)>, StoreError> {
        dispatch!(self.cluster_of(id))
    }

    pub async fn cluster_members(&self, cluster: ReportId) -> Result<Vec<ReportSummary>, StoreError> {
        dispatch!(self.cluster_members(cluster))
    }

    pub async fn clusters(&self, limit: i64) -> Result<Vec<ClusterSummary>, StoreError> {
        dispatch!(self.clusters(limit))
    }

    /// Reports per trend facet received in [from, to).
    pub async fn facet_counts(
        &self,
        from: time::OffsetDateTime,
        to: time::OffsetDateTime,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        dispatch!(self.facet_counts(from, to))
    }

    pub async fn reports_with_facet(
        &self,
        facet: &str,
        from: time::OffsetDateTime,
        to: time::OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<ReportSummary>, StoreError> {
        dispatch!(self.reports_with_facet(facet, from, to, limit))
    }

    /// Generated reports with their index, in one transaction (scale benchmarks only). On
    /// PostgreSQL a statement per table for the whole batch (`postgres_bulk.rs`).
    pub async fn bulk_load(&self, reports: &[BulkReport]) -> Result<Vec<ReportId>, StoreError> {
        match self {
            Store::Sqlite(s) => s.bulk_load(reports).await,
            Store::Postgres(s) => s.bulk_load_unnest(reports).await,
        }
    }

    /// How often analysts overrode the automatic analysis, per dimension.
    pub async fn override_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        dispatch!(self.override_counts())
    }

    /// Sessions are stored by the SHA-256 of their cookie token.
    pub async fn create_session(
        &self,
        token_hash: &str,
        who: &SessionSubject,
        csrf: &str,
        lifetime: time::Duration,
    ) -> Result<(), StoreError> {
        dispatch!(self.create_session(token_hash, who, csrf, lifetime))
    }

    /// A live (unexpired) session.
    pub async fn session(&self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        dispatch!(self.session(token_hash))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        dispatch!(self.delete_session(token_hash))
    }

    pub async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        dispatch!(self.user(id))
    }

    pub async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        dispatch!(self.blob(sha256))
    }

    /// The first `len` bytes of a stored blob (what a file starts with, without reading it all).
    pub async fn blob_head(&self, sha256: &str, len: usize) -> Result<Option<Vec<u8>>, StoreError> {
        let len = i32::try_from(len).unwrap_or(i32::MAX);
        dispatch!(self.blob_head(sha256, len))
    }

    /// The raw input a report was created from (JSON body, form post, .eml), for re-analysis.
    pub async fn raw_input(&self, id: ReportId) -> Result<Option<RawInput>, StoreError> {
        dispatch!(self.raw_input(id))
    }

    /// Accounts are keyed by the lower-cased address, here and in [`Store::user_by_email`],
    /// so whoever creates or looks one up need not remember to.
    pub async fn create_user(&self, email: &str, role: Role, password_hash: &str) -> Result<UserId, StoreError> {
        let email = email.trim().to_lowercase();
        dispatch!(self.create_user(&email, role, password_hash, None))
    }

    /// An account whose password is a one-time one, valid until `until` and to be changed at
    /// the first login.
    pub async fn create_user_one_time(
        &self,
        email: &str,
        role: Role,
        password_hash: &str,
        until: time::OffsetDateTime,
    ) -> Result<UserId, StoreError> {
        let email = email.trim().to_lowercase();
        dispatch!(self.create_user(&email, role, password_hash, Some(until)))
    }

    /// Set a password: one-time until `one_time_until`, or the user's own (`None`). Ends every
    /// session of the account; audited (`by` None: the console).
    pub async fn set_password(
        &self,
        id: UserId,
        password_hash: &str,
        one_time_until: Option<time::OffsetDateTime>,
        by: Option<UserId>,
    ) -> Result<(), StoreError> {
        dispatch!(self.set_password(id, password_hash, one_time_until, by))
    }

    /// TOTP off and recovery codes gone (an admin's reset); the account's sessions end.
    pub async fn reset_second_factor(&self, id: UserId, by: Option<UserId>) -> Result<(), StoreError> {
        dispatch!(self.reset_second_factor(id, by))
    }

    /// Replace the account's recovery codes (SHA-256 hex of each).
    pub async fn replace_recovery_codes(&self, id: UserId, hashes: &[String]) -> Result<(), StoreError> {
        dispatch!(self.replace_recovery_codes(id, hashes))
    }

    /// Use a recovery code once; false if unknown or used.
    pub async fn use_recovery_code(&self, id: UserId, hash: &str) -> Result<bool, StoreError> {
        dispatch!(self.use_recovery_code(id, hash))
    }

    pub async fn recovery_codes_left(&self, id: UserId) -> Result<i64, StoreError> {
        dispatch!(self.recovery_codes_left(id))
    }

    /// The settings admins changed (key, value); the rest have their defaults (todokede-app).
    pub async fn settings(&self) -> Result<Vec<(String, String)>, StoreError> {
        dispatch!(self.settings())
    }

    pub async fn set_setting(&self, key: &str, value: &str, by: Option<UserId>) -> Result<(), StoreError> {
        dispatch!(self.set_setting(key, value, by))
    }

    /// When the report entered its current state (the SLA clock's start) and when the reporter
    /// answered, if no analyst has acted since.
    pub async fn report_clock(&self, id: ReportId) -> Result<ReportClock, StoreError> {
        dispatch!(self.report_clock(id))
    }

    /// The reply templates (Japanese first, then by name).
    pub async fn reply_templates(&self) -> Result<Vec<ReplyTemplate>, StoreError> {
        dispatch!(self.reply_templates())
    }

    /// Create (`id` None) or replace a reply template; audited (`template.save`).
    pub async fn save_reply_template(
        &self,
        id: Option<i64>,
        name: &str,
        language: Language,
        body: &str,
        by: Option<UserId>,
    ) -> Result<i64, StoreError> {
        dispatch!(self.save_reply_template(id, name, language, body, by))
    }

    /// Delete a reply template; audited (`template.delete`).
    pub async fn delete_reply_template(&self, id: i64, by: Option<UserId>) -> Result<(), StoreError> {
        dispatch!(self.delete_reply_template(id, by))
    }

    /// One analyst's saved queue filters, by name.
    pub async fn saved_filters(&self, user: UserId) -> Result<Vec<SavedFilter>, StoreError> {
        dispatch!(self.saved_filters(user))
    }

    /// Save a queue filter under a name (the same name again replaces it).
    pub async fn save_filter(&self, user: UserId, name: &str, query: &str) -> Result<i64, StoreError> {
        dispatch!(self.save_filter(user, name, query))
    }

    /// Delete one of the analyst's own saved filters.
    pub async fn delete_saved_filter(&self, user: UserId, id: i64) -> Result<(), StoreError> {
        dispatch!(self.delete_saved_filter(user, id))
    }

    /// Every analysts' indicator list (watch and warning lists), by name, with its counts.
    pub async fn watchlists(&self) -> Result<Vec<Watchlist>, StoreError> {
        dispatch!(self.watchlists())
    }

    /// One list by name.
    pub async fn watchlist(&self, name: &str) -> Result<Option<Watchlist>, StoreError> {
        dispatch!(self.watchlist(name))
    }

    /// A list's entries by kind and value, at most `limit`.
    pub async fn watchlist_entries(&self, list_id: i64, limit: i64) -> Result<Vec<WatchlistEntry>, StoreError> {
        dispatch!(self.watchlist_entries(list_id, limit))
    }

    /// Import into a list (created if new; one of the other kind is `Duplicate`): each source
    /// file's entries replace that file's earlier ones, and the list's hits over every indexed
    /// report are written again, in one transaction; audited (`watchlist.import`).
    pub async fn import_watchlist(
        &self,
        import: &WatchlistImport,
        by: Option<UserId>,
    ) -> Result<WatchlistImported, StoreError> {
        dispatch!(self.import_watchlist(import, by))
    }

    /// Remove a list, its entries and hits; audited (`watchlist.remove`). False: no such list.
    pub async fn remove_watchlist(&self, name: &str, by: Option<UserId>) -> Result<bool, StoreError> {
        dispatch!(self.remove_watchlist(name, by))
    }

    /// A report's indicators that are on a list (watch lists first).
    pub async fn watch_hits(&self, report: ReportId) -> Result<Vec<WatchHit>, StoreError> {
        dispatch!(self.watch_hits(report))
    }

    /// The list entries (valid at `now`) a searched indicator falls under.
    pub async fn watchlist_matches(
        &self,
        q: &IndicatorQuery,
        now: time::OffsetDateTime,
    ) -> Result<Vec<WatchHit>, StoreError> {
        dispatch!(self.watchlist_matches(q, now))
    }

    /// Drop the hits of entries past their `valid_until`; how many (the housekeeping).
    pub async fn expire_watch_hits(&self, now: time::OffsetDateTime) -> Result<u64, StoreError> {
        dispatch!(self.expire_watch_hits(now))
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let email = email.trim().to_lowercase();
        dispatch!(self.user_by_email(&email))
    }

    /// Approve a report for sharing (STIX, MISP) under a TLP level (`clear` … `red`);
    /// approving again replaces the level. Audited as `report.share`.
    pub async fn approve_sharing(&self, id: ReportId, tlp: &str, by: UserId) -> Result<(), StoreError> {
        dispatch!(self.approve_sharing(id, tlp, by))
    }

    /// Take a sharing approval back; false when there was none.
    pub async fn withdraw_sharing(&self, id: ReportId, by: UserId) -> Result<bool, StoreError> {
        dispatch!(self.withdraw_sharing(id, by))
    }

    /// Every report approved for sharing, by id.
    pub async fn shared_reports(&self) -> Result<Vec<Sharing>, StoreError> {
        dispatch!(self.shared_reports())
    }

    /// A fingerprint of every input of the shared export (approvals, the shared reports'
    /// versions, their analyses): when it is unchanged, so is the export.
    pub async fn sharing_fingerprint(&self) -> Result<String, StoreError> {
        dispatch!(self.sharing_fingerprint())
    }

    /// Per shared report, what its exported objects are built from (its approval, version and
    /// latest analysis), by report id.
    pub async fn sharing_stamps(&self) -> Result<Vec<SharingStamp>, StoreError> {
        dispatch!(self.sharing_stamps())
    }

    /// The stored TAXII objects' generation (raised by every write) and the sharing
    /// fingerprint they were built from.
    pub async fn taxii_state(&self) -> Result<TaxiiState, StoreError> {
        dispatch!(self.taxii_state())
    }

    /// Every stored TAXII object's collection, id and content hash, and the state they are of.
    pub async fn taxii_stored(&self) -> Result<(TaxiiState, Vec<TaxiiStored>), StoreError> {
        dispatch!(self.taxii_stored())
    }

    /// Write the TAXII objects that changed, in one transaction, if the store is still of
    /// `changes.generation`: the deleted leave, the inserted get one date_added (`now` to the
    /// millisecond, later than every earlier write). The new generation, or `None` (nothing
    /// written) when another writer came first.
    pub async fn taxii_apply(
        &self,
        changes: &TaxiiChanges,
        now: time::OffsetDateTime,
    ) -> Result<Option<i64>, StoreError> {
        dispatch!(self.taxii_apply(changes, now))
    }

    /// A page of TAXII objects in (date_added, id) order.
    pub async fn taxii_objects(&self, q: &TaxiiQuery) -> Result<Vec<TaxiiRow>, StoreError> {
        dispatch!(self.taxii_objects(q))
    }

    /// Store a new API token (its hash); audited as `api_token.create` by `by`.
    pub async fn create_api_token(&self, token: &NewApiToken, by: UserId) -> Result<i64, StoreError> {
        dispatch!(self.create_api_token(token, by))
    }

    /// API tokens, of one user or (None) of everyone, oldest first.
    pub async fn api_tokens(&self, user: Option<UserId>) -> Result<Vec<ApiToken>, StoreError> {
        dispatch!(self.api_tokens(user))
    }

    /// Revoke a token (only one of `owner`'s when given). False when there is no such live token.
    pub async fn revoke_api_token(&self, id: i64, owner: Option<UserId>, by: UserId) -> Result<bool, StoreError> {
        dispatch!(self.revoke_api_token(id, owner, by))
    }

    /// The token with this hash and whether it may be used; the use (or the refusal) of a
    /// known token is recorded in the audit log with `what` (method and path).
    pub async fn use_api_token(
        &self,
        token_hash: &str,
        what: &str,
    ) -> Result<Option<(ApiToken, TokenState)>, StoreError> {
        dispatch!(self.use_api_token(token_hash, what))
    }

    pub async fn audit(
        &self,
        user: Option<UserId>,
        action: &str,
        target: Option<&str>,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        dispatch!(self.audit(user, action, target, detail))
    }

    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        dispatch!(self.audit_log(limit))
    }

    pub async fn save_analysis(
        &self,
        id: ReportId,
        analyser_version: &str,
        result_json: &str,
        primary_cause: Option<CauseCategory>,
    ) -> Result<(), StoreError> {
        dispatch!(self.save_analysis(id, analyser_version, result_json, primary_cause))
    }

    /// Assign a report to an analyst (or to nobody).
    pub async fn assign(
        &self,
        id: ReportId,
        to: Option<UserId>,
        by: UserId,
        if_version: Option<i64>,
    ) -> Result<(), StoreError> {
        dispatch!(self.assign(id, to, by, if_version))
    }

    /// Link two reports; both versions rise, `if_version` is checked against `a`'s.
    pub async fn link_reports(
        &self,
        a: ReportId,
        b: ReportId,
        by: UserId,
        if_version: Option<i64>,
    ) -> Result<(), StoreError> {
        dispatch!(self.link_reports(a, b, by, if_version))
    }

    pub async fn linked_reports(&self, id: ReportId) -> Result<Vec<TrackingNumber>, StoreError> {
        dispatch!(self.linked_reports(id))
    }

    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        dispatch!(self.users())
    }

    pub async fn set_user_disabled(&self, id: UserId, disabled: bool, by: Option<UserId>) -> Result<(), StoreError> {
        dispatch!(self.set_user_disabled(id, disabled, by))
    }

    /// The TOTP secret (base32) and the last time step used.
    pub async fn totp(&self, id: UserId) -> Result<(Option<String>, i64), StoreError> {
        dispatch!(self.totp(id))
    }

    /// Whether the user has a second factor (the seed is not opened).
    pub async fn has_totp(&self, id: UserId) -> Result<bool, StoreError> {
        dispatch!(self.has_totp(id))
    }

    pub async fn set_totp(&self, id: UserId, secret: Option<&str>) -> Result<(), StoreError> {
        dispatch!(self.set_totp(id, secret))
    }

    pub async fn use_totp_step(&self, id: UserId, step: i64) -> Result<bool, StoreError> {
        dispatch!(self.use_totp_step(id, step))
    }

    pub async fn analysis(&self, id: ReportId) -> Result<Option<String>, StoreError> {
        dispatch!(self.analysis(id))
    }

    /// Analysis jobs not yet done (enqueued at intake), oldest first.
    pub async fn pending_jobs(&self, limit: i64) -> Result<Vec<Job>, StoreError> {
        dispatch!(self.pending_jobs(limit))
    }

    /// Claim runnable jobs for `lease`; another worker cannot take them until the lease ends.
    pub async fn claim_jobs(&self, limit: i64, lease: time::Duration) -> Result<Vec<Job>, StoreError> {
        dispatch!(self.claim_jobs(limit, lease))
    }

    pub async fn finish_job(&self, job: i64, error: Option<&str>) -> Result<(), StoreError> {
        dispatch!(self.finish_job(job, error))
    }

    /// Count one hit on a rate-limit key in a window of `window`; the count with this hit.
    /// Atomic across processes: N concurrent hits get N different counts.
    pub async fn limit_hit(&self, key: &str, window: time::Duration) -> Result<i64, StoreError> {
        dispatch!(self.limit_hit(key, window))
    }

    /// Several hits in one transaction (one commit); the count after each, in order.
    pub async fn limit_hits(&self, hits: &[(String, time::Duration)]) -> Result<Vec<i64>, StoreError> {
        dispatch!(self.limit_hits(hits))
    }

    /// Take back one hit on `key`, or (with `clear`) forget it.
    pub async fn limit_undo(&self, key: &str, clear: bool) -> Result<(), StoreError> {
        dispatch!(self.limit_undo(key, clear))
    }

    /// Hits on `key` in its current window.
    pub async fn limit_count(&self, key: &str) -> Result<i64, StoreError> {
        dispatch!(self.limit_count(key))
    }

    /// Delete ended rate-limit windows (housekeeping).
    pub async fn evict_limits(&self) -> Result<u64, StoreError> {
        dispatch!(self.evict_limits())
    }

    /// Give claimed jobs back unstarted: a worker that stops between jobs (a draining
    /// `serve`) leaves them to the next worker at once instead of at the end of the lease.
    pub async fn release_jobs(&self, ids: &[i64]) -> Result<(), StoreError> {
        dispatch!(self.release_jobs(ids))
    }

    /// Give claimed mail back unsent (as [`Store::release_jobs`]).
    pub async fn release_mail(&self, ids: &[i64]) -> Result<(), StoreError> {
        dispatch!(self.release_mail(ids))
    }

    /// Jobs waiting and given up, the oldest waiting job's age, the reports stored.
    pub async fn queue_counts(&self) -> Result<QueueCounts, StoreError> {
        dispatch!(self.queue_counts())
    }

    /// Whether the database is reachable and has every migration of this build (`/readyz`).
    pub async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        dispatch!(self.schema_status())
    }

    /// An online, consistent copy of an SQLite store into `path`, a file that must not exist
    /// (`VACUUM INTO`: one read snapshot, writers carry on). PostgreSQL: `Unsupported` (pg_dump).
    pub async fn backup_into(&self, path: &std::path::Path) -> Result<(), StoreError> {
        dispatch!(self.backup_into(path))
    }

    /// Close the connections (on SQLite the last one checkpoints the WAL into the file).
    pub async fn close(&self) -> Result<(), StoreError> {
        dispatch!(self.close())
    }

    /// Number of reports, dedup keys and blobs, and a backend consistency check (SQLite
    /// `integrity_check` + `foreign_key_check`; PostgreSQL: referential counts).
    pub async fn check_integrity(&self) -> Result<IntegrityReport, StoreError> {
        dispatch!(self.check_integrity())
    }
}
