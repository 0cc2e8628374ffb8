//! One report for analysts: the page (content, timeline, analysis, classification form, links and suggestions) and attachment downloads (samples only inside an `infected` zip).

use super::*;

pub(super) fn analysis_view(json: &serde_json::Value, lang: &str) -> Value {
    let section = |key: &str, ja: &str, en: &str| {
        let items: Vec<Value> = json[key].as_array().into_iter().flatten().map(|d| context! {
            label => d[if lang == "en" { "label_en" } else { "label_ja" }].as_str().unwrap_or(""),
            confidence => format!("{:.2}", d["confidence"].as_f64().unwrap_or(0.0)),
            // Below the decision threshold: the analyst's to confirm (要確認), never silently dropped.
            review => d["needs_review"].as_bool().unwrap_or(false).then_some(if lang == "en" { "needs review" } else { "要確認" }),
            evidence => d["evidence"].as_array().map(|e| e.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(" | ")).unwrap_or_default(),
        }).collect();
        context! { title => if lang == "en" { en } else { ja }, items }
    };
    context! {
        sections => vec![section("causes", "被害原因（主原因が先頭）", "Causes (primary first)"), section("damages", "被害内容", "Damage"), section("attack_types", "攻撃行為", "Attack types")],
        indicators => json["indicators"].as_object().map(|o| o.iter().map(|(k, v)| context! { type => k, values => v.as_array().map(|a| a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", ")).unwrap_or_default() }).collect::<Vec<_>>()).unwrap_or_default(),
        techniques => json["techniques"].as_array().map(|a| a.iter().map(|t| context! { id => t["id"].as_str(), name => t["name"].as_str() }).collect::<Vec<_>>()).unwrap_or_default(),
        countermeasures => json["countermeasures"].as_array().map(|a| a.iter().filter_map(|m| m[if lang == "en" { "en" } else { "ja" }].as_str()).collect::<Vec<_>>()).unwrap_or_default(),
        evidence => json["evidence"].as_array().map(|files| files.iter().map(|f| context! {
            file => f["file"].as_str(), lines => f["lines"].as_u64(),
            findings => f["findings"].as_array().map(|fs| fs.iter().map(|x| context! {
                severity => x["severity"].as_str(), summary => x["summary"].as_str(), technique => x["technique"].as_str(),
                proof => x["proof"].as_array().map(|p| p.iter().map(|l| format!("{:>7}: {}", l["line"].as_u64().unwrap_or(0), l["text"].as_str().unwrap_or(""))).collect::<Vec<_>>()).unwrap_or_default(),
            }).collect::<Vec<_>>()).unwrap_or_default(),
        }).collect::<Vec<_>>()).unwrap_or_default(),
    }
}

