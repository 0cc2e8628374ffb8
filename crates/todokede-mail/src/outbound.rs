//! Outbound mail: the acknowledgement a reporter gets and the analysts' replies, with the
//! tracking number in the subject and Message-ID / In-Reply-To / References for threading.
//! Messages are composed here (pure), queued durably by the caller, and sent by [`Smtp`].

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};
use rand::RngCore as _;
use todokede_domain::{EmailAddress, Language, TrackingNumber};

/// A composed message, ready to be queued and sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundMail {
    /// Without angle brackets.
    pub message_id: String,
    pub from: EmailAddress,
    pub to: EmailAddress,
    pub raw: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("cannot compose mail: {0}")]
    Build(String),
}

/// Remove what could break out of a header (CR, LF, other controls). lettre encodes the rest
/// (RFC 2047), but a value copied from a report must never add a header of its own.
pub fn header_safe(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect::<String>().trim().chars().take(200).collect()
}

fn new_message_id(tn: &TrackingNumber, from: &EmailAddress) -> String {
    let mut b = [0u8; 12];
    rand::rng().fill_bytes(&mut b);
    let domain = from.as_str().rsplit('@').next().unwrap_or("todokede.invalid");
    format!("{}.{}@{}", hex::encode(b), tn.as_compact(), domain)
}

/// `[届出 ABCDE-12345] …` / `[Report ABCDE-12345] …`: replies carry the number back to us.
pub fn subject(tn: &TrackingNumber, language: Language, what_ja: &str, what_en: &str) -> String {
    match language {
        Language::Ja => format!("[届出 {tn}] {}", header_safe(what_ja)),
        Language::En => format!("[Report {tn}] {}", header_safe(what_en)),
    }
}

fn compose(
    from: &EmailAddress,
    to: &EmailAddress,
    subject: String,
    body: String,
    tn: &TrackingNumber,
    thread: &[String],
) -> Result<OutboundMail, ComposeError> {
    let message_id = new_message_id(tn, from);
    let mailbox = |e: &EmailAddress| e.as_str().parse::<Mailbox>().map_err(|e| ComposeError::Build(e.to_string()));
    let mut b = Message::builder()
        .from(mailbox(from)?)
        .to(mailbox(to)?)
        .subject(subject)
        .message_id(Some(format!("<{message_id}>")))
        .header(ContentType::TEXT_PLAIN)
        // Mark our mail as automatic so well-behaved responders do not answer it (no loops).
        .header(AutoSubmitted::auto_replied());
    if let Some(last) = thread.last() {
        b = b.in_reply_to(format!("<{}>", header_safe(last.trim_matches(['<', '>']))));
        let refs: Vec<String> =
            thread.iter().map(|r| format!("<{}>", header_safe(r.trim_matches(['<', '>'])))).collect();
        b = b.references(refs.join(" "));
    }
    let msg = b.body(body).map_err(|e| ComposeError::Build(e.to_string()))?;
    Ok(OutboundMail { message_id, from: from.clone(), to: to.clone(), raw: msg.formatted() })
}

/// The acknowledgement: tracking number and the reporter's secret, in the report's language.
pub fn acknowledgement(
    from: &EmailAddress,
    to: &EmailAddress,
    tn: &TrackingNumber,
    secret: &str,
    language: Language,
    public_url: &str,
    in_reply_to: Option<&str>,
) -> Result<OutboundMail, ComposeError> {
    // The reporter login page with the number filled in (the password stays out of the link:
    // no long-lived secret in a URL that mail systems log and scan).
    let lang = match language {
        Language::Ja => "ja",
        Language::En => "en",
    };
    let link = format!("{}/reporter/login?tracking_number={}&lang={lang}", public_url.trim_end_matches('/'), tn);
    let body = match language {
        Language::Ja => format!(
            "届出を受け付けました。\n\n受付番号: {tn}\n届出者用パスワード: {secret}\n\n\
             状況の確認と続報の送付は {link} から受付番号とパスワードで行えます。\n\
             パスワードは再発行できません。この番号とパスワードを他の人に知らせないでください。\n\
             このメールに返信すると、続報としてこの届出に追加されます。\n"
        ),
        Language::En => format!(
            "Your report has been received.\n\nTracking number: {tn}\nReporter password: {secret}\n\n\
             Check its status and send follow-ups at {link} with the tracking number and password.\n\
             The password cannot be issued again; do not share it.\n\
             Replying to this mail adds your reply to the report as a follow-up.\n"
        ),
    };
    let subject = subject(tn, language, "受付のお知らせ", "Acknowledgement");
    compose(from, to, subject, body, tn, &in_reply_to.map(|s| vec![s.to_owned()]).unwrap_or_default())
}

/// An analyst's reply to the reporter, threaded onto the conversation so far.
pub fn reply(
    from: &EmailAddress,
    to: &EmailAddress,
    tn: &TrackingNumber,
    language: Language,
    body: &str,
    thread: &[String],
) -> Result<OutboundMail, ComposeError> {
    compose(from, to, subject(tn, language, "ご連絡", "Message about your report"), body.to_owned(), tn, thread)
}

