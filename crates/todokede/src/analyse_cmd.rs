//! `todokede analyze`: the text analysis on a file or standard input, for people and scripts.

use anyhow::Context as _;
use std::io::Read as _;
use todokede_analyse::Analysis;
use todokede_domain::ClosedEnum;

pub fn read_input(path: &str) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    if path == "-" {
        std::io::stdin().read_to_end(&mut bytes).context("cannot read standard input")?;
    } else {
        bytes = std::fs::read(path).with_context(|| format!("cannot read {path}"))?;
    }
    // Reports arrive in any encoding; invalid UTF-8 is replaced, never a reason to refuse.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

pub fn print_human(a: &Analysis) {
    let c = &a.classification;
    let preview: String = a.normalised.chars().take(300).collect();
    println!(
        "正規化テキスト (normalised text):\n  {}{}",
        preview.replace('\n', "\n  "),
        if a.normalised.chars().count() > 300 { "…" } else { "" }
    );
    println!("\n指標 (indicators):");
    if a.extraction.indicators.is_empty() {
        println!("  (none)");
    }
    for (t, vals) in &a.extraction.indicators.by_type {
        println!("  {:<9} {}", t.key(), vals.join(", "));
    }
    if !a.extraction.internal.is_empty() {
        println!("内部アドレス (internal):");
        for (t, vals) in &a.extraction.internal.by_type {
            println!("  {:<9} {}", t.key(), vals.join(", "));
        }
    }
    if !a.extraction.context.is_empty() {
        println!("参考 (context, not indicators):");
        for (t, v, why) in &a.extraction.context {
            println!("  {:<9} {v} ({})", t.key(), why.key());
        }
    }
    fn section<T: ClosedEnum>(title: &str, ds: &[todokede_analyse::Decision<T>]) {
        println!("\n{title}:");
        if ds.is_empty() {
            println!("  (none found)");
        }
        for d in ds {
            println!(
                "  {:<28} {} / {}  [{:.2}]  ← {}",
                d.value.key(),
                d.value.label_ja(),
                d.value.label_en(),
                d.confidence,
                d.evidence.join(" | ")
            );
        }
    }
    section("被害原因 (causes, primary first)", &c.causes);
    section("被害内容 (damages)", &c.damages);
    section("攻撃行為 (attack types)", &c.attack_types);
    println!(
        "\n被害の有無 (damage): {}{}",
        match c.has_damage {
            Some(true) => "あり (damage)",
            Some(false) => "なし・未遂 (attempt only)",
            None => "不明 (not stated)",
        },
        if c.has_damage_evidence.is_empty() {
            String::new()
        } else {
            format!("  ← {}", c.has_damage_evidence.join(" | "))
        }
    );
    println!("\nATT&CK:");
    for t in &c.techniques {
        println!("  {:<10} {}  [{:.2}]  ← {}", t.id, t.name, t.confidence, t.evidence.join(" | "));
    }
    println!("\n着目点 (countermeasures):");
    for m in &c.countermeasures {
        println!("  • {}\n    {}\n    ({}; {})", m.ja, m.en, m.triggered_by.join(", "), m.source);
    }
}

/// `todokede evidence`: each file through the analyser of its kind.
pub fn evidence(files: &[std::path::PathBuf], kind: &str, json: bool) -> anyhow::Result<()> {
    use std::io::{BufRead as _, BufReader, Read as _};
    const KINDS: &str = "auto, sshd, access, login, mail, evtx";
    let mut out = Vec::new();
    for path in files {
        let open = || std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()));
        let size = open()?.metadata().map(|m| m.len()).unwrap_or(0);
        let mut magic = [0u8; 2];
        let gzip = open()?.read(&mut magic).unwrap_or(0) == 2 && magic == [0x1f, 0x8b];
        // Progress on a terminal for files over a few MB (bytes of the file as read, so a
        // gzip file shows its compressed progress).
        let counted = crate::progress::ProgressReader::new(open()?, size, path.display().to_string());
        let raw: Box<dyn std::io::Read> =
            if gzip { Box::new(flate2::read::MultiGzDecoder::new(counted)) } else { Box::new(counted) };
        let mut reader = BufReader::with_capacity(1 << 20, raw);
        let detected = match kind {
            "auto" => {
                let head = reader.fill_buf().with_context(|| format!("cannot read {}", path.display()))?;
                todokede_analyse::evidence::detect(head).ok_or_else(|| {
                    anyhow::anyhow!("{}: not a log kind todokede reads (supported: {KINDS})", path.display())
                })?
            }
            k @ ("sshd" | "access" | "login" | "mail" | "evtx") => k,
            other => anyhow::bail!("--kind {other}: supported: {KINDS}"),
        };
        let (lines, unreadable, findings) = if detected == "evtx" && !gzip {
            // A file seeks: the parser reads it chunk by chunk, never whole.
            let (s, f) = todokede_analyse::evidence::evtx::analyse(std::io::BufReader::new(open()?));
            (s.records, s.unreadable, f)
        } else {
            todokede_analyse::evidence::analyse(detected, reader).expect("known kind")
        };
        let unit = if detected == "evtx" { "records" } else { "lines" };
        if json {
            let kind = todokede_analyse::record::EvidenceKind::parse(detected).expect("known kind");
            let file = todokede_analyse::record::EvidenceFile::new(
                &path.display().to_string(),
                kind,
                lines,
                unreadable,
                &findings,
            );
            out.push(serde_json::to_value(file)?);
        } else {
            println!(
                "{} ({detected}): {lines} {unit}, {unreadable} unreadable, {} findings",
                path.display(),
                findings.len()
            );
            for f in &findings {
                println!(
                    "  [{}] {}{}",
                    f.severity.key(),
                    f.summary(),
                    f.technique.map(|t| format!("  ({t})")).unwrap_or_default()
                );
                for p in &f.proof {
                    println!("      {:>8}: {}", p.line, p.text);
                }
            }
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
