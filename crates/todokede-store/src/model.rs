//! Store-level read models and inputs (not domain objects, not wire payloads).

use time::OffsetDateTime;
use todokede_domain::*;

/// What intake answers for a stored submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub report_id: ReportId,
    pub tracking_number: TrackingNumber,
    /// The reporter's secret. Returned again for a retried delivery with the same key while
    /// the dedup record keeps it (so a client that lost the first answer is not locked out).
    pub secret: Option<ReporterSecret>,
    /// True when this delivery was a duplicate of an earlier one.
    pub duplicate: bool,
}

/// Why one submission of a batch was not stored (the others are unaffected).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestRejection {
    #[error("this idempotency key was already used for a different request")]
    KeyReusedWithDifferentContent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimelineKind {
    FollowUp,
    Note,
    Reply,
}

impl TimelineKind {
    pub(crate) fn key(self) -> &'static str {
        match self {
            TimelineKind::FollowUp => "follow_up",
            TimelineKind::Note => "note",
            TimelineKind::Reply => "reply",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Analyst,
    Admin,
}

impl Role {
    pub fn key(self) -> &'static str {
        match self {
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "analyst" => Some(Role::Analyst),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub role: Role,
    pub password_hash: String,
    pub disabled: bool,
    /// Set while the password is a one-time one (made by an admin or `user add`): valid until
    /// then, and to be changed at the first login.
    pub one_time_until: Option<OffsetDateTime>,
}

/// Filters of the analysts' queue. `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    pub state: Option<ReportState>,
    pub form: Option<ReportForm>,
    pub reporter_kind: Option<ReporterKind>,
    pub received_from: Option<OffsetDateTime>,
    pub received_before: Option<OffsetDateTime>,
    /// Primary cause of the latest analysis.
    pub primary_cause: Option<CauseCategory>,
    pub assignee: Option<UserId>,
    /// Only reports the reporter answered since an analyst last acted on them.
    pub answered: bool,
    /// Only reports without an analyst-confirmed classification.
    pub unconfirmed: bool,
    pub newest_first: bool,
    pub limit: i64,
    pub offset: i64,
    /// Keyset pagination: only rows after this (received_at, id) in the list's order.
    pub after: Option<(OffsetDateTime, ReportId)>,
    /// The SLA cut-offs that `overdue` and `overdue_first` use.
    pub sla: SlaCutoffs,
    /// Only reports past their state's SLA.
    pub overdue: bool,
    /// Only reports with an indicator on a watch list.
    pub watch_hit: bool,
    /// Overdue reports first, then by how long they have been in their state (longest first);
    /// overrides `newest_first` (not for keyset paging).
    pub overdue_first: bool,
}

/// One row of the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSummary {
    pub id: ReportId,
    pub tracking_number: TrackingNumber,
    pub form: ReportForm,
    pub state: ReportState,
    pub channel: Channel,
    pub received_at: OffsetDateTime,
    pub reporter_kind: Option<ReporterKind>,
    pub damage_status: DamageStatus,
    /// The first line of the description, shortened.
    pub headline: String,
    /// The reporter answered (a 続報) and no analyst has acted on the report since.
    pub answered: bool,
    /// An analyst confirmed its classification.
    pub confirmed: bool,
    /// When it entered its current state (the SLA clock's start).
    pub state_since: OffsetDateTime,
    /// An indicator of it is on a watch list.
    pub watch_hit: bool,
}

/// A report's clock: when it entered its current state, and when the reporter answered with no
/// analyst having acted since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportClock {
    pub state_since: OffsetDateTime,
    pub answered_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub at: OffsetDateTime,
    pub user: Option<UserId>,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub report_id: ReportId,
}

/// What a background job does, stored by key. A key this build does not know (written by a
/// newer version) is kept as `Unknown`, so the worker can record it as failed instead of
/// misreading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    /// Analyse a report's texts and evidence and index it for cross-report search.
    Analyse,
    Unknown(String),
}

impl JobKind {
    pub fn key(&self) -> &str {
        match self {
            JobKind::Analyse => "analyse",
            JobKind::Unknown(k) => k,
        }
    }

