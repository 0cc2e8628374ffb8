//! Sharing with CSIRTs: an analyst approves a report for sharing under a TLP 2.0 level, and
//! approved reports export as STIX 2.1 (`todokede_publish::stix`) — one report, an incident
//! (reports linked by analysts) or a period. Only what was approved leaves, and only through
//! the anonymiser: no reporter identity (their name, organisation, addresses, domains are
//! replaced in the text and dropped from the observables), no internal notes or replies (the
//! timeline is never read), no internal or warning-listed values.

use crate::AppError;
use crate::crossref::period_span;
use std::collections::{BTreeMap, BTreeSet};
use todokede_analyse::{AnalysisRecord, IndicatorType};
use todokede_domain::*;
use todokede_publish::stix::{self, Observable, Publisher, ShareCase, Tlp};
use todokede_store::Store;

/// The reporting point's name in exports unless configured (`todokede export --publisher`).
pub const DEFAULT_PUBLISHER: &str = "todokede 届出窓口 (incident reporting point)";

/// What an export covers.
#[derive(Debug, Clone)]
pub enum ExportScope {
    Report(TrackingNumber),
    /// The incident the report belongs to (all reports linked to it).
    Incident(TrackingNumber),
    Period(Period),
    /// Everything approved (the MISP feed).
    All,
}

/// Approve a report for sharing under `tlp`. It needs an analyst-confirmed classification:
/// what is shared is what an analyst decided, not the automatic guess.
pub async fn approve_sharing(store: &Store, id: ReportId, tlp: Tlp, by: UserId) -> Result<(), AppError> {
    if store.classification(id).await?.is_none() {
        return Err(AppError::Invalid(
            "confirm the classification before sharing / 共有の前に分類を確定してください".into(),
        ));
    }
    Ok(store.approve_sharing(id, tlp.key(), by).await?)
}

/// The kinds of the analysis that become observables (others — ports, file names, registry
/// keys, wallets — are not shared). E-mail addresses are never shared: in a report they are
/// mostly the victims' own.
fn shared_kind(t: IndicatorType) -> Option<&'static str> {
    Some(match t {
        IndicatorType::Ipv4 => "ipv4",
        IndicatorType::Ipv6 => "ipv6",
        IndicatorType::Domain => "domain",
        IndicatorType::Url => "url",
        IndicatorType::Md5 => "md5",
        IndicatorType::Sha1 => "sha1",
        IndicatorType::Sha256 => "sha256",
        IndicatorType::Cve => "cve",
        _ => return None,
    })
}

/// Is `value` (a domain or URL) under one of the reporter's own domains?
fn under(value: &str, domains: &[String]) -> bool {
    let v = value.to_ascii_lowercase();
    let host = v.split("://").nth(1).unwrap_or(&v).split(['/', ':', '?', '#']).next().unwrap_or("");
    domains.iter().any(|d| host == d || host.ends_with(&format!(".{d}")))
}

