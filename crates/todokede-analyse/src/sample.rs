//! Is an attachment a possible malware carrier? Decided by its content first (magic bytes of
//! executables, Office/OLE2, OOXML with macros, RTF, PDF, archives, OneNote, CHM, disk images,
//! scripts), then by its name as Windows would read it (trailing dots and spaces dropped, an
//! alternate data stream cut off), and anything that is neither plain text nor a common image is
//! treated as a carrier too: what leaves raw must be known to be inert, not merely unrecognised.

/// Why an attachment is handled as a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// PE (MZ), ELF, Mach-O (thin or fat), Java class, Dalvik, Windows shortcut.
    Executable,
    /// OLE2 compound file: .doc/.xls/.ppt/.msi/.msg, macros possible.
    Ole2,
    /// An OOXML document holding a VBA project (`vbaProject.bin`).
    OoxmlMacros,
    Rtf,
    Pdf,
    /// zip (and every OOXML/JAR/APK), gzip, bzip2, xz, 7z, RAR, CAB.
    Archive,
    /// OneNote section (.one).
    OneNote,
    /// Compiled HTML help (.chm).
    Chm,
    /// ISO 9660, VHD, VHDX.
    DiskImage,
    /// A script by its content (shebang, batch, HTML/HTA/WSF, PHP/ASP) or by its name.
    Script,
    /// A name whose extension Windows runs or opens with macros/scripts.
    DangerousName,
    /// Binary content of no inert kind (not text, not a common image).
    UnknownBinary,
}

/// Extensions Windows (or a browser, or an Office application) runs, or that hold scripts or
/// macros, or that are containers of such files.
const CARRIER_EXTENSIONS: &[&str] = &[
    "exe",
    "dll",
    "scr",
    "com",
    "pif",
    "cpl",
    "sys",
    "drv",
    "ocx",
    "bat",
    "cmd",
    "ps1",
    "psm1",
    "vbs",
    "vbe",
    "js",
    "jse",
    "wsf",
    "wsh",
    "hta",
    "jar",
    "class",
    "lnk",
    "url",
    "scf",
    "msi",
    "msp",
    "msc",
    "reg",
    "inf",
    "docm",
    "dotm",
    "xlsm",
    "xltm",
    "xlam",
    "xll",
    "pptm",
    "potm",
    "ppam",
    "sldm",
    "doc",
    "dot",
    "xls",
    "xlt",
    "ppt",
    "rtf",
    "pdf",
    "one",
    "onepkg",
    "chm",
    "iso",
    "img",
    "vhd",
    "vhdx",
    "zip",
    "gz",
    "tgz",
    "bz2",
    "xz",
    "7z",
    "rar",
    "cab",
    "arj",
    "lzh",
    "ace",
    "elf",
    "sh",
    "bash",
    "py",
    "pl",
    "rb",
    "apk",
    "dex",
    "php",
    "asp",
    "aspx",
    "jsp",
    "html",
    "htm",
    "svg",
    "xhtml",
    "mht",
    "mhtml",
    "iqy",
    "slk",
    "appref-ms",
    "application",
    "gadget",
    "library-ms",
    "settingcontent-ms",
    "website",
    "xbap",
];

/// The attachment's carrier kind, or `None` when it is plain text or a common image under an
/// inert name.
pub fn carrier(filename: &str, bytes: &[u8]) -> Option<Carrier> {
    by_content(bytes)
        .or_else(|| by_name(filename))
        .or_else(|| disguise(filename, bytes).map(|_| Carrier::DangerousName))
        .or_else(|| (!inert(bytes)).then_some(Carrier::UnknownBinary))
}

/// The extension as Windows resolves it: `evil.vbs.` and `evil.vbs ` open as `.vbs`, and
/// `evil.vbs:stream` names the stream of `evil.vbs`.
pub fn effective_extension(filename: &str) -> String {
    let base = filename.rsplit(['/', '\\']).next().unwrap_or(filename);
    let base = base.split(':').next().unwrap_or(base);
    let base = base.trim_end_matches(['.', ' ', '\u{3000}', '\t']);
    match base.rsplit_once('.') {
        Some((_, ext)) => ext.to_ascii_lowercase(),
        None => String::new(),
    }
}

/// How a file name hides what the file is: the trick a phishing mail plays on the person who
/// opens it (`請求書.pdf.exe`, `invoice\u{202e}fdp.exe` shown as `invoiceexe.pdf`, an executable named
/// `.pdf`). Each is also a [`Carrier`] whatever its content ([`carrier`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disguise {
    /// A bidirectional control character (U+202E RIGHT-TO-LEFT OVERRIDE and its kin): the name
    /// is displayed in another order than it is read, so the extension shown is not the real one.
    BidiControl { codepoint: char },
    /// A document's extension before the one that runs: `invoice.pdf.exe` (padding spaces
    /// between them too, `invoice.pdf      .exe`). `shown` is the document's, `real` the one
    /// Windows goes by.
    DoubleExtension { shown: String, real: String },
    /// A document's (or image's, or text's) extension on content that is an executable or a
    /// script: `scan.pdf` that starts with `MZ`.
    ContentMismatch { named: String, actual: Carrier },
}