    pub fn from_key(key: &str) -> Self {
        match key {
            "analyse" => JobKind::Analyse,
            other => JobKind::Unknown(other.to_owned()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityReport {
    pub reports: i64,
    pub dedup_keys: i64,
    pub blobs: i64,
    /// Empty when the backend's own checks pass.
    pub problems: Vec<String>,
}

/// A message in the outbox.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub id: i64,
    pub report_id: ReportId,
    pub message_id: String,
    pub from: String,
    pub to: String,
    pub raw: Vec<u8>,
    pub attempts: i64,
    pub created_at: OffsetDateTime,
}

/// Where a queued mail stands (what analysts and admins are shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailState {
    Sent(OffsetDateTime),
    /// Not sent yet; `attempts` tries failed so far.
    Pending {
        attempts: i64,
    },
    /// Given up after the configured time: it will not be sent unless an admin retries it.
    Failed(OffsetDateTime),
}

/// One outbox mail as shown on a report page or the admins' list of failed mail.
#[derive(Debug, Clone)]
pub struct MailStatus {
    pub id: i64,
    pub report_id: ReportId,
    pub tracking_number: TrackingNumber,
    pub to: String,
    pub created_at: OffsetDateTime,
    pub state: MailState,
    pub last_error: Option<String>,
}

/// Outbox counts: queued (not sent, not failed), failed, sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub queued: i64,
    pub failed: i64,
    pub sent: i64,
}

/// The background queues at a glance, for `/metrics`: analysis jobs waiting (not done, fewer
/// than 5 attempts), jobs given up (5 failed attempts), jobs done and the attempts they took,
/// when the oldest waiting job was queued, and the reports stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub jobs_queued: i64,
    pub jobs_failed: i64,
    pub jobs_done: i64,
    /// The attempts the done jobs took together: `jobs_done` when each ran once.
    pub jobs_done_attempts: i64,
    pub oldest_queued_job: Option<OffsetDateTime>,
    pub reports: i64,
}

/// Whether the schema this build expects is in the database: the migrations it knows and
/// those of them not (successfully) applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    pub expected: Vec<i64>,
    pub missing: Vec<i64>,
}

impl SchemaStatus {
    pub(crate) fn of(expected: impl Iterator<Item = i64>, applied: &[i64]) -> SchemaStatus {
        let expected: Vec<i64> = expected.collect();
        let missing = expected.iter().copied().filter(|v| !applied.contains(v)).collect();
        SchemaStatus { expected, missing }
    }

    pub fn ready(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Who a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionSubject {
    Analyst(UserId),
    /// A reporter, for exactly one report.
    Reporter(ReportId),
}

#[derive(Debug, Clone)]
pub struct Session {
    pub subject: SessionSubject,
    /// The anti-CSRF token every state-changing form of this session must carry.
    pub csrf: String,
}

/// A composed mail to queue.
#[derive(Debug, Clone)]
pub struct NewMail {
    pub report: ReportId,
    /// Without angle brackets.
    pub message_id: String,
    pub from: String,
    pub to: String,
    pub raw: Vec<u8>,
}

/// A report with an analyst-confirmed classification, as publication reads it.
#[derive(Debug, Clone)]
pub struct ConfirmedCase {
    pub id: ReportId,
    pub tracking_number: TrackingNumber,
    pub received_at: OffsetDateTime,
    pub content: ReportContent,
    pub classification: Classification,
}

/// One saved version of a period's publication document.
#[derive(Debug, Clone)]
pub struct PublicationVersion {
    pub period: String,
    pub version: i64,
    pub document_json: String,
    pub created_by: UserId,
    pub created_at: OffsetDateTime,
    pub change_note: String,
    pub approved_by: Option<UserId>,
    pub approved_at: Option<OffsetDateTime>,
}

/// One indicator of a report, as indexed for correlation and search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedIndicator {
    pub kind: String,
    pub value: String,
    /// Warning-listed or internal: searchable, never correlated.
    pub common: bool,
}

/// What the analysis indexes about a report for the cross-report features.
#[derive(Debug, Clone, Default)]
pub struct ReportIndex {
    pub indicators: Vec<IndexedIndicator>,
    /// MinHash signatures (as bytes) of the report's texts, with their LSH band keys.
    pub signatures: Vec<(i64, Vec<u8>, Vec<i64>)>,
    /// The cluster the report joins and its similarity to it (1.0 when it starts its own).
    pub cluster: Option<(ReportId, f64)>,
    /// All its searchable text.
    pub search_body: String,
    pub facets: Vec<String>,
}

/// A candidate near-duplicate found through an LSH band.
#[derive(Debug, Clone)]
pub struct LshCandidate {
    pub report: ReportId,
    pub cluster: ReportId,
    pub signature: Vec<u8>,
}

/// Another report sharing an indicator value with this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correlation {
    pub report: ReportId,
    pub tracking_number: TrackingNumber,
    pub kind: String,
    pub value: String,
}

