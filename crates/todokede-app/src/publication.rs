//! Publication workflow over the store, shared by the web UI and the CLI: period statistics,
//! drafting the half-year report (a new document version), analysts' edits (new versions),
//! approval, and rendering what was approved.

use crate::AppError;
use crate::crossref::period_span;
use std::collections::{BTreeMap, BTreeSet};
use time::{OffsetDateTime, macros::offset};
use todokede_domain::*;
use todokede_publish::document::{CaseInput, DraftChoices};
use todokede_publish::render::{self, RenderOptions};
use todokede_publish::stats::{self, CaseRecord, Statistics};
use todokede_publish::{Document, EvidenceFact, KnownIdentifiers};
use todokede_store::{ConfirmedCase, PublicationVersion, Store, StoreError};

/// The publication workflow's errors are the application's.
pub type PublicationError = AppError;

fn received_on(t: OffsetDateTime) -> time::Date {
    t.to_offset(offset!(+9)).date()
}

/// Web-mail providers: an address there says nothing about the reporter's organisation.
const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "yahoo.co.jp",
    "ymail.ne.jp",
    "outlook.com",
    "outlook.jp",
    "hotmail.com",
    "icloud.com",
    "docomo.ne.jp",
    "ezweb.ne.jp",
    "softbank.ne.jp",
    "au.com",
];

/// What the report says about its reporter, for the anonymiser (publication and exports).
pub(crate) fn known_identifiers(c: &ReportContent) -> KnownIdentifiers {
    let r = &c.reporter;
    let label = r.kind.map(|k| format!("届出者（{}）", k.label_ja())).unwrap_or_else(|| "届出者".into());
    let domain = r
        .email
        .as_ref()
        .and_then(|e| e.as_str().rsplit_once('@').map(|(_, d)| d.to_lowercase()))
        .filter(|d| !FREE_MAIL.contains(&d.as_str()));
    KnownIdentifiers {
        reporter_label: label,
        person_names: r.name.iter().cloned().collect(),
        organisations: r.organization.iter().cloned().collect(),
        emails: r.email.iter().map(|e| e.as_str().to_owned()).collect(),
        phones: r.phone.iter().cloned().collect(),
        addresses: r.address.iter().cloned().collect(),
        domains: domain.into_iter().collect(),
        // The forms ask for no readings; the anonymiser derives romaji and kana from the
        // e-mail address.
        ..Default::default()
    }
}

/// The contact points of 届出のお願い from the settings (placeholders for what is not set).
pub async fn contacts(store: &Store) -> Result<Vec<todokede_publish::scheme::Contact>, PublicationError> {
    let settings = crate::settings::load(store).await?;
    Ok(todokede_publish::scheme::contacts_from(|k| settings.contacts.get(k).cloned()))
}

/// What the logs attached to a report showed: the findings of its stored analysis (none when
/// it has no analysis yet or no logs). Addresses and accounts go to the trend chapter only to
/// be counted and classed.
async fn evidence_of(store: &Store, id: ReportId) -> Result<Vec<EvidenceFact>, PublicationError> {
    let Some(json) = store.analysis(id).await? else { return Ok(vec![]) };
    // A record an older analyser wrote and this one cannot read has no findings to offer.
    let Ok(record) = todokede_analyse::AnalysisRecord::parse(&json) else { return Ok(vec![]) };
    Ok(record
        .evidence
        .iter()
        .flat_map(|f| &f.findings)
        .map(|f| EvidenceFact {
            kind: f.kind.clone(),
            count: f.count,
            sources: f.sources.clone(),
            accounts: f.accounts.len(),
        })
        .collect())
}

fn record(c: &ConfirmedCase, incidents: &BTreeMap<ReportId, ReportId>) -> CaseRecord {
    let cl = &c.classification;
    CaseRecord {
        report: c.tracking_number.to_string(),
        incident: format!("incident-{}", incidents.get(&c.id).unwrap_or(&c.id).0),
        received_on: received_on(c.received_at),
        form: c.content.form,
        reporter_kind: c.content.reporter.kind,
        has_damage: cl.has_damage,
        attack_types: cl.attack_types.clone(),
        causes: cl.causes.clone(),
        damages: cl.damages.clone(),
        techniques: cl.techniques.clone(),
        virus: (c.content.form == ReportForm::Virus).then(|| stats::VirusRecord {
            name: c.content.virus.as_ref().and_then(|v| v.virus_name.clone().or_else(|| v.symptoms.clone())),
            detections: c.content.virus.as_ref().and_then(|v| v.detection_count),
        }),
        assets: c.content.affected.assets.clone(),
    }
}