/// Characters that reorder or hide text when a name is displayed: the bidirectional embeddings,
/// overrides and isolates, the directional marks, and the Arabic letter mark.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// Extensions people take for something to read or look at.
const DOCUMENT_EXTENSIONS: &[&str] = &[
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "rtf", "odt", "ods", "odp", "txt", "log", "csv", "xml", "json",
    "jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "webp", "heic", "mp3", "mp4", "wav", "mov", "avi", "jtd", "hwp",
];

/// Extensions that run (or mount, or open a script host) when double-clicked.
const RUNNABLE_EXTENSIONS: &[&str] = &[
    "exe",
    "dll",
    "scr",
    "com",
    "pif",
    "cpl",
    "bat",
    "cmd",
    "ps1",
    "psm1",
    "vbs",
    "vbe",
    "js",
    "jse",
    "wsf",
    "wsh",
    "hta",
    "jar",
    "lnk",
    "url",
    "scf",
    "msi",
    "msp",
    "msc",
    "reg",
    "inf",
    "sh",
    "apk",
    "application",
    "appref-ms",
    "gadget",
    "settingcontent-ms",
    "iso",
    "img",
    "vhd",
    "vhdx",
    "chm",
    "one",
    "xll",
    "elf",
];

/// How `filename` disguises the file, reading only the first bytes of the content (`head`: 4 KiB
/// are enough); `None` for an honest name.
pub fn disguise(filename: &str, head: &[u8]) -> Option<Disguise> {
    if let Some(codepoint) = filename.chars().find(|c| is_bidi_control(*c)) {
        return Some(Disguise::BidiControl { codepoint });
    }
    let real = effective_extension(filename);
    let base = filename.rsplit(['/', '\\']).next().unwrap_or(filename);
    let base = base.split(':').next().unwrap_or(base).trim_end_matches(['.', ' ', '\u{3000}', '\t']);
    if RUNNABLE_EXTENSIONS.contains(&real.as_str())
        && let Some((stem, _)) = base.rsplit_once('.')
    {
        let shown = effective_extension(stem);
        if DOCUMENT_EXTENSIONS.contains(&shown.as_str()) {
            return Some(Disguise::DoubleExtension { shown, real });
        }
    }
    if DOCUMENT_EXTENSIONS.contains(&real.as_str()) {
        let head = &head[..head.len().min(4096)];
        let actual = match by_content(head) {
            Some(Carrier::Executable) => Some(Carrier::Executable),
            // A script by how it starts (what a script host reads first), not by a word inside a
            // log that mentions PowerShell; a text or log name on a script is how analysts and
            // reporters defang one, so only a document's or an image's name disguises it.
            Some(Carrier::Script)
                if !matches!(real.as_str(), "txt" | "log" | "csv" | "xml" | "json") && script_start(head) =>
            {
                Some(Carrier::Script)
            }
            _ => None,
        };
        if let Some(actual) = actual {
            return Some(Disguise::ContentMismatch { named: real, actual });
        }
    }
    None
}

fn by_name(filename: &str) -> Option<Carrier> {
    let ext = effective_extension(filename);
    CARRIER_EXTENSIONS.contains(&ext.as_str()).then_some(Carrier::DangerousName)
}

