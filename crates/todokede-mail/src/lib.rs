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
