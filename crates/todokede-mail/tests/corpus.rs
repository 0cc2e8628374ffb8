//! The mail corpus (fixtures/mail, built by tools/mail_corpus.py) through the parser.

use todokede_domain::*;
use todokede_mail::{MailLimits, parse_inbound};

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/mail").join(name)).unwrap()
}

#[test]
fn iso_2022_jp_subject_body_and_attachment_decode() {
    let m = parse_inbound(corpus("iso2022jp_with_log.eml"), MailLimits::default());
    assert_eq!(m.subject, "【至急】不正アクセスの報告");
    assert!(m.body.contains("弊社サーバへの不正アクセスを検知しました"), "{}", m.body);
    let c = &m.submission.content;
    assert!(c.description.starts_with("【至急】不正アクセスの報告\n\nお世話になっております。"));
    assert_eq!(c.language, Language::Ja);
    assert_eq!(c.reporter.name.as_deref(), Some("山田 太郎"));
    assert_eq!(c.reporter.email.as_ref().unwrap().as_str(), "yamada@example.co.jp");
    assert_eq!(m.submission.attachments.len(), 1);
    assert_eq!(m.submission.attachments[0].filename, "auth.log");
    assert!(String::from_utf8_lossy(&m.submission.attachments[0].bytes).contains("Failed password for root"));
    assert_eq!(m.submission.dedup, Some(DedupKey::MessageId("iso2022jp-1@example.co.jp".into())));
    assert_eq!(m.submission.raw.bytes, corpus("iso2022jp_with_log.eml"), "raw kept byte for byte");
    assert!(!m.automatic);
}

#[test]
fn shift_jis_and_quoted_printable_decode() {
    let m = parse_inbound(corpus("shift_jis.eml"), MailLimits::default());
    assert_eq!(m.subject, "ウイルス届出");
    assert!(m.body.contains("Emotet を検知しました"));
    assert_eq!(m.submission.content.form, ReportForm::Virus, "addressed to virus@ and titled ウイルス届出");
    let q = parse_inbound(corpus("utf8_quoted_printable.eml"), MailLimits::default());
    assert!(q.body.contains("約250,000件のログイン試行"), "{}", q.body);
    assert_eq!(q.submission.content.form, ReportForm::UnauthorizedAccess);
}

#[test]
fn html_only_becomes_inert_text() {
    let m = parse_inbound(corpus("html_only.eml"), MailLimits::default());
    assert!(m.body.contains("was defaced"), "{}", m.body);
    assert!(m.body.contains("shell.php"));
    assert!(!m.body.contains("<script") && !m.body.contains("onerror") && !m.body.contains("<b>"), "{}", m.body);
    assert_eq!(m.submission.content.language, Language::En);
    assert!(m.submission.intake_notes.iter().any(|n| n.contains("HTML-only")));
}

#[test]
fn forwarded_message_is_kept_and_quoted() {
    let m = parse_inbound(corpus("forwarded_phishing.eml"), MailLimits::default());
    let a = &m.submission.attachments;
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].content_type, "message/rfc822");
    assert!(a[0].filename.ends_with(".eml"));
    let d = &m.submission.content.description;
    assert!(
        d.contains("転送されたメッセージ")
            && d.contains("helpdesk@example-phish.top")
            && d.contains("webmail-login[.]example-phish[.]top"),
        "{d}"
    );
}

#[test]
fn missing_message_id_dedups_by_content() {
    let a = parse_inbound(corpus("no_message_id.eml"), MailLimits::default());
    let b = parse_inbound(corpus("no_message_id.eml"), MailLimits::default());
    assert!(matches!(a.submission.dedup, Some(DedupKey::ContentHash(_))));
    assert_eq!(a.submission.dedup, b.submission.dedup);
}

#[test]
fn truncated_and_garbage_messages_are_still_submissions() {
    let m = parse_inbound(corpus("truncated_mime.eml"), MailLimits::default());
    assert!(m.submission.content.description.contains("踏み台"));
    for garbage in [vec![], vec![0u8; 100], b"\xff\xfe\x00garbage without headers".to_vec()] {
        let g = parse_inbound(garbage.clone(), MailLimits::default());
        assert!(!g.submission.content.description.is_empty());
        assert_eq!(g.submission.raw.bytes, garbage);
        assert!(matches!(g.submission.dedup, Some(DedupKey::ContentHash(_))));
    }
}

