//! One inbound message → a submission (or a follow-up to an existing report). Never fails: a
//! message that cannot be parsed is still a submission, kept raw for an analyst.

use mail_parser::{MessageParser, MimeHeaders as _};
use regex::Regex;
use std::sync::OnceLock;
use todokede_domain::submission::{MAX_LINE_CHARS, MAX_TEXT_CHARS, display_filename};
use todokede_domain::*;

use crate::form::parse_form;

/// Limits for what is extracted from a message (the raw message is always kept whole).
#[derive(Debug, Clone, Copy)]
pub struct MailLimits {
    pub max_attachment_bytes: usize,
    pub max_attachments: usize,
}

impl Default for MailLimits {
    fn default() -> Self {
        MailLimits { max_attachment_bytes: 25 << 20, max_attachments: 50 }
    }
}

#[derive(Debug, Clone)]
pub struct InboundMail {
    /// The report this message would create.
    pub submission: Submission,
    pub message_id: Option<String>,
    /// In-Reply-To and References, for threading onto an existing report.
    pub thread_refs: Vec<String>,
    /// A tracking number named in the subject (`[届出 ABCDE-12345]`).
    pub subject_tracking_number: Option<TrackingNumber>,
    pub subject: String,
    /// Where a reply goes: Reply-To, else From.
    pub reply_address: Option<EmailAddress>,
    /// Auto-Submitted, Precedence: bulk/list/junk, mailer-daemon…: never answered (no loops).
    pub automatic: bool,
    /// Body text only (for follow-ups), without the subject.
    pub body: String,
}

fn tracking_in_subject(subject: &str) -> Option<TrackingNumber> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"(?-u:\b)([0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5})(?-u:\b)").unwrap());
    re.captures(subject).and_then(|c| TrackingNumber::parse(&c[1]).ok())
}

fn clamp(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control() || matches!(c, '\n' | '\t')).take(max).collect()
}

fn one_line(s: &str) -> String {
    clamp(&s.replace(['\r', '\n'], " "), MAX_LINE_CHARS).trim().to_owned()
}

fn looks_japanese(s: &str) -> bool {
    s.chars().any(|c| matches!(c as u32, 0x3040..=0x30FF | 0x4E00..=0x9FFF))
}

