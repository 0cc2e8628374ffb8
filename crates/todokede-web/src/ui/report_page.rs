//! One report for analysts: the page (content, timeline, analysis, classification form, links and suggestions) and attachment downloads (samples only inside an `infected` zip).

use super::*;
use todokede_analyse::AnalysisRecord;
use todokede_analyse::record::DecisionRecord;

pub(super) fn analysis_view(record: &AnalysisRecord, lang: Language) -> Value {
    let en = lang == Language::En;
    let section = |decisions: &[DecisionRecord], ja: &str, en_title: &str| {
        let items: Vec<Value> = decisions
            .iter()
            .map(|d| {
                context! {
                    label => d.label(lang),
                    confidence => format!("{:.2}", d.confidence),
                    // Below the decision threshold: the analyst's to confirm (要確認), never silently dropped.
                    review => d.needs_review.then_some(if en { "needs review" } else { "要確認" }),
                    evidence => record.evidence_in(d, lang).join(" | "),
                }
            })
            .collect();
        context! { title => if en { en_title } else { ja }, items }
    };
    let evidence: Vec<Value> = record
        .evidence
        .iter()
        .map(|f| {
            let findings: Vec<Value> = f
                .findings
                .iter()
                .map(|x| {
                    context! {
                        severity => x.severity.key(), severity_label => x.severity.label(lang), summary => x.summary_in(lang), technique => x.technique,
                        proof => x.proof.iter().map(|l| format!("{:>7}: {}", l.line, l.text)).collect::<Vec<_>>(),
                    }
                })
                .collect();
            context! { file => shown_name(&f.file), lines => f.lines, also => f.also_attached_as.iter().map(|n| shown_name(n)).collect::<Vec<_>>(), findings }
        })
        .collect();
    context! {
        sections => vec![
            section(&record.causes, "被害原因（主原因が先頭）", "Causes (primary first)"),
            section(&record.damages, "被害内容", "Damage"),
            section(&record.attack_types, "攻撃行為", "Attack types"),
        ],
        indicators => record.indicators.iter().map(|(k, v)| context! { type => k.label(lang), values => v.join(", ") }).collect::<Vec<_>>(),
        techniques => record.techniques.iter().map(|t| context! { id => t.id, name => t.name }).collect::<Vec<_>>(),
        countermeasures => record.countermeasures.iter().map(|m| if en { m.en.as_str() } else { m.ja.as_str() }).collect::<Vec<_>>(),
        evidence,
    }
}

/// What the analyst just did, confirmed at the top of the page they come back to.
fn done_message(done: &str, lang: Language) -> Option<&'static str> {
    let (ja, en) = match done {
        "state" => ("状態を変更しました。", "The state was changed."),
        "reply" => (
            "返信を記録しました（連絡先があればメールでも送ります）。",
            "The reply was recorded (and mailed, if there is an address).",
        ),
        "note" => ("内部メモを追加しました。", "The note was added."),
        "classify" => ("分類を確定しました。", "The classification was confirmed."),
        "assign" => ("担当者を変更しました。", "The assignment was changed."),
        "link" => ("関連付けました。", "The reports were linked."),
        "share" => ("共有の設定を保存しました。", "The sharing choice was saved."),
        _ => return None,
    };
    Some(lang.pick(ja, en))
}

pub(super) async fn report_page(
    State(st): State<AppState>,
    Analyst(c, user): Analyst,
    Path(tn): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    report_view(&st, &c, &user, &tn, &q, Typed::default()).await
}

