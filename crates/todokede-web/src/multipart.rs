//! The one multipart reader, for the API (a JSON part and files) and the UI's forms (text
//! fields and files): files are streamed and refused at the per-file limit, not buffered whole.

use axum::body::Bytes;
use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;
use std::collections::HashMap;
use todokede_domain::Attachment;
use todokede_domain::submission::display_filename;

use crate::Limits;

/// A multipart body: its text parts by name (repeatable) and its files, in order.
pub struct Upload {
    pub fields: HashMap<String, Vec<Bytes>>,
    pub files: Vec<Attachment>,
    /// [`Mode::Form`] only: the display names of files over `Limits::max_attachment_bytes`,
    /// read past and dropped so that the form's text still arrives (the page asks again).
    pub too_large: Vec<String>,
    /// [`Mode::Form`] only: the display names of the files past `Limits::max_attachments`,
    /// dropped so that the form's text still arrives.
    pub too_many: Vec<String>,
}

impl Upload {
    /// The first value of a text field, as text.
    pub fn text(&self, name: &str) -> Option<String> {
        self.fields.get(name).and_then(|v| v.first()).map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

/// Why a multipart body was not read; each adapter words it its own way.
#[derive(Debug)]
pub enum ReadError {
    /// Not multipart, or broken off; `too_large` when the body limit cut it.
    Body { too_large: bool, text: String },
    /// More files than `Limits::max_attachments`.
    TooManyFiles,
    /// A file over `Limits::max_attachment_bytes` (its display name).
    FileTooLarge(String),
}

/// Which parts are files, and what to do with empty ones.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// The API: the part named so is the JSON text; every other part is a file (unnamed ones
    /// `attachment.bin`), empty files included.
    Api { json_part: &'static str },
    /// A browser form: parts with a file name are files (an empty file input sends an empty
    /// part without bytes: skipped), the rest are text fields.
    Form,
}

fn body_error(e: MultipartError) -> ReadError {
    ReadError::Body { too_large: e.status() == StatusCode::PAYLOAD_TOO_LARGE, text: e.body_text() }
}

pub async fn read(req: Request, limits: Limits, mode: Mode) -> Result<Upload, ReadError> {
    let mut mp = Multipart::from_request(req, &())
        .await
        .map_err(|e| ReadError::Body { too_large: false, text: e.body_text() })?;
    let mut fields: HashMap<String, Vec<Bytes>> = HashMap::new();
    let mut files = Vec::new();
    let mut too_large = Vec::new();
    let mut too_many = Vec::new();
    while let Some(mut field) = mp.next_field().await.map_err(body_error)? {
        let name = field.name().unwrap_or("").to_owned();
        let is_text = match mode {
            Mode::Api { json_part } => name == json_part,
            Mode::Form => field.file_name().is_none(),
        };
        if is_text {
            fields.entry(name).or_default().push(field.bytes().await.map_err(body_error)?);
            continue;
        }
        if matches!(mode, Mode::Api { .. }) && files.len() >= limits.max_attachments {
            return Err(ReadError::TooManyFiles);
        }
        let filename = field.file_name().unwrap_or("attachment.bin").to_owned();
        let content_type = field.content_type().unwrap_or("application/octet-stream").to_owned();
        let mut bytes = Vec::new();
        let mut over = false;
        while let Some(chunk) = field.chunk().await.map_err(body_error)? {
            if over {
                continue;
            }
            if bytes.len() + chunk.len() > limits.max_attachment_bytes {
                if matches!(mode, Mode::Api { .. }) {
                    return Err(ReadError::FileTooLarge(display_filename(&filename)));
                }
                over = true;
                bytes = Vec::new();
                continue;
            }
            bytes.extend_from_slice(&chunk);
        }
        if over {
            too_large.push(display_filename(&filename));
            continue;
        }
        if matches!(mode, Mode::Form) {
            if filename.is_empty() || bytes.is_empty() {
                continue;
            }
            if files.len() >= limits.max_attachments {
                too_many.push(display_filename(&filename));
                continue;
            }
        }
        files.push(Attachment::new(&filename, &content_type, bytes));
    }
    Ok(Upload { fields, files, too_large, too_many })
}