/// `Auto-Submitted: auto-replied` (RFC 3834).
#[derive(Clone)]
struct AutoSubmitted(String);

impl AutoSubmitted {
    fn auto_replied() -> Self {
        AutoSubmitted("auto-replied".into())
    }
}

impl lettre::message::header::Header for AutoSubmitted {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted(s.to_owned()))
    }
    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// SMTP submission, from a URL: `smtp://host:25` (plain, for a local MTA or a test sink),
/// `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtps://user:pass@host:465`.
#[derive(Clone)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl Smtp {
    pub fn from_url(url: &str) -> Result<Self, String> {
        // A bounded wait per command, so a hung server cannot hold a claimed mail past its lease.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("bad SMTP URL: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build();
        Ok(Smtp { transport })
    }

    pub async fn send(&self, from: &str, to: &str, raw: &[u8]) -> Result<(), String> {
        let envelope = lettre::address::Envelope::new(
            Some(from.parse().map_err(|e| format!("from: {e}"))?),
            vec![to.parse().map_err(|e| format!("to: {e}"))?],
        )
        .map_err(|e| scrub_addresses(&e.to_string()))?;
        self.transport.send_raw(&envelope, raw).await.map(|_| ()).map_err(|e| scrub_addresses(&e.to_string()))
    }
}

/// Text with every e-mail address in it replaced by `<address>`. SMTP servers quote the
/// recipient in their refusals (`550 5.1.1 <taro@example.jp>: Recipient address rejected`),
/// and a reporter's address is personal data that belongs in the outbox row the admins see,
/// not in logs or stored error text. An address is a run of characters around an `@` up to
/// whitespace, brackets, quotes or punctuation that cannot be in one; a domain needs a dot or
/// a bracket (`user@[192.0.2.1]`) — so a stray `@` ("at @ 10:00") stays.
pub fn scrub_addresses(text: &str) -> String {
    fn part(c: char) -> bool {
        !(c.is_whitespace()
            || c.is_control()
            || matches!(c, '<' | '>' | '"' | '\'' | '(' | ')' | ',' | ';' | ':' | '`'))
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '@' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let mut start = i;
        while start > 0 && part(chars[start - 1]) && chars[start - 1] != '@' {
            start -= 1;
        }
        let mut end = i + 1;
        while end < chars.len() && (part(chars[end]) || (chars[end] == ':' && chars[i + 1] == '[')) && chars[end] != '@'
        {
            end += 1;
        }
        // A trailing full stop ends the sentence, not the domain.
        while end > i + 1 && chars[end - 1] == '.' {
            end -= 1;
        }
        let domain: String = chars[i + 1..end].iter().collect();
        let local = i - start;
        if local > 0 && (domain.contains('.') || domain.starts_with('[')) {
            // The local part was already copied: take it back.
            for _ in 0..local {
                out.pop();
            }
            out.push_str("<address>");
            i = end;
        } else {
            out.push('@');
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_scrubbed_from_smtp_answers() {
        let cases = [
            (
                "permanent error (550): 5.1.1 <taro.yamada+x@example.co.jp>: Recipient address rejected",
                "permanent error (550): 5.1.1 <<address>>: Recipient address rejected",
            ),
            ("to: invalid address 田中@例え.jp.", "to: invalid address <address>."),
            ("RCPT TO:victim@example.org failed; FROM=todokede@ipa.example", "RCPT TO:<address> failed; <address>"),
            ("mailbox \"A@B.EXAMPLE\" full, try user@[192.0.2.1]", "mailbox \"<address>\" full, try <address>"),
            ("connection refused at @ 10:00, no address here", "connection refused at @ 10:00, no address here"),
        ];
        for (text, want) in cases {
            assert_eq!(scrub_addresses(text), want, "{text}");
        }
    }

    #[test]
    fn acknowledgement_threads_and_resists_header_injection() {
        let from = EmailAddress::parse("todokede@ipa.example").unwrap();
        let to = EmailAddress::parse("taro@example.jp").unwrap();
        let tn = TrackingNumber::parse("ABCDE-12345").unwrap();
        let m = acknowledgement(
            &from,
            &to,
            &tn,
            "s3cret",
            Language::Ja,
            "https://todokede.example",
            Some("<orig@example.jp>"),
        )
        .unwrap();
        let raw = String::from_utf8(m.raw.clone()).unwrap();
        assert!(raw.contains("In-Reply-To: <orig@example.jp>"), "{raw}");
        assert!(raw.contains(&format!("Message-ID: <{}>", m.message_id)));
        assert!(raw.contains("Auto-Submitted: auto-replied"));
        let parsed = mail_parser::MessageParser::default().parse(&m.raw).unwrap();
        assert_eq!(parsed.subject(), Some("[届出 ABCDE-12345] 受付のお知らせ"));
        assert!(parsed.body_text(0).unwrap().contains("s3cret"));

        let evil = reply(&from, &to, &tn, Language::En, "hi", &["x>\r\nBcc: victim@example.com\r\n<y".into()]).unwrap();
        let raw = String::from_utf8(evil.raw).unwrap();
        assert!(!raw.to_ascii_lowercase().contains("\r\nbcc:"), "{raw}");
    }
}