/// The observables of an analysis that may leave: not the reporter's own (internal), not
/// benign or warning-listed (context, and the warning lists again), not under the reporter's
/// domains.
fn observables(record: &AnalysisRecord, known: &todokede_publish::KnownIdentifiers) -> Vec<Observable> {
    let lists = todokede_analyse::warninglists::lists();
    let internal: BTreeSet<&str> = record.internal.values().flatten().map(String::as_str).collect();
    let context: BTreeSet<&str> = record.context.iter().map(|c| c.value.as_str()).collect();
    let mut out = Vec::new();
    for (t, values) in &record.indicators {
        let Some(kind) = shared_kind(*t) else { continue };
        for v in values {
            let benign = match kind {
                "ipv4" | "ipv6" => v.parse::<std::net::IpAddr>().map_or(true, |ip| {
                    lists.ip(ip).is_some() || ip.is_loopback() || ip.is_unspecified() || ip.is_multicast()
                }),
                "domain" => lists.domain(v).is_some(),
                "url" => {
                    let host = v.split("://").nth(1).unwrap_or(v).split(['/', ':', '?', '#']).next().unwrap_or("");
                    lists.domain(host).is_some()
                        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| lists.ip(ip).is_some())
                }
                _ => false,
            };
            if benign || internal.contains(v.as_str()) || context.contains(v.as_str()) || under(v, &known.domains) {
                continue;
            }
            out.push(Observable { kind: kind.into(), value: v.clone() });
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The approved cases of a scope, anonymised, at or below `max_tlp`.
pub async fn share_cases(store: &Store, scope: &ExportScope, max_tlp: Tlp) -> Result<Vec<ShareCase>, AppError> {
    let incidents = store.incidents().await?;
    let incident_of = |id: ReportId| incidents.get(&id).copied().unwrap_or(id);
    let wanted: Box<dyn Fn(&Report) -> bool + Send> = match scope {
        ExportScope::Report(tn) => {
            let tn = tn.clone();
            Box::new(move |r: &Report| r.tracking_number == tn)
        }
        ExportScope::Incident(tn) => {
            let id = store.report_id_by_tracking(tn).await?.ok_or(AppError::NotFound)?;
            let root = incident_of(id);
            let members: BTreeSet<ReportId> =
                incidents.iter().filter(|(_, r)| **r == root).map(|(k, _)| *k).chain([id]).collect();
            Box::new(move |r: &Report| members.contains(&r.id))
        }
        ExportScope::Period(p) => {
            let (from, to) = period_span(*p);
            Box::new(move |r: &Report| r.received_at >= from && r.received_at < to)
        }
        ExportScope::All => Box::new(|_: &Report| true),
    };
    let mut cases = Vec::new();
    for sharing in store.shared_reports().await? {
        let Some(tlp) = Tlp::parse(&sharing.tlp) else {
            return Err(AppError::Internal(format!("report {}: stored TLP {}", sharing.report.0, sharing.tlp)));
        };
        if tlp > max_tlp {
            continue;
        }
        let Some(r) = store.report(sharing.report).await? else { continue };
        if !wanted(&r) {
            continue;
        }
        cases.extend(case_of(store, r, tlp, sharing.approved_at, incident_of(sharing.report)).await?);
    }
    Ok(cases)
}

/// A report approved under `tlp` at `approved_at`, anonymised, as a case of the incident whose
/// first report is `root`; `None` without a confirmed classification (nothing of it leaves).
pub(crate) async fn case_of(
    store: &Store,
    r: Report,
    tlp: Tlp,
    approved_at: time::OffsetDateTime,
    root: ReportId,
) -> Result<Option<ShareCase>, AppError> {
    let Some(classification) = store.classification(r.id).await? else { return Ok(None) };
    let record = match store.analysis(r.id).await? {
        Some(j) => {
            Some(AnalysisRecord::parse(&j).map_err(|e| AppError::Internal(format!("analysis of {}: {e}", r.id.0)))?)
        }
        None => None,
    };
    let known = crate::publication::known_identifiers(&r.content);
    let summary = todokede_publish::anonymise(&r.content.description, &known, &BTreeSet::new()).text;
    let technique_names: BTreeMap<String, String> =
        record.iter().flat_map(|a| a.techniques.iter().map(|t| (t.id.clone(), t.name.clone()))).collect();
    let root_tn = if root == r.id {
        r.tracking_number.clone()
    } else {
        store.report(root).await?.map(|x| x.tracking_number).unwrap_or_else(|| r.tracking_number.clone())
    };
    Ok(Some(ShareCase {
        // Only hashed into ids, never written out.
        incident_key: root_tn.to_string(),
        tlp,
        form: r.content.form,
        received_at: r.received_at,
        approved_at,
        state: r.state,
        summary,
        classification,
        technique_names,
        observables: record.as_ref().map(|a| observables(a, &known)).unwrap_or_default(),
    }))
}

/// The approved cases of an export's scope; none is `NotFound` (nothing of it may leave).
async fn shared_cases_of(store: &Store, scope: &ExportScope, max_tlp: Tlp) -> Result<Vec<ShareCase>, AppError> {
    let cases = share_cases(store, scope, max_tlp).await?;
    if cases.is_empty() { Err(AppError::NotFound) } else { Ok(cases) }
}

/// The STIX 2.1 bundle of a scope: the same approved data gives the same bytes.
pub async fn stix_bundle(
    store: &Store,
    publisher: &Publisher,
    scope: &ExportScope,
    max_tlp: Tlp,
) -> Result<Vec<u8>, AppError> {
    let cases = shared_cases_of(store, scope, max_tlp).await?;
    let (key, title) = match scope {
        // Scope keys are hashed into the report id; tracking numbers are never written out.
        ExportScope::Report(tn) => (format!("report:{tn}"), "届出 1 件の共有 / one shared report".to_owned()),
        ExportScope::Incident(_) => {
            (format!("incident:{}", cases[0].incident_key), "インシデントの共有 / one shared incident".to_owned())
        }
        ExportScope::Period(p) => (format!("period:{p}"), format!("{p} の共有情報 / shared reports of {p}")),
        ExportScope::All => ("all".to_owned(), "共有情報 / shared reports".to_owned()),
    };
    Ok(stix::bundle(publisher, &stix::Scope { key, title }, &cases))
}

/// The static MISP feed of every approved report at or below `max_tlp`, one event per
/// incident (`todokede_publish::misp`).
pub async fn misp_feed(store: &Store, publisher: &str, max_tlp: Tlp) -> Result<todokede_publish::misp::Feed, AppError> {
    let cases = share_cases(store, &ExportScope::All, max_tlp).await?;
    Ok(todokede_publish::misp::feed(publisher, &cases))
}

/// A MISP event export of a scope (`todokede_publish::misp::export`): the feed's events for the
/// approved cases of the scope.
pub async fn misp_export(
    store: &Store,
    publisher: &str,
    scope: &ExportScope,
    max_tlp: Tlp,
) -> Result<Vec<u8>, AppError> {
    let cases = shared_cases_of(store, scope, max_tlp).await?;
    Ok(todokede_publish::misp::export(publisher, &cases))
}