/// The confirmed cases of the period and the two before it (for the comparison columns and
/// the trend), as records; plus the period's own cases with their records.
async fn load(
    store: &Store,
    period: Period,
) -> Result<(Vec<(ConfirmedCase, CaseRecord)>, Vec<CaseRecord>, u64), PublicationError> {
    let (from, _) = period_span(period.previous().previous());
    let (pfrom, to) = period_span(period);
    let incidents = store.incidents().await?;
    let all = store.confirmed_cases(from, to).await?;
    let records: Vec<CaseRecord> = all.iter().map(|c| record(c, &incidents)).collect();
    let received = store.count_received(pfrom, to).await? as u64;
    let own = all
        .into_iter()
        .zip(records.iter().cloned())
        .filter(|(c, _)| period.contains(received_on(c.received_at)))
        .collect();
    Ok((own, records, received))
}

/// The period's significant rises (candidates for a notable-technique chapter).
pub async fn surges(store: &Store, period: Period) -> Result<Vec<todokede_analyse::trends::Surge>, PublicationError> {
    let (_, records, _) = load(store, period).await?;
    Ok(todokede_publish::document::period_surges(&records, period))
}

/// The half-year a publication page opens on: the newest one with a confirmed report (what
/// there is to publish), else the one `now` falls in.
pub async fn default_period(store: &Store, now: OffsetDateTime) -> Result<Period, PublicationError> {
    let newest = store.newest_confirmed_received_at().await?;
    let d = received_on(newest.unwrap_or(now));
    Ok(Period::Half(d.year(), if (d.month() as u8) <= 6 { 1 } else { 2 }))
}

pub async fn statistics(store: &Store, period: Period, threshold: u64) -> Result<Statistics, PublicationError> {
    let (_, records, received) = load(store, period).await?;
    Ok(stats::compute(&records, received, period, threshold))
}

/// Feature choices by tracking number ("HMX4P-7TQ2C=タイトル").
/// `NUMBER=TITLE`: the case by its tracking number or by the reporter's own reference (an
/// imported seed's `2019H2-02`); [`draft`] resolves a reference to the number.
/// One featured case as typed, `NUMBER=TITLE`: the number is kept as typed (a tracking number
/// or the reporter's reference, which [`draft`] resolves), so an error can name what was typed.
pub fn parse_feature(s: &str) -> Result<todokede_publish::FeatureChoice, PublicationError> {
    let s = s.trim();
    let Some((report, title)) = s.split_once('=').map(|(n, t)| (n.trim(), t.trim())).filter(|(n, _)| !n.is_empty())
    else {
        return Err(PublicationError::refused(
            format!(
                "「{s}」：1 行に「受付番号=章の題名」（または「届出者の管理番号=章の題名」）の形で書いてください。"
            ),
            format!("“{s}”: give NUMBER=TITLE (the tracking number or the reporter's reference), one per line."),
        ));
    };
    Ok(todokede_publish::FeatureChoice { report: report.to_owned(), title: title.to_owned() })
}

