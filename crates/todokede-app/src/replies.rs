//! Analysts' messages to reporters: on the timeline, and by mail threaded onto the conversation.

use crate::AppError;
use todokede_domain::*;
use todokede_mail::{MailConfig, parse_inbound};
use todokede_store::Store;

/// An analyst's message to the reporter: on the report's timeline and, when the reporter gave
/// an address, queued as mail threaded onto the conversation. `if_version`: see
/// `Store::transition`.
pub async fn reply_to_reporter(
    store: &Store,
    cfg: &MailConfig,
    id: ReportId,
    analyst: UserId,
    body: &str,
    if_version: Option<i64>,
) -> Result<bool, AppError> {
    store.add_reply(id, analyst, body, if_version).await?;
    let report = store.report(id).await?.ok_or(AppError::NotFound)?;
    let Some(to) = &report.content.reporter.email else { return Ok(false) };
    // Thread onto the reporter's own mail and everything we sent before.
    let mut thread: Vec<String> = Vec::new();
    if report.channel == Channel::Email
        && let Some(raw) = store.raw_input(id).await?
        && let Some(mid) = parse_inbound(raw.bytes, cfg.limits).message_id
    {
        thread.push(mid);
    }
    thread.extend(store.sent_message_ids(id).await?);
    let m =
        todokede_mail::outbound::reply(&cfg.from, to, &report.tracking_number, report.content.language, body, &thread)
            .map_err(AppError::internal)?;
    store.enqueue_mail(id, &m.message_id, m.from.as_str(), m.to.as_str(), &m.raw).await?;
    Ok(true)
}

/// The placeholders a reply template may use, with what each becomes (Japanese, English).
/// `{analyst_name}` is the replying analyst's address (accounts have no other name): the
/// analyst sees it in the reply before sending, as everything a template fills in.
pub const PLACEHOLDERS: &[(&str, &str, &str)] = &[
    ("tracking_number", "受付番号", "the tracking number"),
    ("reporter_name", "届出者の氏名（なければ「ご担当者」）", "the reporter's name (else \"reporter\")"),
    ("reporter_organization", "届出者の組織名", "the reporter's organisation"),
    ("received_on", "届出日（日本時間）", "the date received (JST)"),
    ("state", "届出の状態", "the report's state"),
    ("analyst_name", "返信する分析者（メールアドレス）", "the replying analyst (their address)"),
];

/// What fills a template's placeholders for one report and one analyst.
#[derive(Debug, Clone)]
pub struct TemplateValues<'a> {
    pub report: &'a Report,
    pub analyst: &'a str,
    /// The language the template is written in (the reporter's name fallback, the state label).
    pub language: Language,
}

/// Check a template before it is saved: a name, a body, and no `{placeholder}` we do not fill
/// (a typo would reach the reporter as `{trackingnumber}`).
pub fn check_template(name: &str, body: &str) -> Result<(), AppError> {
    if name.trim().is_empty() || name.chars().count() > 100 {
        return Err(AppError::refused(
            "テンプレート名を 1〜100 文字で入力してください。",
            "Give the template a name of 1 to 100 characters.",
        ));
    }
    if body.trim().is_empty() || body.chars().count() > 20_000 {
        return Err(AppError::refused(
            "本文を 1〜20,000 文字で入力してください。",
            "The text must be 1 to 20,000 characters.",
        ));
    }
    let unknown: Vec<&str> = placeholders_in(body).filter(|p| !PLACEHOLDERS.iter().any(|(k, ..)| k == p)).collect();
    if !unknown.is_empty() {
        let known = PLACEHOLDERS.iter().map(|(k, ..)| format!("{{{k}}}")).collect::<Vec<_>>().join(" ");
        let unknown = unknown.iter().map(|p| format!("{{{p}}}")).collect::<Vec<_>>().join(" ");
        return Err(AppError::refused(
            format!("使えない差し込み項目があります: {unknown}（使えるもの: {known}）"),
            format!("Unknown placeholders: {unknown} (known: {known})"),
        ));
    }
    Ok(())
}

/// The `{word}`s of a text (letters, digits and `_` between braces).
fn placeholders_in(body: &str) -> impl Iterator<Item = &str> {
    body.split('{').skip(1).filter_map(|s| {
        let end = s.find('}')?;
        let word = &s[..end];
        (!word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(word)
    })
}

/// A template with its placeholders filled for one report.
pub fn fill_template(body: &str, v: &TemplateValues<'_>) -> String {
    let c = &v.report.content;
    let jst = time::UtcOffset::from_hms(9, 0, 0).expect("JST");
    let value = |key: &str| -> String {
        match key {
            "tracking_number" => v.report.tracking_number.to_string(),
            "reporter_name" => c
                .reporter
                .name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| v.language.pick("ご担当者", "reporter").to_owned()),
            "reporter_organization" => c.reporter.organization.clone().unwrap_or_default(),
            "received_on" => v.report.received_at.to_offset(jst).date().to_string(),
            "state" => v.report.state.label(v.language).to_owned(),
            "analyst_name" => v.analyst.to_owned(),
            _ => format!("{{{key}}}"),
        }
    };
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.find('}') {
            Some(end) if PLACEHOLDERS.iter().any(|(k, ..)| *k == &after[..end]) => {
                out.push_str(&value(&after[..end]));
                rest = &after[end + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// An admin saves a template (new with `id` None), checked first; audited by the store.
pub async fn save_template(
    store: &Store,
    id: Option<i64>,
    name: &str,
    language: Language,
    body: &str,
    by: Option<UserId>,
) -> Result<i64, AppError> {
    check_template(name, body)?;
    Ok(store.save_reply_template(id, name.trim(), language, body, by).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_fills_its_placeholders_and_an_unknown_one_is_refused() {
        let content = ReportContent {
            reporter: Reporter { name: Some("山田 太郎".into()), ..Default::default() },
            ..ReportContent::new(ReportForm::UnauthorizedAccess, Language::Ja, "x".into())
        };
        let report = Report {
            id: ReportId(1),
            tracking_number: TrackingNumber::generate(),
            state: ReportState::Triage,
            channel: Channel::WebForm,
            received_at: time::macros::datetime!(2026-12-03 16:30 UTC),
            content,
            attachments: vec![],
            assignee: None,
            timeline: vec![],
            intake_notes: vec![],
            version: 1,
        };
        let v = TemplateValues { report: &report, analyst: "chief@ipa.example", language: Language::Ja };
        let filled =
            fill_template("{reporter_name} 様 {tracking_number} {received_on} {state} {analyst_name} {x} {", &v);
        let tn = report.tracking_number.to_string();
        assert_eq!(filled, format!("山田 太郎 様 {tn} 2026-12-04 確認中 chief@ipa.example {{x}} {{"));
        assert!(check_template("t", "{tracking_number} {reporter_name}").is_ok());
        assert!(matches!(check_template("t", "{trackingnumber}"), Err(AppError::Refused { .. })));
        assert!(matches!(check_template("", "本文"), Err(AppError::Refused { .. })));
        assert!(check_template("t", "JSON {\"a\": 1} stays").is_ok(), "braces that are no placeholder are text");
    }
}
