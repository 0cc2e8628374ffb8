//! The TAXII 2.1 server's data (issue 18, the read side): one API root, one collection per
//! TLP 2.0 level up to TLP:AMBER+STRICT (never TLP:RED), holding exactly the objects of the
//! STIX export of everything approved for sharing (`exchange::stix_bundle` over
//! `ExportScope::All`: the same generator, `todokede_publish::stix`, so the same objects and
//! bytes as `todokede export stix --all`). An object is in the collection of the TLP it is
//! marked with (the strictest of the reports it comes from); a marking definition in its own
//! level's.
//!
//! The objects are materialised in the store (`taxii_objects`) by a [`Materialiser`], one per
//! process, incrementally: it keeps each shared report's case and what it was built from
//! (approval, version, latest analysis, incident), and when the sharing fingerprint changes
//! it reloads only the reports whose stamp changed, rebuilds only their incidents'
//! objects (`stix::incident_objects`), merges the objects several incidents share
//! (observables, attack-patterns: the first incident's content, the strictest TLP) and writes
//! only the objects whose bytes changed, in one transaction. An unchanged object keeps its
//! `date_added`; a new or changed one gets the time of the write that first served it — later
//! than every earlier write, so a client polling with `added_after` sees exactly the changes;
//! an object no longer shared is deleted (TAXII has no delete: it is no longer served). The
//! first run of a process (nothing in memory yet) loads every case and compares everything
//! with what is stored, writing only the differences. `serve` runs it in the background
//! ([`Materialiser::run`]); a request serves what is stored and, when the data changed since,
//! waits for the (incremental) refresh a bounded time ([`FRESHNESS_WAIT`]) — never a rebuild.
//!
//! Pages run in (date_added, object id) order and the `next` cursor names the last
//! (date_added, id) served: the many objects one write adds at one millisecond never repeat or
//! vanish between pages (cti-taxii2#50, OpenCTI#5681).

use crate::AppError;
use crate::exchange::{self, DEFAULT_PUBLISHER};
use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use todokede_domain::ReportId;
use todokede_publish::stix::{self, Publisher, ShareCase, Tlp};
use todokede_store::{Store, TaxiiChanges, TaxiiObject, TaxiiQuery, TaxiiRow};

/// The API root's path segment: `/taxii2/todokede/`.
pub const API_ROOT: &str = "todokede";
/// TAXII 2.1's media type (every response, every Accept).
pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
/// The objects' media type (collections and manifests name it).
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";
/// Objects per page unless `limit` asks for fewer; also the default.
pub const MAX_PAGE: usize = 1000;
pub const DEFAULT_PAGE: usize = 100;

/// Part of the fingerprint: another build may generate other objects from the same data.
const GENERATOR: &str = concat!("todokede-stix/", env!("CARGO_PKG_VERSION"));

/// A collection: the objects marked with one TLP level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collection {
    pub tlp: Tlp,
}

impl Collection {
    /// Red is never served.
    pub const ALL: [Collection; 4] = [
        Collection { tlp: Tlp::Clear },
        Collection { tlp: Tlp::Green },
        Collection { tlp: Tlp::Amber },
        Collection { tlp: Tlp::AmberStrict },
    ];

    /// A stable UUID (v5 of the level's key): the `{id}` of its URLs.
    pub fn id(self) -> String {
        stix::uuid_v5(&stix::STIX_NAMESPACE, format!("todokede/taxii/collection/{}", self.tlp.key()).as_bytes())
    }

    /// `tlp-clear`, `tlp-amber-strict`: also accepted in place of the id.
    pub fn alias(self) -> String {
        format!("tlp-{}", self.tlp.key().replace('+', "-"))
    }

    pub fn title(self) -> String {
        format!("{} 共有情報 / shared reports", self.tlp.name())
    }

    pub fn description(self) -> String {
        format!(
            "{} で共有を承認された届出の匿名化された STIX 2.1 オブジェクト / the anonymised STIX 2.1 objects of \
             the reports approved for sharing, marked {}",
            self.tlp.name(),
            self.tlp.name()
        )
    }

