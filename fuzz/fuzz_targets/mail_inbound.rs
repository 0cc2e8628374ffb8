#![no_main]
//! The mail parse-and-map path (MIME, charsets, the IPA form, threading fields) on arbitrary
//! bytes: always a submission, never a panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let m = todokede_mail::parse_inbound(
        data.to_vec(),
        todokede_mail::MailLimits { max_attachment_bytes: 1 << 16, max_attachments: 8 },
    );
    assert!(!m.submission.content.description.is_empty());
    let _ = todokede_mail::form::parse_form(&m.body);
});
