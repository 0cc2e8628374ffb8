//! Wire views of the JSON API: what clients get back (receipts, the reporter's view of a
//! report). The request payloads are the application's: [`todokede_app::intake`].

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use todokede_domain::*;

pub use todokede_app::intake::{
    AffectedPayload, JsonAttachment, ReportPayload, ReporterPayload, SoftwarePayload, VirusPayload, parse_date,
};

/// A state as shown to clients: key and both labels.
#[derive(Debug, Serialize, Deserialize)]
pub struct Labelled {
    pub key: String,
    pub label_ja: String,
    pub label_en: String,
}

impl Labelled {
    pub fn of<T: ClosedEnum>(v: T) -> Self {
        Labelled { key: v.key().into(), label_ja: v.label_ja().into(), label_en: v.label_en().into() }
    }
}

/// Answer to a submission.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReceiptPayload {
    pub tracking_number: String,
    /// Shown once. Needed (as `Authorization: Bearer`) to read the report and add follow-ups.
    pub secret: Option<String>,
    pub status_url: String,
    pub duplicate: bool,
    /// On a retry whose secret was forgotten (kept a day only): why `secret` is null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AttachmentView {
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
}

impl AttachmentView {
    pub fn of(a: &AttachmentMeta) -> Self {
        AttachmentView {
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            size: a.size,
            sha256: a.sha256.clone(),
        }
    }
}

/// A message on the reporter's page: analysts' replies and the reporter's own follow-ups.
#[derive(Debug, Serialize, Deserialize)]
pub struct MessageView {
    /// `reply` (from the analysts) or `follow_up` (from the reporter).
    pub kind: String,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub attachments: Vec<AttachmentView>,
}

/// What a reporter sees of their own report. No analyst identities, no internal notes.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReporterReportView {
    pub tracking_number: String,
    pub form: Labelled,
    pub state: Labelled,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    pub description: String,
    pub attachments: Vec<AttachmentView>,
    pub messages: Vec<MessageView>,
}

impl ReporterReportView {
    pub fn of(r: &Report) -> Self {
        ReporterReportView {
            tracking_number: r.tracking_number.to_string(),
            form: Labelled::of(r.content.form),
            state: Labelled::of(r.state),
            received_at: r.received_at,
            description: r.content.description.clone(),
            attachments: r.attachments.iter().map(AttachmentView::of).collect(),
            messages: r
                .timeline
                .iter()
                .filter_map(|e| match e {
                    TimelineEntry::Reply { body, at, .. } => {
                        Some(MessageView { kind: "reply".into(), body: body.clone(), at: *at, attachments: vec![] })
                    }
                    TimelineEntry::FollowUp { body, at, attachments } => Some(MessageView {
                        kind: "follow_up".into(),
                        body: body.clone(),
                        at: *at,
                        attachments: attachments.iter().map(AttachmentView::of).collect(),
                    }),
                    _ => None,
                })
                .collect(),
        }
    }
}

/// `POST /api/v1/reports/{tracking_number}/follow-ups` body (JSON variant).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUpPayload {
    pub body: String,
}