    /// The collection an URL's `{id}` names: its id or its alias.
    pub fn find(id: &str) -> Option<Collection> {
        Collection::ALL.into_iter().find(|c| c.id() == id || c.alias() == id)
    }
}

/// Which versions a request wants. Only an object's current version is served, so `last`,
/// `first` and `all` select the same.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Versions {
    #[default]
    Current,
    /// These versions only (STIX timestamps, milliseconds).
    Exactly(Vec<String>),
}

/// A request's filters (TAXII 2.1 §3.4): `added_after`, `match[type|id|version|spec_version]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub added_after: Option<OffsetDateTime>,
    pub types: Vec<String>,
    pub ids: Vec<String>,
    pub versions: Versions,
    /// Every object here is 2.1: a list without `2.1` selects nothing.
    pub spec_versions: Vec<String>,
}

/// One page of a collection.
#[derive(Debug, Clone)]
pub struct Page {
    pub objects: Vec<TaxiiRow>,
    pub more: bool,
    /// The cursor of the next page, when `more`.
    pub next: Option<String>,
}

/// A STIX timestamp parsed (RFC 3339, any precision, any offset), as the store keeps it:
/// UTC, milliseconds (truncated: "added after 12.3456" is "after 12.345" for whole milliseconds).
pub fn parse_timestamp(s: &str) -> Option<String> {
    let t = OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).ok()?;
    Some(stix::timestamp(t))
}

fn encode_cursor(r: &TaxiiRow) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{} {}", r.date_added, r.id))
}

fn decode_cursor(c: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c.trim()).ok()?;
    let s = String::from_utf8(bytes).ok()?;
    let (date, id) = s.split_once(' ')?;
    (parse_timestamp(date).as_deref() == Some(date) && id.contains("--") && id.is_ascii())
        .then(|| (date.to_owned(), id.to_owned()))
}

/// How long a request waits for the objects to catch up with a change before it serves what
/// is stored: an incremental refresh takes well under it; the first run of a process over a
/// large store does not, and a request never waits for that.
pub const FRESHNESS_WAIT: Duration = Duration::from_secs(5);

/// How often `serve` looks for changes without a request asking (one aggregate query).
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);

/// The export scope the collections hold (`ExportScope::All`'s key and title).
fn scope() -> stix::Scope {
    stix::Scope { key: "all".into(), title: "共有情報 / shared reports".into() }
}

/// The fingerprint of the approved data and of the generator that turns it into objects.
async fn fingerprint(store: &Store) -> Result<String, AppError> {
    Ok(format!("{GENERATOR}|{DEFAULT_PUBLISHER}|{}", store.sharing_fingerprint().await?))
}

/// What one shared report's case was built from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    tlp: Tlp,
    approved_at: OffsetDateTime,
    version: i64,
    analysed_at: Option<OffsetDateTime>,
    /// The incident's first report.
    root: ReportId,
}

/// One incident's objects as served: its TLP and span, and the ids of its objects.
struct Built {
    tlp: Tlp,
    created_at: OffsetDateTime,
    modified_at: OffsetDateTime,
    own: Vec<String>,
    shared: Vec<String>,
}

/// What a process knows of the served objects and what they are built from.
#[derive(Default)]
struct Cache {
    /// The stored generation `served` describes; `None`: read the store first.
    generation: Option<i64>,
    /// The sharing fingerprint the stored objects were built from.
    fingerprint: String,
    /// Every shared report at or below TLP:AMBER+STRICT: its stamp and case (`None`: nothing of
    /// it leaves, e.g. no confirmed classification).
    reports: BTreeMap<ReportId, (Stamp, Option<ShareCase>)>,
    /// By incident key.
    incidents: BTreeMap<String, Built>,
    /// The objects incidents share: per id, each incident's TLP for it and its content
    /// (unmarked JSON).
    shared: HashMap<String, BTreeMap<String, (Tlp, Arc<str>)>>,
    /// What the store holds: id → collection and content hash.
    served: BTreeMap<String, (Tlp, String)>,
}