pub(super) async fn report_page(
    State(st): State<AppState>,
    Analyst(c, _user): Analyst,
    Path(tn): Path<String>,
) -> Response {
    let Some(r) = load_for_analyst(&st, &tn).await else {
        return error_page(&st, &c, StatusCode::NOT_FOUND, "見つかりません。", "Not found.");
    };
    let l = c.lang;
    let rep = &r.content.reporter;
    let row = |ja: &str, en: &str, v: Option<String>| context! { k => if l == "en" { en.to_owned() } else { ja.to_owned() }, v => v.unwrap_or_else(|| "—".into()) };
    let reporter = vec![
        row("種別", "Kind", rep.kind.map(|k| label(k, l).to_owned())),
        row("氏名", "Name", rep.name.clone()),
        row("組織", "Organisation", rep.organization.clone()),
        row("E-Mail", "E-mail", rep.email.as_ref().map(|e| e.as_str().to_owned())),
        row("TEL", "Phone", rep.phone.clone()),
        row("住所", "Prefecture", rep.address.clone()),
        row("届出者の管理番号", "Reporter's reference", r.content.reporter_reference.clone()),
    ];
    let mut narratives = Vec::new();
    for (ja, en, v) in [
        ("発見の経緯", "Discovery", &r.content.discovery_narrative),
        ("被害", "Damage", &r.content.damage_narrative),
        ("原因", "Cause", &r.content.cause_narrative),
        ("対応", "Response", &r.content.response_narrative),
    ] {
        if let Some(text) = v {
            narratives.push(context! { title => if l == "en" { en } else { ja }, text });
        }
    }
    let timeline: Vec<Value> = r.timeline.iter().map(|e| match e {
        TimelineEntry::StateChanged { from, to, at, .. } => context! { kind => "state", at => jst(*at), what => format!("{} → {}", label(*from, l), label(*to, l)), body => "" },
        TimelineEntry::FollowUp { body, at, attachments } => context! { kind => "follow_up", at => jst(*at), what => if l == "en" { "Follow-up from the reporter" } else { "届出者からの続報" },
            body => format!("{body}{}", attachments.iter().map(|a| format!("\n📎 {}", a.filename)).collect::<String>()) },
        TimelineEntry::Note { body, at, .. } => context! { kind => "note", at => jst(*at), what => if l == "en" { "Internal note" } else { "内部メモ" }, body },
        TimelineEntry::Reply { body, at, .. } => context! { kind => "reply", at => jst(*at), what => if l == "en" { "Reply to the reporter" } else { "届出者への返信" }, body },
    }).collect();
    // Mail about this report and where it stands: a reply queued is not a reply delivered.
    let mail: Vec<Value> =
        st.store.report_mail(r.id).await.unwrap_or_default().iter().rev().map(|m| mail_view(m, l)).collect();
    let attachments = r.all_attachments();
    let analysis_json =
        st.store.analysis(r.id).await.ok().flatten().and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok());
    let analysis = analysis_json.as_ref().map(|j| analysis_view(j, l));
    let analysts: Vec<Value> = st
        .store
        .users()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|u| !u.disabled)
        .map(|u| context! { id => u.id.0, email => u.email, selected => Some(u.id) == r.assignee })
        .collect();
    let links: Vec<String> =
        st.store.linked_reports(r.id).await.unwrap_or_default().iter().map(|t| t.to_string()).collect();
    let (suggested, near) = crossref_pages::suggestions(&st, r.id, &links).await;
    // The classification form: the confirmed values, else the automatic ones to confirm.
    let confirmed = st.store.classification(r.id).await.ok().flatten();
    let current = match &confirmed {
        Some(c) => c.clone(),
        None => analysis_json.as_ref().map(todokede_analyse::suggested_classification).unwrap_or_default(),
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
    let reply_template = if r.content.language == Language::En {
        "Thank you for your report. Could you tell us more about …?\n\nThe todokede team"
    } else {
        "このたびは届出をいただきありがとうございます。\n差し支えなければ、〜についてお教えいただけますでしょうか。\n\n届出窓口"
    };
    render(
        &st,
        &c,
        "report.html",
        context! {
            r => context! {
                tracking_number => r.tracking_number.to_string(), state => label(r.state, l), state_key => r.state.key(), form => label(r.content.form, l),
                channel => label(r.channel, l), received_at => jst(r.received_at), description => r.content.description, narratives, reporter,
                attachments => attachments.iter().map(|a| context! { sha256 => a.sha256, filename => a.filename, size => a.size, content_type => a.content_type }).collect::<Vec<_>>(),
                intake_notes => r.intake_notes, timeline, mail,
                next_states => r.state.next_states().iter().map(|s| context! { key => s.key(), label => label(*s, l) }).collect::<Vec<_>>(),
            },
            analysis, reply_template, analysts, links, suggested, near, classification,
        },
    )
}

/// Attachments leave only as downloads: never rendered in our origin.
pub(super) async fn download(
    State(st): State<AppState>,
    Analyst(_c, user): Analyst,
    Path((tn, sha)): Path<(String, String)>,
) -> Response {
    let Some(r) = load_for_analyst(&st, &tn).await else { return StatusCode::NOT_FOUND.into_response() };
    // Only an attachment of this report: a hash from another report is not found here.
    let Some(meta) = r.all_attachments().into_iter().find(|a| a.sha256 == sha) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Ok(Some(bytes)) = st.store.blob(&meta.sha256).await else { return StatusCode::NOT_FOUND.into_response() };
    let _ = st.store.audit(Some(user.id), "attachment.download", Some(&r.id.0.to_string()), Some(&meta.filename)).await;
    let (bytes, filename) = if suspected_malware(&meta.filename, &bytes) {
        // A suspected sample leaves only inside an encrypted archive with the conventional
        // password, so no scanner quarantines it on the way and nobody opens it by a click.
        match infected_zip(&meta.filename, &bytes) {
            Ok(z) => (z, format!("{}.zip", meta.filename)),
            Err(e) => {
                tracing::error!(error = %e, "zip");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
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

/// Executables, scripts, macro documents and disk images, by name or by content.
pub fn suspected_malware(filename: &str, bytes: &[u8]) -> bool {
    const EXTENSIONS: &[&str] = &[
        "exe", "dll", "scr", "com", "pif", "cpl", "sys", "bat", "cmd", "ps1", "vbs", "vbe", "js", "jse", "wsf", "hta",
        "jar", "lnk", "msi", "docm", "xlsm", "pptm", "iso", "img", "elf", "sh", "apk", "php", "aspx", "jsp",
    ];
    let ext = filename.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    EXTENSIONS.contains(&ext.as_str())
        || bytes.starts_with(b"MZ")
        || bytes.starts_with(b"\x7fELF")
        || bytes.starts_with(b"#!")
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
pub(super) fn mail_view(m: &todokede_store::MailStatus, l: &str) -> Value {
    use todokede_store::MailState;
    let en = l == "en";
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