fn by_content(b: &[u8]) -> Option<Carrier> {
    let starts = |m: &[u8]| b.starts_with(m);
    let head = &b[..b.len().min(1024)];
    if starts(b"MZ")
        || starts(b"\x7fELF")
        || [b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe"]
            .iter()
            .any(|m| starts(*m))
        || starts(b"dex\n")
        || starts(b"L\x00\x00\x00\x01\x14\x02\x00")
    {
        return Some(Carrier::Executable);
    }
    if starts(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") {
        return Some(Carrier::Ole2);
    }
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") || starts(b"PK\x07\x08") {
        let macros = contains(b, b"vbaProject.bin") || contains(b, b"vbaData.xml");
        return Some(if macros { Carrier::OoxmlMacros } else { Carrier::Archive });
    }
    // Word opens anything that begins with `{\rt` as RTF; Acrobat finds `%PDF-` anywhere in
    // the first kilobyte.
    if starts(b"{\\rt") {
        return Some(Carrier::Rtf);
    }
    if contains(head, b"%PDF-") {
        return Some(Carrier::Pdf);
    }
    let archives: [&[u8]; 7] = [
        b"\x1f\x8b",
        b"BZh",
        b"\xfd7zXZ\x00",
        b"7z\xbc\xaf\x27\x1c",
        b"Rar!\x1a\x07",
        b"MSCF\x00\x00\x00\x00",
        b"\x60\xea",
    ];
    if archives.iter().any(|m| starts(m)) {
        return Some(Carrier::Archive);
    }
    if starts(b"\xe4\x52\x5c\x7b\x8c\xd8\xa7\x4d\xae\xb1\x53\x78\xd0\x29\x96\xd3") {
        return Some(Carrier::OneNote);
    }
    if starts(b"ITSF") {
        return Some(Carrier::Chm);
    }
    let iso = [0x8001usize, 0x8801, 0x9001].iter().any(|&at| b.get(at..at + 5) == Some(b"CD001"));
    if iso
        || starts(b"conectix")
        || starts(b"vhdxfile")
        || b.len() >= 512 && b[b.len() - 512..].starts_with(b"conectix")
    {
        return Some(Carrier::DiskImage);
    }
    script(head).then_some(Carrier::Script)
}

/// Text that a shell, cmd.exe, a browser, mshta or wscript would run.
fn script(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let t = text.trim_start_matches('\u{feff}').trim_start().to_ascii_lowercase();
    const ANYWHERE: &[&str] = &["<script", "createobject(", "wscript.shell", "powershell", "invoke-expression"];
    script_start(head) || ANYWHERE.iter().any(|m| t.contains(m))
}

/// Text that starts as a script does (a shebang, a batch file, HTML/HTA/WSF, PHP/ASP, SVG).
fn script_start(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let t = text.trim_start_matches('\u{feff}').trim_start().to_ascii_lowercase();
    const STARTS: &[&str] =
        &["#!", "@echo", "<html", "<!doctype html", "<hta:", "<job", "<package", "<?php", "<%", "<svg"];
    STARTS.iter().any(|m| t.starts_with(m))
}