/// Generate a new draft version of the period's report from the confirmed cases.
pub async fn draft(
    store: &Store,
    period: Period,
    choices: &DraftChoices,
    threshold: u64,
    by: UserId,
) -> Result<(i64, Document), PublicationError> {
    let (own, records, received) = load(store, period).await?;
    if own.is_empty() {
        // An empty version 1 would only have to be thrown away: say what is missing instead.
        return Err(PublicationError::Invalid(format!(
            "{period} has no confirmed reports ({received} received): confirm classifications first \
             (`todokede classify`, or on the report page); no draft was created"
        )));
    }
    let mut choices = choices.clone();
    for f in &mut choices.featured {
        // A tracking number as typed (any case, with or without the hyphen), else a reference.
        if let Ok(tn) = TrackingNumber::parse(&f.report)
            && own.iter().any(|(c, _)| c.tracking_number == tn)
        {
            f.report = tn.to_string();
            continue;
        }
        let by_reference: Vec<_> =
            own.iter().filter(|(c, _)| c.content.reporter_reference.as_deref() == Some(f.report.as_str())).collect();
        match by_reference.as_slice() {
            [(c, _)] => f.report = c.tracking_number.to_string(),
            // Named as typed (the tracking-number reading turned NOPE1 into N0PE1-N0PE1).
            _ => {
                return Err(PublicationError::refused(
                    format!(
                        "「{}」は {period} の分類を確定した届出ではありません。受付番号か届出者の管理番号を確認してください。草稿は作成されていません。",
                        f.report
                    ),
                    format!(
                        "“{}” is not a confirmed report of {period}: give its tracking number or its reference. No draft was created.",
                        f.report
                    ),
                ));
            }
        }
    }
    let choices = &choices;
    let mut cases: Vec<CaseInput> = Vec::with_capacity(own.len());
    for (c, record) in own {
        let evidence = evidence_of(store, c.id).await?;
        cases.push(CaseInput {
            record,
            description: c.content.description.clone(),
            discovery: c.content.discovery_narrative.clone(),
            damage: c.content.damage_narrative.clone(),
            cause: c.content.cause_narrative.clone(),
            response: c.content.response_narrative.clone(),
            virus: c.content.virus.clone(),
            known: known_identifiers(&c.content),
            evidence,
        });
    }
    let statistics = stats::compute(&records, received, period, threshold);
    let mut doc = todokede_publish::generate(period, &cases, &records, choices, statistics);
    doc.contacts = contacts(store).await?;
    let json = serde_json::to_string(&doc).expect("document serialises");
    let version = store.save_publication(&period.to_string(), &json, by, "generated").await?;
    Ok((version, doc))
}

fn decode(v: &PublicationVersion) -> Result<Document, PublicationError> {
    serde_json::from_str(&v.document_json)
        .map_err(|e| AppError::from(StoreError::Corrupt(format!("publication {} v{}: {e}", v.period, v.version))))
}

/// The latest version of the period's document, if any.
pub async fn latest(store: &Store, period: Period) -> Result<Option<(PublicationVersion, Document)>, PublicationError> {
    let Some(v) = store.publication_versions(&period.to_string()).await?.into_iter().next() else { return Ok(None) };
    let d = decode(&v)?;
    Ok(Some((v, d)))
}

/// The latest approved version: the only one that may be published.
pub async fn approved(
    store: &Store,
    period: Period,
) -> Result<Option<(PublicationVersion, Document)>, PublicationError> {
    let Some(v) = store.publication_versions(&period.to_string()).await?.into_iter().find(|v| v.approved_at.is_some())
    else {
        return Ok(None);
    };
    let d = decode(&v)?;
    Ok(Some((v, d)))
}

/// Apply edits (path → text) to the latest version, saving a new one.
pub async fn edit(
    store: &Store,
    period: Period,
    edits: &BTreeMap<String, String>,
    by: UserId,
) -> Result<(i64, Vec<String>), PublicationError> {
    let (_, mut doc) =
        latest(store, period).await?.ok_or_else(|| PublicationError::Invalid(format!("no draft for {period} yet")))?;
    let changed = doc.apply_edits(edits).map_err(|p| PublicationError::Invalid(format!("no text at `{p}`")))?;
    if changed.is_empty() {
        return Err(PublicationError::Invalid("nothing changed".into()));
    }
    let json = serde_json::to_string(&doc).expect("document serialises");
    let version =
        store.save_publication(&period.to_string(), &json, by, &format!("edited: {}", changed.join(", "))).await?;
    Ok((version, changed))
}