/// What one refresh did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// Reports whose case was (re)loaded or dropped.
    pub reports: usize,
    /// Incidents whose objects were rebuilt.
    pub incidents: usize,
    /// Objects written (new or changed) and deleted (gone, changed or moved).
    pub inserted: usize,
    pub deleted: usize,
    /// Nothing in memory described the store: everything was compared.
    pub full: bool,
}

/// Keeps the TAXII objects of one store up to date (one per process; cheap to clone).
#[derive(Clone)]
pub struct Materialiser {
    store: Store,
    cache: Arc<tokio::sync::Mutex<Cache>>,
}

impl std::fmt::Debug for Materialiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Materialiser").finish_non_exhaustive()
    }
}

/// The stored row of an object as served (`v`: marked, members in key order) in `tlp`'s collection.
fn object_row(id: &str, tlp: Tlp, v: &Value) -> Result<TaxiiObject, AppError> {
    let content = compact(v)?;
    Ok(TaxiiObject {
        collection: tlp.key().to_owned(),
        id: id.to_owned(),
        object_type: v["type"].as_str().unwrap_or_default().to_owned(),
        version: v["modified"].as_str().or(v["created"].as_str()).map(str::to_owned),
        content_hash: hex::encode(Sha256::digest(content.as_bytes())),
        content,
    })
}

/// The report object's row. It names every other object (a quarter of a million ids for
/// 10,000 reports: most of a refresh's time when built as a JSON value), so its other members
/// are serialised as usual around an empty `object_refs` and the ids are written into it.
fn report_row<'a>(
    publisher: &Publisher,
    tlp: Tlp,
    span: Option<(OffsetDateTime, OffsetDateTime)>,
    refs: impl Iterator<Item = &'a String>,
) -> Result<TaxiiObject, AppError> {
    const EMPTY: &str = "\"object_refs\":[]";
    let v = stix::marked(stix::report_object(publisher, &scope(), Vec::new(), span), tlp);
    let mut row = object_row(v["id"].as_str().unwrap_or_default(), tlp, &v)?;
    let at = row.content.find(EMPTY).ok_or_else(|| AppError::Internal("report object without object_refs".into()))?;
    let mut content = String::with_capacity(row.content.len() + 50 * 300_000);
    content.push_str(&row.content[..at]);
    content.push_str("\"object_refs\":[");
    for (i, id) in refs.enumerate() {
        if i > 0 {
            content.push(',');
        }
        // Ids are `type--uuid`: nothing in them for JSON to escape (checked, else escaped).
        if id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            content.push('"');
            content.push_str(id);
            content.push('"');
        } else {
            content.push_str(&compact(&Value::from(id.as_str()))?);
        }
    }
    content.push(']');
    content.push_str(&row.content[at + EMPTY.len()..]);
    row.content_hash = hex::encode(Sha256::digest(content.as_bytes()));
    row.content = content;
    Ok(row)
}

fn compact(v: &Value) -> Result<String, AppError> {
    serde_json::to_string(v).map_err(AppError::internal)
}

