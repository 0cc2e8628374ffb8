//! The TAXII 2.1 server's data (issue 18, the read side): one API root, one collection per
//! TLP 2.0 level up to TLP:AMBER+STRICT (never TLP:RED), holding exactly the objects of the
//! STIX export of everything approved for sharing (`exchange::stix_bundle` over
//! `ExportScope::All` — the same generator, so the same objects and bytes as
//! `todokede export stix --all`). An object is in the collection of the TLP it is marked with
//! (the strictest of the reports it comes from); a marking definition in its own level's.
//!
//! The objects are materialised in the store (`taxii_objects`) and rebuilt when the approved
//! data's fingerprint changes: an unchanged object keeps its `date_added`, a new or changed
//! one gets the time of the rebuild that first served it — later than every earlier rebuild,
//! so a client polling with `added_after` sees every change. Pages run in
//! (date_added, object id) order and the `next` cursor names the last (date_added, id)
//! served: the many objects one rebuild adds at one millisecond never repeat or vanish
//! between pages (cti-taxii2#50, OpenCTI#5681).

use crate::AppError;
use crate::exchange::{self, DEFAULT_PUBLISHER, ExportScope};
use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use todokede_publish::stix::{self, Publisher, Tlp};
use todokede_store::{Store, TaxiiObject, TaxiiQuery, TaxiiRow};

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

/// The collection an exported object belongs in: its marking's level (a marking definition:
/// its own level). `None` for an object without a TLP marking (the export has none).
fn level_of(o: &Value) -> Option<Tlp> {
    let marking_id = if o["type"] == "marking-definition" {
        o["id"].as_str()?
    } else {
        o["object_marking_refs"].as_array()?.first()?.as_str()?
    };
    Tlp::ALL.into_iter().find(|t| t.marking_id() == marking_id)
}

/// Every object the TAXII server serves, built by the STIX export.
pub async fn objects(store: &Store) -> Result<Vec<TaxiiObject>, AppError> {
    let publisher = Publisher { name: DEFAULT_PUBLISHER.into() };
    let bytes = match exchange::stix_bundle(store, &publisher, &ExportScope::All, Tlp::AmberStrict).await {
        Err(AppError::NotFound) => return Ok(Vec::new()),
        other => other?,
    };
    let bundle: Value = serde_json::from_slice(&bytes).map_err(AppError::internal)?;
    let mut out = Vec::new();
    for o in bundle["objects"].as_array().into_iter().flatten() {
        let Some(tlp) = level_of(o) else {
            return Err(AppError::Internal(format!("exported object {} has no TLP marking", o["id"])));
        };
        if tlp > Tlp::AmberStrict {
            continue;
        }
        let id = o["id"].as_str().unwrap_or_default().to_owned();
        let object_type = o["type"].as_str().unwrap_or_default().to_owned();
        let content = serde_json::to_string(o).map_err(AppError::internal)?;
        out.push(TaxiiObject {
            collection: tlp.key().to_owned(),
            version: o["modified"].as_str().or(o["created"].as_str()).map(str::to_owned),
            content_hash: hex::encode(Sha256::digest(content.as_bytes())),
            content,
            object_type,
            id,
        });
    }
    Ok(out)
}

/// One rebuild at a time in this process (others wait, then find it done).
static BUILDING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Make the stored objects those of the current approved data (a rebuild only when the
/// fingerprint changed). True when this call rebuilt them.
pub async fn refresh(store: &Store) -> Result<bool, AppError> {
    let fingerprint = format!("{GENERATOR}|{DEFAULT_PUBLISHER}|{}", store.sharing_fingerprint().await?);
    if store.taxii_fingerprint().await? == fingerprint {
        return Ok(false);
    }
    let _one = BUILDING.lock().await;
    if store.taxii_fingerprint().await? == fingerprint {
        return Ok(false);
    }
    // Read after the fingerprint: the objects are at least as new as it says.
    let objects = objects(store).await?;
    Ok(store.taxii_rebuild(&fingerprint, &objects, OffsetDateTime::now_utc()).await?)
}

/// A page of `collection` after the cursor `next` (from the previous page), at most `limit`
/// objects (1 to [`MAX_PAGE`]).
pub async fn page(
    store: &Store,
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
    refresh(store).await?;
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
    let mut objects = store.taxii_objects(&q).await?;
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
