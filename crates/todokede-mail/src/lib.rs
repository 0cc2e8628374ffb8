//! E-mail for todokede: inbound RFC 5322/MIME messages (any charset, HTML-only, forwarded,
//! broken) into intake submissions, the IPA plain-text form with □/■ checkboxes, and outbound
//! acknowledgements and replies with proper threading headers.
//!
//! Parsing is mail-parser's (Stalwart), with `full_encoding` for ISO-2022-JP and Shift_JIS.
//! Nothing here does I/O except [`outbound::send`] (SMTP).

pub mod form;
pub mod imap;
pub mod inbound;
pub mod outbound;

pub use inbound::{InboundMail, MailLimits, parse_inbound};
pub use outbound::{OutboundMail, Smtp};

/// Mail settings shared by every command that receives or sends mail.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// Sender of acknowledgements and replies.
    pub from: todokede_domain::EmailAddress,
    /// Base URL of the web UI, for the link in acknowledgements.
    pub public_url: String,
    pub limits: MailLimits,
}