/// Approve one version for publication. With the four-eyes rule on (the default, a setting)
/// the approver must not be the version's last editor: whoever drafted or edited a version
/// cannot also be the one who lets it out. Refusals say why, in both languages.
pub async fn approve(store: &Store, period: Period, version: i64, by: UserId) -> Result<(), PublicationError> {
    let versions = store.publication_versions(&period.to_string()).await?;
    let Some(v) = versions.iter().find(|v| v.version == version) else {
        return Err(PublicationError::refused(
            format!("{period} に第 {version} 版はありません。"),
            format!("{period} has no version {version}."),
        ));
    };
    if v.approved_at.is_some() {
        return Err(PublicationError::refused(
            format!("{period} の第 {version} 版は承認済みです。"),
            format!("Version {version} of {period} is approved already."),
        ));
    }
    if v.created_by == by && crate::settings::load(store).await?.four_eyes_publication {
        return Err(PublicationError::refused(
            format!(
                "第 {version} 版を最後に編集したのはあなたです。承認は別の分析者が行ってください（4つの目の原則）。"
            ),
            format!("You edited version {version} last: another analyst must approve it (four-eyes rule)."),
        ));
    }
    // 届出のお願い must say where reports go: a version whose contact points are still
    // placeholders (【要設定】, the reserved .invalid domain) is not let out.
    let doc = decode(v)?;
    if doc.contacts.iter().any(|c| c.placeholder) {
        let settings = crate::settings::load(store).await?;
        let unset = todokede_publish::scheme::unset_contact_keys(&doc.contacts, |k| settings.contacts.get(k).cloned());
        return Err(if unset.is_empty() {
            PublicationError::refused(
                format!(
                    "第 {version} 版は連絡先（届出のお願い）の設定前に作成されたため、連絡先が【要設定】のままです。草稿を作成し直し（publication draft）、新しい版を承認してください。"
                ),
                format!(
                    "Version {version} was drafted before the contact points were set and still prints 【要設定】: draft again (publication draft) and approve the new version."
                ),
            )
        } else {
            let list = unset.join(", ");
            PublicationError::refused(
                format!(
                    "届出のお願いの連絡先が設定されていないため承認できません。次の設定を行い（todokede settings set KEY VALUE、または /admin/settings）、草稿を作成し直してください：{list}"
                ),
                format!(
                    "The contact points of 届出のお願い are not set, so this version cannot be approved. Set {list} (todokede settings set KEY VALUE, or /admin/settings), then draft again."
                ),
            )
        });
    }
    if !store.approve_publication(&period.to_string(), version, by).await? {
        return Err(PublicationError::Conflict(format!("version {version} of {period} was approved meanwhile")));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Pdf,
    Markdown,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "html" => Some(Format::Html),
            "pdf" => Some(Format::Pdf),
            "md" | "markdown" => Some(Format::Markdown),
            _ => None,
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Pdf => "application/pdf",
            Format::Markdown => "text/markdown; charset=utf-8",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Pdf => "pdf",
            Format::Markdown => "md",
        }
    }
}

/// Render the approved version, or with `draft` the latest version marked as a draft.
pub async fn render(store: &Store, period: Period, format: Format, draft: bool) -> Result<Vec<u8>, PublicationError> {
    let found = if draft { latest(store, period).await? } else { approved(store, period).await? };
    let (v, doc) = found.ok_or_else(|| {
        PublicationError::Invalid(if draft {
            format!("no draft for {period} yet")
        } else {
            format!("no approved version of {period}: approve one first (or render the draft with --draft)")
        })
    })?;
    let opts = RenderOptions {
        draft: v.approved_at.is_none(),
        issued: match v.approved_at {
            Some(at) => format!("{}年{}月 発行（第 {} 版）", at.year(), at.month() as u8, v.version),
            None => format!("草稿 第 {} 版", v.version),
        },
    };
    Ok(match format {
        Format::Html => render::html(&doc, &opts)?.into_bytes(),
        Format::Markdown => render::markdown(&doc, &opts).into_bytes(),
        // Typesetting is CPU-bound: off the async runtime.
        Format::Pdf => tokio::task::spawn_blocking(move || render::pdf(&doc, &opts))
            .await
            .map_err(|e| AppError::Internal(format!("typesetting panicked: {e}")))??,
    })
}

pub fn keep_set(values: &[String]) -> BTreeSet<String> {
    values.iter().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).collect()
}
