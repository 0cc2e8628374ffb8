//! A submission at the intake boundary: validated content, attachments and the raw bytes as
//! received, plus the key that makes a retried delivery land on the same report.

use crate::report::{Channel, ReportContent};
use sha2::{Digest as _, Sha256};

/// Longest free-text field accepted (characters). The paper form has no limit; this one keeps a
/// hostile body from becoming a memory problem while leaving room for pasted logs.
pub const MAX_TEXT_CHARS: usize = 200_000;
/// Longest single-line field (name, organisation, phone, …).
pub const MAX_LINE_CHARS: usize = 500;

/// An uploaded file, not yet stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Attachment({:?}, {}, {} bytes)", self.filename, self.content_type, self.bytes.len())
    }
}

impl Attachment {
    /// Build an attachment; the name is reduced to a safe display name (no directories, no
    /// control characters) — storage never uses it as a path anyway.
    pub fn new(filename: &str, content_type: &str, bytes: Vec<u8>) -> Self {
        Attachment { filename: display_filename(filename), content_type: content_type_or_default(content_type), bytes }
    }
    pub fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(&self.bytes))
    }
}

/// The last path component, without control characters, at most 255 characters.
pub fn display_filename(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last.chars().filter(|c| !c.is_control()).take(255).collect();
    let clean = clean.trim().trim_start_matches('.').to_owned();
    if clean.is_empty() { "attachment.bin".to_owned() } else { clean }
}

fn content_type_or_default(ct: &str) -> String {
    let ct = ct.trim();
    if ct.is_empty() || ct.len() > 200 || ct.chars().any(|c| c.is_control()) {
        "application/octet-stream".to_owned()
    } else {
        ct.to_owned()
    }
}

/// What makes two deliveries "the same submission".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DedupKey {
    /// `Idempotency-Key` header of the JSON API.
    IdempotencyKey(String),
    /// RFC 5322 Message-ID.
    MessageId(String),
    /// SHA-256 of the raw bytes, when nothing else identifies the delivery.
    ContentHash(String),
    /// The record's own id in the system it was imported from (`veris:vcdb/<incident_id>`):
    /// a corrected copy of the same record is the same report.
    SourceRecord(String),
}

impl DedupKey {
    /// The single string stored under a unique constraint.
    pub fn storage_key(&self) -> String {
        match self {
            DedupKey::IdempotencyKey(k) => format!("idem:{k}"),
            DedupKey::MessageId(k) => format!("msgid:{k}"),
            DedupKey::ContentHash(k) => format!("sha256:{k}"),
            DedupKey::SourceRecord(k) => format!("source:{k}"),
        }
    }
}

/// The raw input exactly as received (form post, JSON body, .eml).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawInput {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl RawInput {
    pub fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(&self.bytes))
    }
}

/// A validated submission, ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub content: ReportContent,
    pub channel: Channel,
    pub attachments: Vec<Attachment>,
    pub raw: RawInput,
    pub dedup: Option<DedupKey>,
    /// 届出日 when it is not "now": only imports of historical reports set it.
    pub received_at: Option<time::OffsetDateTime>,
    /// What intake noticed and analysts should know (parts not extracted, text shortened, an
    /// unparseable message kept raw, a recognised form). Never shown to the reporter.
    pub intake_notes: Vec<String>,
}

impl Submission {
    /// Identity of the request for idempotency: the raw bytes and every attachment. A retry
    /// with the same key must have the same fingerprint (multipart boundaries aside: the raw
    /// input of a multipart request is its JSON part).
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(&self.raw.bytes);
        for a in &self.attachments {
            h.update(b"\0attachment\0");
            h.update(Sha256::digest(&a.bytes));
        }
        hex::encode(h.finalize())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmissionError {
    #[error("`description` must not be empty: tell us what happened, even in one sentence")]
    EmptyDescription,
    #[error("`{field}` is too long ({len} characters; at most {max})")]
    TooLong { field: &'static str, len: usize, max: usize },
    #[error("`{field}`: {message}")]
    Invalid { field: &'static str, message: String },
}

impl SubmissionError {
    /// The field the error is about, for forms that show the message next to it.
    pub fn field(&self) -> &'static str {
        match self {
            SubmissionError::EmptyDescription => "description",
            SubmissionError::TooLong { field, .. } | SubmissionError::Invalid { field, .. } => field,
        }
    }
}

/// Trim a free-text field; empty means absent. Enforces the length limit.
pub fn text_field(field: &'static str, value: Option<&str>, max: usize) -> Result<Option<String>, SubmissionError> {
    // NUL and other C0 controls (except tab/newline) are never meaningful in a report; a value
    // of nothing but those is an empty value.
    let Some(v) = value else { return Ok(None) };
    let cleaned: String =
        v.replace("\r\n", "\n").chars().filter(|c| !c.is_control() || matches!(c, '\n' | '\t')).collect();
    let v = cleaned.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let len = v.chars().count();
    if len > max {
        return Err(SubmissionError::TooLong { field, len, max });
    }
    Ok(Some(v.to_owned()))
}

/// A single-line field: like [`text_field`], with line breaks rejected.
pub fn line_field(field: &'static str, value: Option<&str>) -> Result<Option<String>, SubmissionError> {
    let v = text_field(field, value, MAX_LINE_CHARS)?;
    if v.as_deref().is_some_and(|s| s.contains('\n')) {
        return Err(SubmissionError::Invalid { field, message: "must be a single line".into() });
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_lose_their_paths() {
        assert_eq!(display_filename("../../etc/passwd"), "passwd");
        assert_eq!(display_filename("C:\\Users\\x\\evil.exe"), "evil.exe");
        assert_eq!(display_filename("a\0b\r\n.txt"), "ab.txt");
        assert_eq!(display_filename(".."), "attachment.bin");
        assert_eq!(display_filename(""), "attachment.bin");
    }

    #[test]
    fn text_fields_are_trimmed_limited_and_cleaned() {
        assert_eq!(text_field("f", Some("  "), 10).unwrap(), None);
        assert_eq!(text_field("f", Some(" a\r\nb\0 "), 10).unwrap().as_deref(), Some("a\nb"));
        assert!(matches!(text_field("f", Some("あいうえおか"), 5), Err(SubmissionError::TooLong { len: 6, .. })));
        assert!(line_field("name", Some("a\nb")).is_err());
        assert_eq!(text_field("f", Some("\u{1}\u{7}\r"), 10).unwrap(), None, "only control characters is empty");
    }
}