impl Materialiser {
    pub fn new(store: Store) -> Self {
        Materialiser { store, cache: Arc::default() }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// `serve`'s loop: refresh now (the first run of the process), then whenever the data
    /// changed, looking every `every`.
    pub async fn run(self, every: Duration) {
        loop {
            match self.refresh().await {
                Ok(r) if r.inserted + r.deleted > 0 => tracing::info!(
                    reports = r.reports,
                    incidents = r.incidents,
                    inserted = r.inserted,
                    deleted = r.deleted,
                    full = r.full,
                    "TAXII objects refreshed"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "TAXII refresh failed; retried"),
            }
            tokio::time::sleep(every).await;
        }
    }

    /// For a request: when the data changed since the stored objects were built, start a
    /// refresh and wait for it at most `wait`; then (or at once) the stored objects are served.
    pub async fn catch_up(&self, wait: Duration) -> Result<(), AppError> {
        if self.store.taxii_state().await?.fingerprint == fingerprint(&self.store).await? {
            return Ok(());
        }
        // Spawned: a request that gives up waiting does not cancel the refresh half-way.
        let me = self.clone();
        match tokio::time::timeout(wait, tokio::spawn(async move { me.refresh().await })).await {
            Ok(Ok(r)) => r.map(|_| ()),
            Ok(Err(e)) => Err(AppError::internal(e)),
            Err(_) => {
                tracing::info!(
                    wait_ms = wait.as_millis() as u64,
                    "TAXII refresh still running; serving the stored objects"
                );
                Ok(())
            }
        }
    }

    /// Bring the stored objects up to date with the approved data (one refresh at a time per
    /// process; another process's write is noticed by the generation).
    pub async fn refresh(&self) -> Result<Refreshed, AppError> {
        let mut c = self.cache.lock().await;
        let result = self.refresh_locked(&mut c).await;
        if result.is_err() {
            // What is in memory may no longer describe the store: read it again next time.
            c.generation = None;
        }
        result
    }

    async fn refresh_locked(&self, c: &mut Cache) -> Result<Refreshed, AppError> {
        let store = &self.store;
        // Read before the data: the objects are at least as new as it says.
        let target = fingerprint(store).await?;
        let state = store.taxii_state().await?;
        if c.generation == Some(state.generation) && c.fingerprint == target {
            return Ok(Refreshed::default());
        }
        let mut done = Refreshed::default();
        if c.generation != Some(state.generation) {
            // First run, or another writer: read what is stored and compare everything.
            let (state, stored) = store.taxii_stored().await?;
            c.served.clear();
            for s in stored {
                let tlp = Tlp::parse(&s.collection)
                    .ok_or_else(|| AppError::Internal(format!("TAXII collection {}", s.collection)))?;
                c.served.insert(s.id, (tlp, s.content_hash));
            }
            c.generation = Some(state.generation);
            c.fingerprint = state.fingerprint;
            c.incidents.clear();
            c.shared.clear();
            done.full = true;
        }

        // Which reports changed: their stamps.
        let roots = store.incidents().await?;
        let mut stamps: BTreeMap<ReportId, Stamp> = BTreeMap::new();
        for s in store.sharing_stamps().await? {
            let tlp = Tlp::parse(&s.tlp)
                .ok_or_else(|| AppError::Internal(format!("report {}: stored TLP {}", s.report.0, s.tlp)))?;
            if tlp > Tlp::AmberStrict {
                continue;
            }
            let root = roots.get(&s.report).copied().unwrap_or(s.report);
            stamps.insert(
                s.report,
                Stamp { tlp, approved_at: s.approved_at, version: s.version, analysed_at: s.analysed_at, root },
            );
        }
        let mut affected: BTreeSet<String> = BTreeSet::new();
        if done.full {
            affected.extend(c.reports.values().filter_map(|(_, case)| case.as_ref().map(|k| k.incident_key.clone())));
        }
        let gone: Vec<ReportId> = c.reports.keys().filter(|id| !stamps.contains_key(id)).copied().collect();
        for id in gone {
            if let Some((_, Some(case))) = c.reports.remove(&id) {
                affected.insert(case.incident_key);
            }
            done.reports += 1;
        }
        for (id, stamp) in stamps {
            if c.reports.get(&id).is_some_and(|(s, _)| *s == stamp) {
                continue;
            }
            if let Some((_, Some(old))) = c.reports.get(&id) {
                affected.insert(old.incident_key.clone());
            }
            let case = match store.report(id).await? {
                Some(r) => exchange::case_of(store, r, stamp.tlp, stamp.approved_at, stamp.root).await?,
                None => None,
            };
            if let Some(k) = &case {
                affected.insert(k.incident_key.clone());
            }
            c.reports.insert(id, (stamp, case));
            done.reports += 1;
        }

        // Rebuild the affected incidents; collect the ids whose served form may change.
        let publisher = Publisher { name: DEFAULT_PUBLISHER.into() };
        let mut members: BTreeMap<&str, Vec<&ShareCase>> = BTreeMap::new();
        for (_, case) in c.reports.values() {
            if let Some(k) = case
                && affected.contains(&k.incident_key)
            {
                members.entry(k.incident_key.as_str()).or_default().push(k);
            }
        }
        let mut touched: BTreeSet<String> = BTreeSet::new();
        if done.full {
            touched.extend(c.served.keys().cloned());
        }
        let mut own: HashMap<String, TaxiiObject> = HashMap::new();
        let mut built: Vec<(String, Option<Built>)> = Vec::new();
        let mut contributions: Vec<(String, String, Tlp, Arc<str>)> = Vec::new();
        for key in &affected {
            let Some(m) = members.get(key.as_str()) else {
                built.push((key.clone(), None));
                continue;
            };
            let i = stix::incident_objects(&publisher, key, m);
            let mut b = Built {
                tlp: i.tlp,
                created_at: i.created_at,
                modified_at: i.modified_at,
                own: Vec::with_capacity(i.own.len()),
                shared: Vec::with_capacity(i.shared.len()),
            };
            for (id, v) in i.own {
                own.insert(id.clone(), object_row(&id, i.tlp, &stix::marked(v, i.tlp))?);
                b.own.push(id);
            }
            for (id, (v, tlp)) in i.shared {
                contributions.push((id.clone(), key.clone(), tlp, Arc::from(compact(&v)?)));
                b.shared.push(id);
            }
            built.push((key.clone(), Some(b)));
        }
        done.incidents = built.len();
        for (key, b) in built {
            if let Some(old) = c.incidents.remove(&key) {
                touched.extend(old.own);
                for id in old.shared {
                    if let Some(by) = c.shared.get_mut(&id) {
                        by.remove(&key);
                        if by.is_empty() {
                            c.shared.remove(&id);
                        }
                    }
                    touched.insert(id);
                }
            }
            if let Some(b) = b {
                touched.extend(b.own.iter().cloned());
                c.incidents.insert(key, b);
            }
        }
        for (id, key, tlp, content) in contributions {
            c.shared.entry(id.clone()).or_default().insert(key, (tlp, content));
            touched.insert(id);
        }

        // The objects as they are to be served, compared with what is.
        let mut changes = TaxiiChanges {
            generation: c.generation.unwrap_or_default(),
            fingerprint: target.clone(),
            ..TaxiiChanges::default()
        };
        let mut put = |c: &mut Cache, id: &str, want: Option<TaxiiObject>| -> Result<(), AppError> {
            let now = c.served.get(id);
            if let (Some(w), Some((tlp, hash))) = (&want, now)
                && w.collection == tlp.key()
                && w.content_hash == *hash
            {
                return Ok(());
            }
            if let Some((tlp, _)) = c.served.remove(id) {
                changes.delete.push((tlp.key().to_owned(), id.to_owned()));
            }
            if let Some(w) = want {
                let tlp = Tlp::parse(&w.collection).unwrap_or(Tlp::Clear);
                c.served.insert(id.to_owned(), (tlp, w.content_hash.clone()));
                changes.insert.push(w);
            }
            Ok(())
        };
        // The reporting point, the report naming every object and the markings used: built
        // after the rest (the report names them all).
        let identity = stix::identity(&publisher);
        let identity_id = identity["id"].as_str().unwrap_or_default().to_owned();
        let report_id =
            stix::report_object(&publisher, &scope(), Vec::new(), None)["id"].as_str().unwrap_or_default().to_owned();
        let special: BTreeSet<&str> = [identity_id.as_str(), report_id.as_str()]
            .into_iter()
            .chain(Tlp::ALL.iter().map(|t| t.marking_id()))
            .collect();
        for id in &touched {
            if special.contains(id.as_str()) {
                continue;
            }
            let want = if let Some(row) = own.remove(id) {
                Some(row)
            } else if let Some(by) = c.shared.get(id) {
                let tlp = by.values().map(|(t, _)| *t).max().unwrap_or(Tlp::Clear);
                let (_, content) = by.values().next().expect("no empty entries are kept");
                let v: Value = serde_json::from_str(content).map_err(AppError::internal)?;
                Some(object_row(id, tlp, &stix::marked(v, tlp))?)
            } else {
                None
            };
            put(c, id, want)?;
        }
        let any = !c.incidents.is_empty();
        let want =
            if any { Some(object_row(&identity_id, Tlp::Clear, &stix::marked(identity, Tlp::Clear))?) } else { None };
        put(c, &identity_id, want)?;
        let mut used: BTreeSet<Tlp> = c.incidents.values().map(|b| b.tlp).collect();
        used.insert(Tlp::Clear);
        let top = used.iter().max().copied().unwrap_or(Tlp::Clear);
        let span = c.incidents.values().fold(None::<(OffsetDateTime, OffsetDateTime)>, |s, b| {
            Some(s.map_or((b.created_at, b.modified_at), |(f, l)| (f.min(b.created_at), l.max(b.modified_at))))
        });
        let want = if any {
            let refs = c.served.keys().filter(|id| **id != report_id && !id.starts_with("marking-definition--"));
            Some(report_row(&publisher, top, span, refs)?)
        } else {
            None
        };
        put(c, &report_id, want)?;
        for t in Tlp::ALL {
            let want = if any && used.contains(&t) {
                Some(object_row(t.marking_id(), t, &stix::sorted(t.marking_definition()))?)
            } else {
                None
            };
            put(c, t.marking_id(), want)?;
        }

        done.inserted = changes.insert.len();
        done.deleted = changes.delete.len();
        match store.taxii_apply(&changes, OffsetDateTime::now_utc()).await? {
            Some(generation) => {
                c.generation = Some(generation);
                c.fingerprint = target;
            }
            // Another process wrote first: read the store again next time.
            None => c.generation = None,
        }
        Ok(done)
    }
}

/// A page of `collection` after the cursor `next` (from the previous page), at most `limit`
/// objects (1 to [`MAX_PAGE`]).
pub async fn page(
    taxii: &Materialiser,
    collection: Collection,
    filter: &Filter,
    limit: usize,
    next: Option<&str>,
) -> Result<Page, AppError> {
    let after = match next {
        None => None,
        Some(c) => Some(decode_cursor(c).ok_or_else(|| {
            AppError::Invalid("next: not a cursor of this server / このサーバの next ではありません".into())
        })?),
    };
    if !filter.spec_versions.is_empty() && !filter.spec_versions.iter().any(|v| v == "2.1") {
        return Ok(Page { objects: Vec::new(), more: false, next: None });
    }
    // A walk's first page catches up with the data; the rest continue from its cursor.
    if next.is_none() {
        taxii.catch_up(FRESHNESS_WAIT).await?;
    }
    let limit = limit.clamp(1, MAX_PAGE);
    let q = TaxiiQuery {
        collection: collection.tlp.key().to_owned(),
        added_after: filter.added_after.map(stix::timestamp),
        types: filter.types.clone(),
        ids: filter.ids.clone(),
        versions: match &filter.versions {
            Versions::Current => Vec::new(),
            Versions::Exactly(v) => v.clone(),
        },
        after,
        limit: limit as i64 + 1,
    };
    let mut objects = taxii.store.taxii_objects(&q).await?;
    let more = objects.len() > limit;
    objects.truncate(limit);
    let next = if more { objects.last().map(encode_cursor) } else { None };
    Ok(Page { objects, more, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let r = TaxiiRow {
            id: "indicator--0b7e5a8c-3d0b-4e1a-8f00-000000000001".into(),
            date_added: "2026-12-06T21:00:00.123Z".into(),
            version: String::new(),
            content: String::new(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&r)), Some((r.date_added.clone(), r.id.clone())));
        for bad in ["", "x", "MjAyNg", &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("2026-12-06 a--b")] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps_truncate_to_milliseconds_in_utc() {
        assert_eq!(parse_timestamp("2026-12-06T21:00:00.1239Z").as_deref(), Some("2026-12-06T21:00:00.123Z"));
        assert_eq!(parse_timestamp("2026-12-07T06:00:00+09:00").as_deref(), Some("2026-12-06T21:00:00.000Z"));
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn collections_are_found_by_id_or_alias_and_red_is_none() {
        for c in Collection::ALL {
            assert_eq!(Collection::find(&c.id()), Some(c));
            assert_eq!(Collection::find(&c.alias()), Some(c));
            assert_eq!(c.id().len(), 36);
        }
        assert_eq!(Collection::find("tlp-red"), None);
        assert_eq!(Collection::find("tlp-amber-strict").map(|c| c.tlp), Some(Tlp::AmberStrict));
    }
}