#[test]
fn the_ipa_form_fills_the_report() {
    let m = parse_inbound(corpus("ipa_form.eml"), MailLimits::default());
    let c = &m.submission.content;
    assert_eq!(c.form, ReportForm::UnauthorizedAccess);
    assert_eq!(c.reporter.kind, Some(ReporterKind::Company));
    assert_eq!(c.reporter.name.as_deref(), Some("佐藤 花子"));
    assert_eq!(c.reporter.organization.as_deref(), Some("株式会社サンプル"));
    assert_eq!(c.reporter.address.as_deref(), Some("東京都"));
    assert_eq!(c.discovered_on, Some(time::macros::date!(2026 - 11 - 20)));
    assert_eq!(c.affected.assets, [AffectedAsset::ServerDatabase]);
    assert_eq!(c.affected.deployment, [Deployment::CloudIaas]);
    assert_eq!(c.damage_status, DamageStatus::Damage);
    assert_eq!(c.damages, [DamageCategory::DataDestructionExtortion]);
    assert_eq!(c.causes, [CauseCategory::MissingAccessControl]);
}

#[test]
fn auto_responders_and_injection() {
    assert!(parse_inbound(corpus("auto_reply.eml"), MailLimits::default()).automatic);
    let m = parse_inbound(corpus("header_injection.eml"), MailLimits::default());
    // A Reply-To smuggling a second header is not an address; the reply goes to From.
    assert_eq!(m.reply_address.as_ref().map(|e| e.as_str()), Some("attacker@example.com"));
    assert!(!m.subject.contains('\n') && !m.subject.contains('\r'));
}

#[test]
fn a_ten_thousand_part_bomb_is_bounded() {
    let mut raw = b"From: a@example.jp\r\nSubject: bomb\r\nMessage-ID: <bomb@example.jp>\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n".to_vec();
    raw.extend(b"--B\r\nContent-Type: text/plain\r\n\r\nmany parts\r\n");
    for i in 0..10_000 {
        raw.extend(format!("--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=p{i}.bin\r\n\r\nxx\r\n").as_bytes());
    }
    raw.extend(b"--B--\r\n");
    let t = std::time::Instant::now();
    let m = parse_inbound(raw, MailLimits::default());
    assert!(t.elapsed().as_secs() < 20, "took {:?}", t.elapsed());
    assert_eq!(m.submission.attachments.len(), MailLimits::default().max_attachments);
    assert!(
        m.submission.intake_notes.iter().any(|n| n.contains("more attachments not extracted")),
        "{:?}",
        m.submission.intake_notes
    );
}

#[test]
fn an_oversized_attachment_stays_raw_and_is_flagged() {
    let big = vec![b'A'; 3 << 20];
    let mut raw = b"From: a@example.jp\r\nSubject: big\r\nMessage-ID: <big@example.jp>\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=disk.img\r\n\r\n".to_vec();
    raw.extend(&big);
    raw.extend(b"\r\n--B--\r\n");
    let m = parse_inbound(raw.clone(), MailLimits { max_attachment_bytes: 1 << 20, max_attachments: 10 });
    assert!(m.submission.attachments.is_empty());
    assert!(
        m.submission.intake_notes.iter().any(|n| n.contains("disk.img") && n.contains("exceeds")),
        "{:?}",
        m.submission.intake_notes
    );
    assert_eq!(m.submission.raw.bytes.len(), raw.len());
}

#[test]
fn a_message_that_trips_the_mime_parser_is_kept_raw() {
    // Found by the mail_inbound fuzz target: mail-parser 0.11 reaches a debug assertion on it.
    let raw = corpus("fuzz_crash_mail_parser_debug_assert.eml");
    let m = parse_inbound(raw.clone(), MailLimits::default());
    assert_eq!(m.submission.raw.bytes, raw);
    assert!(!m.submission.content.description.is_empty());
}

#[test]
fn a_body_of_control_characters_is_an_empty_body() {
    // Found by the mail_inbound fuzz target: the description must never end up empty.
    let m = parse_inbound(corpus("fuzz_control_characters_only.eml"), MailLimits::default());
    assert!(!m.submission.content.description.trim().is_empty());
    let m = parse_inbound(b"Subject: \x01\r\n\r\n\x02\x03\x04\r\n".to_vec(), MailLimits::default());
    assert!(!m.submission.content.description.trim().is_empty());
}