/// A reply template filled for this report and analyst, as text (GET
/// `/reports/{tn}/reply-template?template=ID`): what app.js inserts at the reply field's cursor.
pub(super) async fn reply_template_text(
    State(st): State<AppState>,
    Analyst(c, user): Analyst,
    Path(tn): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(r) = load_for_analyst(&st, &tn).await else {
        return error_page(&st, &c, StatusCode::NOT_FOUND, "見つかりません。", "Not found.");
    };
    let id = q.get("template").and_then(|t| t.parse::<i64>().ok());
    let templates = st.store.reply_templates().await.unwrap_or_default();
    let Some(t) = templates.iter().find(|t| Some(t.id) == id) else {
        return error_page(&st, &c, StatusCode::NOT_FOUND, "そのテンプレートはありません。", "No such template.");
    };
    let text = todokede_app::replies::fill_template(
        &t.body,
        &todokede_app::replies::TemplateValues { report: &r, analyst: &user.email, language: t.language },
    );
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

/// What the analyst typed into a form of the report page that brings the page back instead of
/// a redirect: a link refused (the number kept, the error beside the field) or a reply
/// template inserted without JavaScript (the draft kept, the template appended).
#[derive(Default)]
pub(super) struct Typed {
    /// The reply as typed, when a template is to be inserted into it.
    pub(super) reply: Option<String>,
    /// The template to insert (else `?template=`).
    pub(super) template: Option<i64>,
    /// The number typed into the link form and why it was refused.
    pub(super) link_other: Option<String>,
    pub(super) link_error: Option<String>,
}

/// The report page, with what was typed into one of its forms (`typed`).
// The body is the handler's as it was (`&st`, `&c` on references): kept so for the merge.
#[allow(clippy::needless_borrow)]
pub(super) async fn report_view(
    st: &AppState,
    c: &Ctx,
    user: &todokede_store::User,
    tn: &str,
    q: &HashMap<String, String>,
    typed: Typed,
) -> Response {
    let done = q.get("done").and_then(|d| done_message(d, c.lang));
    let Some(r) = load_for_analyst(&st, &tn).await else {
        return error_page(&st, &c, StatusCode::NOT_FOUND, "見つかりません。", "Not found.");
    };
    let l = c.lang;
    let rep = &r.content.reporter;
    let row = |ja: &str, en: &str, v: Option<String>| context! { k => l.pick(ja, en).to_owned(), v => v.unwrap_or_else(|| "—".into()) };
    let reporter = vec![
        row("種別", "Kind", rep.kind.map(|k| label(k, l).to_owned())),
        row("氏名", "Name", rep.name.clone()),
        row("組織", "Organisation", rep.organization.clone()),
        row("E-Mail", "E-mail", rep.email.as_ref().map(|e| e.as_str().to_owned())),
        row("TEL", "Phone", rep.phone.clone()),
        row("住所", "Prefecture", rep.address.clone()),
        row("届出者の管理番号", "Reporter's reference", r.content.reporter_reference.clone()),
    ];
    // What the reporter answered on the form (the ticked items, the dates and the choices),
    // beside the automatic analysis: only the answered items.
    let ct = &r.content;
    let labels = |v: Vec<&'static str>| (!v.is_empty()).then(|| v.join("、"));
    let mut answers = vec![
        row("発見年月日", "Date discovered", ct.discovered_on.map(|d| d.to_string())),
        row("発見契機", "How it was found", ct.discovery.map(|d| label(d, l).to_owned())),
        row(
            if ct.form == ReportForm::Virus { "感染／検知のみ" } else { "被害の有無" },
            if ct.form == ReportForm::Virus { "Infected or detected" } else { "Damage or attempt only" },
            Some(match (ct.form, ct.damage_status) {
                (ReportForm::Virus, DamageStatus::Damage) => l.pick("感染した", "Infected").to_owned(),
                (ReportForm::Virus, DamageStatus::AttemptOnly) => {
                    l.pick("検知のみ（感染なし）", "Detected only").to_owned()
                }
                (_, s) => label(s, l).to_owned(),
            }),
        ),
        row("被害内容", "Damage", labels(ct.damages.iter().map(|d| label(*d, l)).collect())),
        row(
            "被害を受けた機器等",
            "Affected systems",
            labels(ct.affected.assets.iter().map(|d| label(*d, l)).collect()),
        ),
        row("設置環境", "Where", labels(ct.affected.deployment.iter().map(|d| label(*d, l)).collect())),
        row("インターネット接続", "Internet", ct.affected.internet_connected.map(|d| label(d, l).to_owned())),
        row("OS", "OS", ct.affected.os.clone()),
        row(
            "ソフトウェア",
            "Software",
            (!ct.affected.software.is_empty()).then(|| {
                ct.affected
                    .software
                    .iter()
                    .map(|s| format!("{} {}", s.name, s.version.as_deref().unwrap_or("")).trim().to_owned())
                    .collect::<Vec<_>>()
                    .join("、")
            }),
        ),
        row(
            "公開していたポート",
            "Open ports",
            (!ct.affected.exposed_ports.is_empty())
                .then(|| ct.affected.exposed_ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")),
        ),
        row("被害原因", "Cause", labels(ct.causes.iter().map(|d| label(*d, l)).collect())),
    ];
    if let Some(v) = &ct.virus {
        answers.extend([
            row("ウイルス名称", "Virus name", v.virus_name.clone()),
            row("症状", "Symptoms", v.symptoms.clone()),
            row("検出数", "Detections", v.detection_count.map(|n| n.to_string())),
            row(
                "推定される感染経路",
                "Infection route",
                labels(v.infection_vectors.iter().map(|d| label(*d, l)).collect()),
            ),
        ]);
    }
    let answers: Vec<Value> = answers
        .into_iter()
        .filter(|a| a.get_attr("v").ok().and_then(|v| v.as_str().map(|s| s != "—")).unwrap_or(true))
        .collect();
    let mut narratives = Vec::new();
    for (ja, en, v) in [
        ("発見の経緯", "Discovery", &r.content.discovery_narrative),
        ("被害", "Damage", &r.content.damage_narrative),
        ("原因", "Cause", &r.content.cause_narrative),
        ("対応", "Response", &r.content.response_narrative),
    ] {
        if let Some(text) = v {
            narratives.push(context! { title => l.pick(ja, en), text });
        }
    }
    let users = st.store.users().await.unwrap_or_default();
    let email_of =
        |u: UserId| users.iter().find(|x| x.id == u).map(|x| x.email.clone()).unwrap_or_else(|| format!("#{}", u.0));
    let timeline: Vec<Value> = r
        .timeline
        .iter()
        .map(|e| {
            // Who: the analyst by address, the reporter, or the system.
            let (actor_key, who) = match e.actor() {
                Actor::Analyst(u) => ("analyst", email_of(u)),
                Actor::Reporter => ("reporter", l.pick("届出者", "Reporter").to_owned()),
                Actor::System => {
                    ("system", l.pick("システム（届出者の回答による）", "System (the reporter answered)").to_owned())
                }
            };
            let (kind, what, body) = match e {
                TimelineEntry::StateChanged { from, to, .. } => {
                    ("state", format!("{} → {}", label(*from, l), label(*to, l)), String::new())
                }
                TimelineEntry::FollowUp { body, attachments, .. } => (
                    "follow_up",
                    l.pick("届出者からの続報", "Follow-up from the reporter").to_owned(),
                    format!(
                        "{body}{}",
                        attachments
                            .iter()
                            .map(|a| format!("\n{} {}", l.pick("添付:", "Attached:"), shown_name(&a.filename)))
                            .collect::<String>()
                    ),
                ),
                TimelineEntry::Note { body, .. } => {
                    ("note", l.pick("内部メモ", "Internal note").to_owned(), body.clone())
                }
                TimelineEntry::Reply { body, .. } => {
                    ("reply", l.pick("届出者への返信", "Reply to the reporter").to_owned(), body.clone())
                }
                TimelineEntry::Assigned { to, .. } => (
                    "assign",
                    match to {
                        Some(u) => format!("{} {}", l.pick("担当者を設定:", "Assigned to"), email_of(*u)),
                        None => l.pick("担当者を解除", "Unassigned").to_owned(),
                    },
                    String::new(),
                ),
                TimelineEntry::Classified { primary_cause, .. } => (
                    "classify",
                    match primary_cause {
                        Some(c) => {
                            format!(
                                "{}{}",
                                l.pick("分類を確定（主原因: ", "Classification confirmed (primary cause: "),
                                label(*c, l)
                            ) + l.pick("）", ")")
                        }
                        None => l.pick("分類を確定", "Classification confirmed").to_owned(),
                    },
                    String::new(),
                ),
                TimelineEntry::Linked { other, .. } => {
                    ("link", format!("{} {other}", l.pick("関連付け:", "Linked with")), String::new())
                }
            };
            context! { kind, at => jst(e.at()), what, body, who, actor_key }
        })
        .collect();
    // Mail about this report and where it stands: a reply queued is not a reply delivered.
    let mail: Vec<Value> =
        st.store.report_mail(r.id).await.unwrap_or_default().iter().rev().map(|m| mail_view(m, l)).collect();
    let attachments = r.all_attachments();
    // Each attachment with how its name disguises it, if it does (what it starts with decides
    // an executable under a document's name: only the head is read).
    let mut attachment_rows = Vec::with_capacity(attachments.len());
    for a in &attachments {
        let head = st.store.blob_head(&a.sha256, 4096).await.ok().flatten().unwrap_or_default();
        let disguise = todokede_analyse::sample::disguise(&a.filename, &head).map(|d| disguise_text(&d, l));
        attachment_rows.push(context! {
            sha256 => a.sha256, filename => shown_name(&a.filename), size => a.size, content_type => a.content_type, disguise,
        });
    }
    let record = st.store.analysis(r.id).await.ok().flatten().and_then(|s| AnalysisRecord::parse(&s).ok());
    let analysis = record.as_ref().map(|a| analysis_view(a, l));
    let analysts: Vec<Value> = users
        .iter()
        .filter(|u| !u.disabled)
        .map(|u| context! { id => u.id.0, email => u.email, selected => Some(u.id) == r.assignee })
        .collect();
    let links: Vec<String> =
        st.store.linked_reports(r.id).await.unwrap_or_default().iter().map(|t| t.to_string()).collect();
    let (suggested, near) = crossref_pages::suggestions(&st, r.id, &links).await;
    // Indicators on the analysts' lists: watch hits shown at the top; warning-list values said
    // to be context (they suggest no links).
    let hits = st.store.watch_hits(r.id).await.unwrap_or_default();
    let hit_view = |h: &todokede_store::WatchHit| {
        context! {
            list => h.list, href => format!("/watchlists/{}", urlencode(&h.list)), indicator => format!("{} {}", h.indicator_kind, h.indicator_value),
            entry => format!("{} {}", h.entry.kind, h.entry.value), source_file => h.entry.source_file, source_id => h.entry.source_id,
            valid_until => h.entry.valid_until.map(jst),
        }
    };
    let watch_hits: Vec<Value> = hits.iter().filter(|h| h.list_kind == WatchlistKind::Watch).map(hit_view).collect();
    let warning_hits: Vec<Value> =
        hits.iter().filter(|h| h.list_kind == WatchlistKind::Warning).map(hit_view).collect();
    // The classification form: the confirmed values, else the automatic ones to confirm.
    let confirmed = st.store.classification(r.id).await.ok().flatten();
    let current = match &confirmed {
        Some(c) => c.clone(),
        None => record.as_ref().map(AnalysisRecord::suggested_classification).unwrap_or_default(),
    };
    let checks = |all: Vec<Value>, chosen: Vec<&str>| {
        all.into_iter()
            .map(|o| {
                let on = chosen.contains(
                    &o.get_attr("key").ok().and_then(|k| k.as_str().map(str::to_owned)).unwrap_or_default().as_str(),
                );
                context! { ..o, ..context! { on } }
            })
            .collect::<Vec<_>>()
    };
    let classification = context! {
        confirmed => confirmed.is_some(),
        primary => current.causes.first().map(|c| c.key()),
        causes => checks(options::<CauseCategory>(l), current.causes.iter().skip(1).map(|c| c.key()).collect()),
        cause_options => options::<CauseCategory>(l),
        damages => checks(options::<DamageCategory>(l), current.damages.iter().map(|c| c.key()).collect()),
        attack_types => checks(options::<AttackType>(l), current.attack_types.iter().map(|c| c.key()).collect()),
        techniques => current.techniques.join(", "),
        has_damage => match current.has_damage { Some(true) => "yes", Some(false) => "no", None => "unknown" },
    };
    // The sharing approval (STIX / MISP) and what the anonymised summary would say.
    let shared = st.store.shared_reports().await.ok().and_then(|all| all.into_iter().find(|x| x.report == r.id));
    let sharing = context! {
        tlp => shared.as_ref().map(|x| x.tlp.clone()),
        at => shared.as_ref().map(|x| jst(x.approved_at)),
        levels => todokede_publish::stix::Tlp::ALL.iter().map(|t| context! { key => t.key(), name => t.name() }).collect::<Vec<_>>(),
        classified => confirmed.is_some(),
    };
    // Reply templates: the one picked (`?template=ID`, a GET form: no JavaScript) fills the reply
    // field for this report and this analyst; the report's language first in the list.
    let templates = st.store.reply_templates().await.unwrap_or_default();
    let picked = typed
        .template
        .or_else(|| q.get("template").and_then(|t| t.parse::<i64>().ok()))
        .and_then(|id| templates.iter().find(|t| t.id == id));
    let fill = |t: &todokede_store::ReplyTemplate| {
        todokede_app::replies::fill_template(
            &t.body,
            &todokede_app::replies::TemplateValues { report: &r, analyst: &user.email, language: t.language },
        )
    };
    // A template inserted into a draft goes after what was typed, never over it.
    let draft = typed.reply.as_deref().map(str::trim_end).filter(|d| !d.is_empty());
    let reply_text = match (draft, picked.map(fill)) {
        (Some(d), Some(t)) => format!("{d}\n\n{t}"),
        (Some(d), None) => d.to_owned(),
        (None, t) => t.unwrap_or_default(),
    };
    let mut template_options: Vec<&todokede_store::ReplyTemplate> = templates.iter().collect();
    template_options.sort_by_key(|t| t.language != r.content.language);
    let template_options: Vec<Value> = template_options
        .iter()
        .map(|t| context! { id => t.id, name => t.name, language => label(t.language, l), selected => picked.map(|p| p.id) == Some(t.id) })
        .collect();
    // The clocks: the SLA of the current state, and the reporter's answer waiting for an analyst.
    let clock = st.store.report_clock(r.id).await.ok();
    let now = time::OffsetDateTime::now_utc();
    let settings = todokede_app::settings::load(&st.store).await.unwrap_or_default();
    let sla = clock
        .and_then(|k| todokede_app::settings::Settings::clock_start(r.channel, r.received_at, k.state_since))
        .and_then(|since| queue::sla_view(&settings, r.state, since, now, l));
    let answered_at = clock.and_then(|k| k.answered_at).map(jst);
    let link_error = typed.link_error;
    let mut page = render(
        st,
        c,
        "report.html",
        context! {
            r => context! {
                tracking_number => r.tracking_number.to_string(), state => label(r.state, l), state_key => r.state.key(), form => label(r.content.form, l),
                channel => label(r.channel, l), received_at => jst(r.received_at), description => r.content.description, narratives, reporter, answers,
                attachments => attachment_rows,
                intake_notes => r.intake_notes, timeline, mail,
                next_states => r.state.next_states().iter().map(|s| context! { key => s.key(), label => label(*s, l) }).collect::<Vec<_>>(),
            },
            analysis, reply_text, template_options, analysts, links, suggested, near, classification, done, sharing, sla, answered_at,
            watch_hits, warning_hits,
            link_other => typed.link_other, link_error => link_error.clone(),
        },
    );
    if link_error.is_some() {
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    page
}

/// Attachments leave only as downloads: never rendered in our origin.
pub(super) async fn download(
    State(st): State<AppState>,
    Analyst(c, user): Analyst,
    Path((tn, sha)): Path<(String, String)>,
) -> Response {
    let not_found = || error_page(&st, &c, StatusCode::NOT_FOUND, "見つかりません。", "Not found.");
    let Some(r) = load_for_analyst(&st, &tn).await else { return not_found() };
    // Only an attachment of this report: a hash from another report is not found here.
    let Some(meta) = r.all_attachments().into_iter().find(|a| a.sha256 == sha) else { return not_found() };
    let Ok(Some(bytes)) = st.store.blob(&meta.sha256).await else { return not_found() };
    let _ = st.store.audit(Some(user.id), "attachment.download", Some(&r.id.0.to_string()), Some(&meta.filename)).await;
    let (bytes, filename) = if suspected_malware(&meta.filename, &bytes) {
        // A suspected sample leaves only inside an encrypted archive with the conventional
        // password, so no scanner quarantines it on the way and nobody opens it by a click; a
        // name's reordering characters do not leave with it (the saved file shows what it is).
        let name = defanged_name(&meta.filename);
        match infected_zip(&name, &bytes) {
            Ok(z) => (z, format!("{name}.zip")),
            Err(e) => {
                tracing::error!(error = %e, "zip");
                return error_page(
                    &st,
                    &c,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "添付ファイルを用意できませんでした。",
                    "The attachment could not be prepared.",
                );
            }
        }
    } else {
        (bytes, meta.filename.clone())
    };
    let meta = AttachmentMeta { filename, ..meta.clone() };
    let ascii: String = meta
        .filename
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_') { ch } else { '_' })
        .collect();
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{}", urlencode(&meta.filename));
    let mut res = Bytes::from(bytes).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
    );
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    res
}

/// A file name for a page: as given, except that the characters that reorder or hide text
/// (U+202E RIGHT-TO-LEFT OVERRIDE and its kin) are shown as their code points, so that
/// `invoice\u{202e}fdp.exe` reads as what it is and not as `invoiceexe.pdf`.
pub(super) fn shown_name(name: &str) -> String {
    name.chars()
        .map(
            |c| {
                if todokede_analyse::sample::is_bidi_control(c) {
                    format!("[U+{:04X}]", c as u32)
                } else {
                    c.to_string()
                }
            },
        )
        .collect()
}

/// A file name to save a sample under: the reordering characters replaced by `_`.
fn defanged_name(name: &str) -> String {
    name.chars().map(|c| if todokede_analyse::sample::is_bidi_control(c) { '_' } else { c }).collect()
}

/// How a name disguises its file, as the analyst reads it.
fn disguise_text(d: &todokede_analyse::sample::Disguise, l: Language) -> String {
    use todokede_analyse::sample::{Carrier, Disguise};
    match d {
        Disguise::BidiControl { codepoint } => l.pick(
            format!(
                "ファイル名に表示の向きを変える制御文字（U+{:04X}）が含まれています。画面に見える拡張子は本当の拡張子ではありません。",
                *codepoint as u32
            ),
            format!(
                "The file name holds a character that reverses how it is displayed (U+{:04X}): the extension you see is not the real one.",
                *codepoint as u32
            ),
        ),
        Disguise::DoubleExtension { shown, real } => l.pick(
            format!("二重拡張子：「.{shown}」の文書に見せかけた「.{real}」のファイルです（開くと実行されます）。"),
            format!("Double extension: a “.{real}” file posing as a “.{shown}” document (opening it runs it)."),
        ),
        Disguise::ContentMismatch { named, actual } => {
            let (ja, en) = match actual {
                Carrier::Executable => ("実行ファイル", "an executable"),
                _ => ("スクリプト", "a script"),
            };
            l.pick(
                format!("名前は「.{named}」ですが、中身は{ja}です。"),
                format!("Named “.{named}”, but the content is {en}."),
            )
        }
    }
}

/// A possible malware carrier (`todokede_analyse::sample`): by content first, then by the name
/// as Windows reads it; whatever is neither plain text nor a common image counts as one.
pub fn suspected_malware(filename: &str, bytes: &[u8]) -> bool {
    todokede_analyse::sample::carrier(filename, bytes).is_some()
}

/// A zip (AES-256) holding the file, password `infected`.
pub fn infected_zip(filename: &str, bytes: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Write as _;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut out);
    let opts = zip::write::SimpleFileOptions::default().with_aes_encryption(zip::AesMode::Aes256, "infected");
    z.start_file(filename, opts).map_err(|e| e.to_string())?;
    z.write_all(bytes).map_err(|e| e.to_string())?;
    z.finish().map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

/// One outbox mail for a page: queued time, recipient, and whether it went out, is still being
/// retried, or was given up on.
pub(super) fn mail_view(m: &todokede_store::MailStatus, l: Language) -> Value {
    use todokede_store::MailState;
    let en = l == Language::En;
    let (state_key, state) = match m.state {
        MailState::Sent(at) => ("sent", format!("{} {}", if en { "Sent" } else { "送信済み" }, jst(at))),
        MailState::Pending { attempts: 0 } => ("pending", (if en { "Queued" } else { "送信待ち" }).to_owned()),
        MailState::Pending { attempts } => (
            "retrying",
            if en {
                format!("Not sent yet ({attempts} failed tries; retrying)")
            } else {
                format!("未送信（{attempts}回失敗・再送中）")
            },
        ),
        MailState::Failed(at) => (
            "failed",
            format!(
                "{} {}",
                if en { "Failed — not delivered, given up at" } else { "送信失敗（配送できず断念）" },
                jst(at)
            ),
        ),
    };
    context! { id => m.id, tracking_number => m.tracking_number.to_string(), to => m.to, queued_at => jst(m.created_at), state_key, state }
}