/// How an indicator search matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndicatorQuery {
    /// The value itself (an address, hash, e-mail, URL, BTC address …).
    Exact(String),
    /// IPv4 addresses in [first, last].
    Ipv4Range(i64, i64),
    /// A domain and its subdomains, as reversed labels with a trailing dot ("jp.example.").
    DomainTree(String),
}

/// Full-text search with the queue's filters.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Terms that must all occur (substring match, Japanese included). At most 4.
    pub terms: Vec<String>,
    pub filter: ReportFilter,
}

#[derive(Debug, Clone)]
pub struct ClusterSummary {
    pub cluster: ReportId,
    pub tracking_number: TrackingNumber,
    pub members: i64,
    pub latest: OffsetDateTime,
}

/// A generated report for scale benchmarks: stored with its index in bulk, bypassing intake.
#[derive(Debug, Clone)]
pub struct BulkReport {
    pub received_at: OffsetDateTime,
    pub reporter_kind: Option<ReporterKind>,
    pub description: String,
    pub index: ReportIndex,
}

/// A new API token to store: only the hash of the token (the caller shows the token once).
#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub user: UserId,
    /// The owner's label ("nightly export").
    pub name: String,
    /// Comma-separated scope keys (read, write, export).
    pub scopes: String,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The token's first characters, shown in lists.
    pub prefix: String,
    pub expires_at: OffsetDateTime,
}

/// A stored API token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub user: UserId,
    pub email: String,
    pub prefix: String,
    pub name: String,
    pub scopes: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
}

/// Whether a presented API token may be used now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Active,
    Expired,
    Revoked,
    /// The owner's account is disabled.
    OwnerDisabled,
}

/// An analyst's approval to share a report outside, under a TLP 2.0 level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sharing {
    pub report: ReportId,
    /// `clear`, `green`, `amber`, `amber+strict` or `red`.
    pub tlp: String,
    pub approved_by: UserId,
    pub approved_at: OffsetDateTime,
}

/// One object the TAXII server serves (issue 18): an object of the STIX export of everything
/// approved for sharing, in the collection of its TLP level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxiiObject {
    /// The collection's key (the TLP level: `clear`, `green`, `amber`, `amber+strict`).
    pub collection: String,
    /// The STIX id (`indicator--…`).
    pub id: String,
    /// The STIX type (the id's prefix).
    pub object_type: String,
    /// `modified`, else `created`; `None` for objects that are not versioned (the stored
    /// version is then their date_added).
    pub version: Option<String>,
    /// SHA-256 of `content`, hex: a changed object gets a new date_added.
    pub content_hash: String,
    /// The object as JSON.
    pub content: String,
}

/// What one shared report's objects are built from (`Store::sharing_stamps`): when none of it
/// changed, neither did its objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharingStamp {
    pub report: ReportId,
    pub tlp: String,
    pub approved_at: OffsetDateTime,
    /// Raised by every change of the report (state, classification, links …).
    pub version: i64,
    /// Its latest analysis.
    pub analysed_at: Option<OffsetDateTime>,
}

/// The stored TAXII objects' state: raised by every write, and the sharing fingerprint the
/// objects were built from ('' before the first write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxiiState {
    pub generation: i64,
    pub fingerprint: String,
}

/// One stored TAXII object's key and content hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxiiStored {
    pub collection: String,
    pub id: String,
    pub content_hash: String,
}

/// One incremental write of the TAXII objects (`Store::taxii_apply`): made against the
/// stored state of `generation`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaxiiChanges {
    pub generation: i64,
    /// The sharing fingerprint the objects are now built from.
    pub fingerprint: String,
    /// (collection, id) of objects that leave or change (a changed one is also in `insert`).
    pub delete: Vec<(String, String)>,
    /// New and changed objects: they get this write's date_added.
    pub insert: Vec<TaxiiObject>,
}