/// Plain text (no NUL, few control characters, any encoding) or a PNG/JPEG/GIF/BMP/WebP image.
fn inert(b: &[u8]) -> bool {
    let images: [&[u8]; 5] = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM"];
    if images.iter().any(|m| b.starts_with(m)) || b.starts_with(b"RIFF") && b.get(8..12) == Some(b"WEBP") {
        return true;
    }
    let head = &b[..b.len().min(8192)];
    let control = head.iter().filter(|&&c| c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b)).count();
    !head.contains(&0) && control * 100 <= head.len()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 17, finding 10: each of these was served raw.
    #[test]
    fn every_carrier_is_a_sample_by_content_or_name() {
        let mut ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1".to_vec();
        ole.extend([0u8; 504]);
        let mut ooxml = b"PK\x03\x04\x14\x00\x06\x00".to_vec();
        ooxml.extend(b"word/vbaProject.bin");
        let mut iso = vec![0u8; 0x8010];
        iso[0x8001..0x8006].copy_from_slice(b"CD001");
        let cases: Vec<(&str, Vec<u8>, Carrier)> = vec![
            ("evil.vbs.", b"MsgBox \"hi\"\r\n".to_vec(), Carrier::DangerousName),
            ("evil.vbs ", b"MsgBox \"hi\"\r\n".to_vec(), Carrier::DangerousName),
            ("evil.vbs:x.txt", b"MsgBox \"hi\"\r\n".to_vec(), Carrier::DangerousName),
            ("notes.txt", b"Set s = CreateObject(\"WScript.Shell\")\r\n".to_vec(), Carrier::Script),
            ("run.txt", b"#!/bin/sh\ncurl x | sh\n".to_vec(), Carrier::Script),
            ("a.txt", b"@echo off\r\ndel /q *\r\n".to_vec(), Carrier::Script),
            ("page.txt", b"<html><body><script>alert(1)</script>".to_vec(), Carrier::Script),
            ("report.txt", b"MZ\x90\x00\x03\x00\x00\x00".to_vec(), Carrier::Executable),
            ("x", b"\x7fELF\x02\x01\x01".to_vec(), Carrier::Executable),
            ("x.bin", b"\xcf\xfa\xed\xfe\x07\x00\x00\x01".to_vec(), Carrier::Executable),
            ("x.bin", b"\xca\xfe\xba\xbe\x00\x00\x00\x02".to_vec(), Carrier::Executable),
            ("invoice.txt", ole.clone(), Carrier::Ole2),
            ("invoice.doc", ole.clone(), Carrier::Ole2),
            ("invoice.xls", ole, Carrier::Ole2),
            ("invoice.docx", ooxml, Carrier::OoxmlMacros),
            ("a.docx", b"PK\x03\x04\x14\x00\x06\x00word/document.xml".to_vec(), Carrier::Archive),
            ("a.txt", b"{\\rtf1\\ansi {\\object}}".to_vec(), Carrier::Rtf),
            ("a.txt", b"junk\n%PDF-1.7\n1 0 obj".to_vec(), Carrier::Pdf),
            ("a.log", b"\x1f\x8b\x08\x00\x00\x00".to_vec(), Carrier::Archive),
            ("a", b"7z\xbc\xaf\x27\x1c\x00\x04".to_vec(), Carrier::Archive),
            ("a", b"Rar!\x1a\x07\x01\x00".to_vec(), Carrier::Archive),
            ("n.txt", b"\xe4\x52\x5c\x7b\x8c\xd8\xa7\x4d\xae\xb1\x53\x78\xd0\x29\x96\xd3".to_vec(), Carrier::OneNote),
            ("help.txt", b"ITSF\x03\x00\x00\x00".to_vec(), Carrier::Chm),
            ("disk.txt", iso, Carrier::DiskImage),
            ("blob.dat", vec![0x13, 0x00, 0x88, 0x01, 0x00, 0x00, 0x42], Carrier::UnknownBinary),
        ];
        for (name, bytes, want) in cases {
            assert_eq!(carrier(name, &bytes), Some(want), "{name:?}");
        }
    }

    /// A user walk: `invoice.pdf.exe`, an RLO name and an executable named `.pdf` were listed on
    /// the report page like any document.
    #[test]
    fn disguised_names_are_told_apart_from_honest_ones() {
        let mz = b"MZ\x90\x00\x03\x00\x00\x00".to_vec();
        let text = b"just a note\r\n".to_vec();
        let double =
            |shown: &str, real: &str| Some(Disguise::DoubleExtension { shown: shown.into(), real: real.into() });
        for (name, bytes, want) in [
            ("invoice.pdf.exe", mz.clone(), double("pdf", "exe")),
            ("請求書.PDF.exe", mz.clone(), double("pdf", "exe")),
            ("invoice.pdf          .scr", text.clone(), double("pdf", "scr")),
            ("photo.jpg.vbs.", text.clone(), double("jpg", "vbs")),
            ("C:\\Users\\a\\report.docx.lnk", text.clone(), double("docx", "lnk")),
            ("invoice\u{202e}fdp.exe", mz.clone(), Some(Disguise::BidiControl { codepoint: '\u{202e}' })),
            ("report\u{202e}gpj.txt", text.clone(), Some(Disguise::BidiControl { codepoint: '\u{202e}' })),
            ("a\u{2067}b.txt", text.clone(), Some(Disguise::BidiControl { codepoint: '\u{2067}' })),
            (
                "scan.pdf",
                mz.clone(),
                Some(Disguise::ContentMismatch { named: "pdf".into(), actual: Carrier::Executable }),
            ),
            (
                "notes.txt",
                b"\x7fELF\x02\x01".to_vec(),
                Some(Disguise::ContentMismatch { named: "txt".into(), actual: Carrier::Executable }),
            ),
            (
                "invoice.docx",
                b"<hta:application>".to_vec(),
                Some(Disguise::ContentMismatch { named: "docx".into(), actual: Carrier::Script }),
            ),
        ] {
            assert_eq!(disguise(name, &bytes), want, "{name:?}");
            assert!(carrier(name, &bytes).is_some(), "{name:?} is handled as a sample");
        }
        for (name, bytes) in [
            ("invoice.exe", mz.clone()),
            ("sample.exe.txt", text.clone()),
            ("backup.tar.gz", b"\x1f\x8b\x08\x00".to_vec()),
            ("v1.2.3.pdf", b"%PDF-1.7".to_vec()),
            ("auth.log", b"Jan 1 powershell -enc AAAA\n".to_vec()),
            ("run.txt", b"#!/bin/sh\n".to_vec()),
            ("報告書.docx", b"PK\x03\x04".to_vec()),
            ("setup", mz.clone()),
        ] {
            assert_eq!(disguise(name, &bytes), None, "{name:?}");
        }
    }

    #[test]
    fn logs_text_and_images_under_plain_names_are_inert() {
        for (name, bytes) in [
            ("auth.log", b"Jan  1 00:00:01 host sshd[1]: Failed password for root from 10.0.0.1\n".to_vec()),
            ("memo.txt", "身代金要求のメモ。ビットコインで支払え。\r\n".as_bytes().to_vec()),
            ("sjis.txt", b"\x83\x65\x83\x58\x83\x67\r\n".to_vec()),
            ("shot.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec()),
            ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00".to_vec()),
        ] {
            assert_eq!(carrier(name, &bytes), None, "{name}");
        }
    }
}