/// Parse one message. `raw` is kept as the submission's raw input, byte for byte.
pub fn parse_inbound(raw: Vec<u8>, limits: MailLimits) -> InboundMail {
    let content_hash = DedupKey::ContentHash(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&raw)));
    let mut notes: Vec<String> = Vec::new();
    // A parser fault on hostile input must not cost the report: a panic inside the parser
    // (mail-parser 0.11 has a debug assertion that the fuzzer reaches) counts as unparseable.
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| MessageParser::default().parse(&raw)))
        .unwrap_or_else(|_| {
            notes.push("the MIME parser failed on this message".into());
            None
        });
    let Some(msg) = parsed.filter(|m| !m.headers().is_empty()) else {
        notes.push("解析できないメール (unparseable message): kept raw for an analyst".into());
        let text = String::from_utf8_lossy(&raw[..raw.len().min(64 << 10)]).into_owned();
        let mut content = ReportContent::new(ReportForm::UnauthorizedAccess, Language::Ja, String::new());
        let cleaned = clamp(&text, MAX_TEXT_CHARS);
        content.description = if cleaned.trim().is_empty() { "(empty message)".into() } else { cleaned };
        return InboundMail {
            submission: Submission {
                content,
                channel: Channel::Email,
                attachments: vec![],
                raw: RawInput { content_type: "message/rfc822".into(), bytes: raw },
                dedup: Some(content_hash),
                received_at: None,
                intake_notes: notes,
            },
            message_id: None,
            thread_refs: vec![],
            subject_tracking_number: None,
            subject: String::new(),
            reply_address: None,
            automatic: false,
            body: text,
        };
    };

    let subject = one_line(msg.subject().unwrap_or(""));
    let body = msg.body_text(0).map(|b| b.into_owned()).unwrap_or_default();
    if msg.html_body_count() > 0 && msg.text_bodies().all(|p| p.is_text_html()) {
        notes.push("HTML-only message: converted to text, nothing in it was run".into());
    }
    let message_id = msg.message_id().map(one_line).filter(|id| !id.is_empty());
    let mut thread_refs: Vec<String> = Vec::new();
    for h in [msg.in_reply_to(), msg.references()] {
        if let Some(list) = h.as_text_list() {
            thread_refs.extend(list.iter().map(|s| one_line(s)));
        } else if let Some(t) = h.as_text() {
            thread_refs.push(one_line(t));
        }
    }
    let from = msg.from().and_then(|a| a.first());
    // Reply-To when it is a usable address, else From (a Reply-To smuggling a header is not).
    let address_of =
        |a: Option<&mail_parser::Addr>| a.and_then(|a| a.address()).and_then(|a| EmailAddress::parse(a).ok());
    let reply_address = address_of(msg.reply_to().and_then(|a| a.first())).or_else(|| address_of(from));
    let from_addr = from.and_then(|a| a.address()).unwrap_or("").to_ascii_lowercase();
    let header_is = |name: &str, pred: &dyn Fn(&str) -> bool| {
        msg.header_raw(name).map(|v| pred(&v.trim().to_ascii_lowercase())).unwrap_or(false)
    };
    let automatic = header_is("Auto-Submitted", &|v| v != "no")
        || header_is("Precedence", &|v| matches!(v, "bulk" | "list" | "junk" | "auto_reply"))
        || msg.header_raw("X-Autoreply").is_some()
        || msg.header_raw("X-Autorespond").is_some()
        || msg.header_raw("List-Id").is_some()
        || from_addr.starts_with("mailer-daemon@")
        || from_addr.starts_with("postmaster@")
        || from_addr.is_empty()
        || msg.return_address() == Some("");

    // Attachments, forwarded messages included (kept as .eml and their text quoted below).
    let mut attachments = Vec::new();
    let mut forwarded_text = String::new();
    let mut skipped = 0usize;
    for part in msg.attachments() {
        if attachments.len() >= limits.max_attachments {
            skipped += 1;
            continue;
        }
        let (bytes, name, ctype) = if let Some(inner) = part.message() {
            let s = inner.subject().unwrap_or("");
            let f = inner.from().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or("");
            let b = inner.body_text(0).unwrap_or_default();
            forwarded_text.push_str(&format!(
                "\n\n--- 転送されたメッセージ / forwarded message ---\nFrom: {}\nSubject: {}\n\n{}",
                one_line(f),
                one_line(s),
                clamp(&b, 50_000)
            ));
            (
                inner.raw_message().to_vec(),
                format!("{}.eml", display_filename(if s.is_empty() { "forwarded" } else { s })),
                "message/rfc822".to_owned(),
            )
        } else {
            let ct = part
                .content_type()
                .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("octet-stream")))
                .unwrap_or_else(|| "application/octet-stream".into());
            (part.contents().to_vec(), part.attachment_name().unwrap_or("attachment.bin").to_owned(), ct)
        };
        if bytes.len() > limits.max_attachment_bytes {
            notes.push(format!(
                "attachment `{}` ({} bytes) exceeds the {}-byte limit: not extracted; it stays in the raw message",
                display_filename(&name),
                bytes.len(),
                limits.max_attachment_bytes
            ));
            continue;
        }
        attachments.push(Attachment::new(&name, &ctype, bytes));
    }
    if skipped > 0 {
        notes.push(format!(
            "{skipped} more attachments not extracted (limit {}); they stay in the raw message",
            limits.max_attachments
        ));
    }

    let fields = parse_form(&body);
    let all_text = format!("{subject}\n{body}");
    let form = fields.form.unwrap_or_else(|| {
        let to_virus = msg
            .to()
            .map(|a| a.iter().any(|x| x.address().is_some_and(|a| a.to_ascii_lowercase().starts_with("virus"))))
            .unwrap_or(false);
        if to_virus || all_text.contains("ウイルス届出") || all_text.contains("コンピュータウイルスの")
        {
            ReportForm::Virus
        } else {
            ReportForm::UnauthorizedAccess
        }
    });
    let language =
        if looks_japanese(&all_text) || (subject.is_empty() && body.is_empty()) { Language::Ja } else { Language::En };
    let mut content = ReportContent::new(form, language, String::new());
    let mut description = if subject.is_empty() { body.clone() } else { format!("{subject}\n\n{body}") };
    description.push_str(&forwarded_text);
    if description.chars().count() > MAX_TEXT_CHARS {
        notes.push(format!("text longer than {MAX_TEXT_CHARS} characters: shortened here, whole in the raw message"));
    }
    // Cleaned first: a body of nothing but control characters is an empty body.
    description = clamp(&description, MAX_TEXT_CHARS);
    if description.trim().is_empty() {
        description =
            if attachments.is_empty() { "(empty message)".into() } else { "(no text; see the attachments)".into() };
    }
    content.description = description;
    content.reporter = fields.reporter.clone();
    if content.reporter.email.is_none() {
        content.reporter.email = reply_address.clone();
    }
    if content.reporter.name.is_none() {
        content.reporter.name = from.and_then(|a| a.name()).map(one_line).filter(|n| !n.is_empty());
    }
    content.discovered_on = fields.discovered_on;
    content.discovery = fields.discovery;
    content.damage_status = fields.damage_status.unwrap_or(DamageStatus::Unknown);
    content.damages = fields.damages.clone();
    content.causes = fields.causes.clone();
    content.affected.assets = fields.assets.clone();
    content.affected.deployment = fields.deployment.clone();
    content.affected.internet_connected = fields.internet_connected;
    content.affected.os = fields.os.clone();
    if form == ReportForm::Virus && (fields.virus_name.is_some() || !fields.infection_vectors.is_empty()) {
        content.virus = Some(VirusDetails {
            virus_name: fields.virus_name.clone(),
            infection_vectors: fields.infection_vectors.clone(),
            ..Default::default()
        });
    }
    if fields.recognised > 0 {
        notes.push(format!("IPA form recognised: {} items filled in", fields.recognised));
    }

    InboundMail {
        submission: Submission {
            content,
            channel: Channel::Email,
            attachments,
            raw: RawInput { content_type: "message/rfc822".into(), bytes: raw.clone() },
            dedup: Some(message_id.clone().map(DedupKey::MessageId).unwrap_or(content_hash)),
            received_at: None,
            intake_notes: notes,
        },
        subject_tracking_number: tracking_in_subject(&subject),
        message_id,
        thread_refs,
        subject,
        reply_address,
        automatic,
        body,
    }
}