/// A stored TAXII object as served: STIX timestamps (UTC, milliseconds, `Z`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxiiRow {
    pub id: String,
    pub date_added: String,
    pub version: String,
    pub content: String,
}

/// Which stored TAXII objects a page holds: one collection, optional filters (an empty list
/// is no filter), after a cursor, in (date_added, id) order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaxiiQuery {
    pub collection: String,
    /// Only objects added strictly after this STIX timestamp.
    pub added_after: Option<String>,
    pub types: Vec<String>,
    pub ids: Vec<String>,
    /// Only these versions (STIX timestamps).
    pub versions: Vec<String>,
    /// The last (date_added, id) of the previous page.
    pub after: Option<(String, String)>,
    pub limit: i64,
}

/// A reply template admins keep for analysts' replies (`{placeholder}`s filled when picked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTemplate {
    pub id: i64,
    pub name: String,
    pub language: Language,
    pub body: String,
    pub updated_by: Option<UserId>,
    pub updated_at: OffsetDateTime,
}

/// A queue filter an analyst saved under a name: the queue's query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedFilter {
    pub id: i64,
    pub name: String,
    pub query: String,
}

/// The SLA cut-offs of the queue, one per state that has a clock: a report whose current state
/// began before its state's cut-off (now minus the hours allowed) is overdue. `None`: no clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlaCutoffs {
    pub received: Option<OffsetDateTime>,
    pub triage: Option<OffsetDateTime>,
    pub in_progress: Option<OffsetDateTime>,
    pub waiting_on_reporter: Option<OffsetDateTime>,
}

todokede_domain::closed_enum! {
    /// What an analysts' indicator list is for.
    WatchlistKind {
        /// Known-bad values or values of interest: a report matching one gets a visible hit.
        Watch => ("watch", "ウォッチリスト", "watch list"),
        /// Known-benign or known-noisy values: context, never a link between reports.
        Warning => ("warning", "警告リスト（既知の無害・ノイズ）", "warning list (known benign or noise)"),
    }
}

/// An analysts' indicator list, with what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watchlist {
    pub id: i64,
    pub name: String,
    pub kind: WatchlistKind,
    pub description: String,
    /// The TLP 2.0 level the list came under (`clear`, `green`, `amber`, `amber+strict`, `red`).
    pub tlp: Option<String>,
    pub created_at: OffsetDateTime,
    /// The last import.
    pub updated_at: OffsetDateTime,
    /// Who imported last (the e-mail address; none from the CLI without `--as`).
    pub updated_by: Option<String>,
    pub entries: i64,
    /// The imported files (sources) its entries come from.
    pub sources: i64,
    /// Reports with an indicator on it.
    pub reports_hit: i64,
}

/// One value of a list and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchlistEntry {
    pub id: i64,
    /// ipv4, cidr, ipv6, domain (with its subdomains), url, email, md5, sha1, sha256.
    pub kind: String,
    pub value: String,
    /// The file name it was imported from (a MISP feed: its directory's name).
    pub source_file: String,
    /// The STIX indicator or SCO id, or the MISP attribute uuid.
    pub source_id: String,
    pub imported_at: OffsetDateTime,
    pub imported_by: Option<String>,
    /// Not matched after this time.
    pub valid_until: Option<OffsetDateTime>,
}

/// A value to import (normalised as the indicator extractor writes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWatchlistEntry {
    pub kind: String,
    pub value: String,
    pub source_id: String,
    pub valid_until: Option<OffsetDateTime>,
}

/// An import into a list (created when it does not exist): each source file's entries replace
/// what that file gave the list before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchlistImport {
    pub name: String,
    pub kind: WatchlistKind,
    /// Replaces the list's description / TLP when given.
    pub description: Option<String>,
    pub tlp: Option<String>,
    pub sources: Vec<(String, Vec<NewWatchlistEntry>)>,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchlistImported {
    pub list_id: i64,
    /// Rows the sources had given before (replaced).
    pub replaced: i64,
    pub inserted: i64,
    /// The list's entries now.
    pub entries: i64,
    /// Reports with an indicator on the list now.
    pub reports_hit: i64,
}

/// A list entry that an indicator matches (of a report, or of a search).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchHit {
    pub list: String,
    pub list_kind: WatchlistKind,
    pub entry: WatchlistEntry,
    /// The report's indicator that matched (for a search: the entry's own kind and value).
    pub indicator_kind: String,
    pub indicator_value: String,
}
