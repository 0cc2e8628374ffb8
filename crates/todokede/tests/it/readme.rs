//! Issue 15: the README's "Using it" commands run as written, so the README cannot drift. The
//! test reads README.md itself, takes every command of the section's code blocks (indented or
//! fenced; a trailing `\` continues a line, `#` starts a comment), and runs them in order with
//! `sh` — globs, pipes and redirections as a reader's shell has them — in a fresh directory
//! that has the repository's `fixtures/` and the files a reader brings (`some-report.txt`,
//! `report.txt`, `message.eml`). Only the program is substituted: `cargo run --release --` and a
//! leading `todokede` become the binary under test, and `TODOKEDE_DATABASE_URL` (which every
//! command reads, README) names a new SQLite file that the first `user add` creates. The README's
//! example tracking number stands for a real one of the imported reports, and /srv/misp-feed
//! for a directory of the test's. What needs a running
//! server, a PostgreSQL server or the reader's own logs is skipped, each with its reason, and the
//! list of skipped commands is checked: a new command in the README runs unless it is one of
//! those. The real binary runs: its exit status and files are the contract.
//! `journeys::the_readme_sequence_works_as_written` checks the same sequence's details by hand.

use crate::common;
use std::path::Path;
use std::process::Command;

/// The commands of the README's "Using it" section, in order, continuation lines joined and
/// comments removed.
pub fn using_it_commands(readme: &str) -> Vec<String> {
    let section = readme.split("\n## Using it").nth(1).expect("README has a \"Using it\" section");
    let section = section.split("\n## ").next().unwrap();
    let mut lines: Vec<String> = vec![];
    let (mut fenced, mut in_code, mut previous_blank) = (false, false, true);
    for raw in section.lines() {
        if raw.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            lines.push(raw.trim().to_owned());
            continue;
        }
        // An indented code block starts after a blank line (Markdown) and goes on over blank
        // lines while the lines stay indented.
        if raw.trim().is_empty() {
            previous_blank = true;
            continue;
        }
        in_code = raw.starts_with("    ") && (previous_blank || in_code);
        if in_code {
            lines.push(raw.trim().to_owned());
        }
        previous_blank = false;
    }
    let mut commands: Vec<String> = vec![];
    let mut pending = String::new();
    for l in lines {
        let l = strip_comment(&l);
        if l.is_empty() && pending.is_empty() {
            continue;
        }
        match l.strip_suffix('\\') {
            Some(head) => {
                pending.push_str(head.trim_end());
                pending.push(' ');
            }
            None => {
                pending.push_str(&l);
                commands.push(std::mem::take(&mut pending).trim().to_owned());
            }
        }
    }
    commands.retain(|c| !c.is_empty());
    commands
}

/// A line without its shell comment (a `#` at a word's start, outside quotes).
fn strip_comment(line: &str) -> String {
    let (mut single, mut double) = (false, false);
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev.is_whitespace() => return line[..i].trim_end().to_owned(),
            _ => {}
        }
        prev = c;
    }
    line.trim_end().to_owned()
}

/// Why a command of the README is not run here, if it is not.
fn skipped(command: &str) -> Option<&'static str> {
    let words: Vec<&str> = command.split_whitespace().collect();
    if words.first() == Some(&"curl") || command.contains("localhost:8080") {
        return Some("talks HTTP to a running `serve` (the API tests do that: api.rs, web.rs)");
    }
    if command.contains("postgres://") {
        return Some("needs a PostgreSQL server (the tests run every command on both backends)");
    }
    if words.last() == Some(&"serve") {
        return Some("starts the service and does not return (ops.rs and processes.rs run `serve`)");
    }
    if words.iter().any(|w| w.starts_with("../VCDB/")) {
        return Some("reads a VCDB clone the reader brings (veris.rs imports the VERIS records of ../shared)");
    }
    if words.contains(&"evidence") && words.iter().any(|w| w.starts_with("/var/log/")) {
        return Some("reads the reader's own logs (the evidence tests run on real ones)");
    }
    None
}

/// The program substituted: `cargo run --release --` and a leading `todokede` (also after `|`,
/// `;`, `&&`) become the binary under test; the README's example tracking number a real one.
fn substituted(command: &str, tracking_number: &str) -> String {
    let mut c = command.replace("cargo run --release --", "\"$TODOKEDE_BIN\"");
    for sep in ["", "| ", "; ", "&& "] {
        let from = format!("{sep}todokede ");
        let to = format!("{sep}\"$TODOKEDE_BIN\" ");
        if sep.is_empty() {
            if c.starts_with("todokede ") {
                c = c.replacen("todokede ", "\"$TODOKEDE_BIN\" ", 1);
            }
        } else {
            c = c.replace(&from, &to);
        }
    }
    // Paths outside the reader's directory stay in the test's (the feed's /srv/misp-feed).
    c.replace("7K3MQ-9XD2A", tracking_number).replace("/srv/misp-feed", "misp-feed")
}

/// The files a reader brings to the commands that read theirs.
fn reader_files(dir: &Path) {
    std::os::unix::fs::symlink(common::repo("fixtures"), dir.join("fixtures")).unwrap();
    let report =
        "自社のウェブサーバで、phpMyAdmin 経由でデータベースが消去され、ビットコインを要求する脅迫文が残されていた。\n";
    std::fs::write(dir.join("some-report.txt"), report).unwrap();
    std::fs::write(dir.join("report.txt"), report).unwrap();
    std::fs::write(
        dir.join("message.eml"),
        "From: reporter@example.jp\r\nTo: uirai@todokede.example\r\nSubject: 不正アクセスの届出\r\n\
         Message-ID: <readme-1@example.jp>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         管理画面に不正ログインされ、ページが改ざんされました。\r\n",
    )
    .unwrap();
}

#[test]
fn the_readme_commands_run_as_written() {
    let readme = std::fs::read_to_string(common::repo("README.md")).unwrap();
    let commands = using_it_commands(&readme);
    // The sequence a reader follows is there (the parser found the blocks).
    for needle in [
        "user add --role admin",
        "import fixtures/seeds/*.json",
        "classify -",
        "publication draft",
        "publication approve",
        "report --period",
    ] {
        assert!(commands.iter().any(|c| c.contains(needle)), "README's Using it lacks `{needle}`: {commands:#?}");
    }
    let fonts = todokede_testkit::requires::ipaex_fonts();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("readme.db").display());
    reader_files(dir.path());
    let mut tracking_number = "7K3MQ-9XD2A".to_owned();
    let mut ran = vec![];
    let mut skips = vec![];
    for command in &commands {
        if let Some(why) = skipped(command) {
            eprintln!("README: skipped `{command}`: {why}");
            skips.push(command.clone());
            continue;
        }
        if !fonts && command.contains("--format pdf") {
            // Without the fonts (they are required in CI) the PDF command cannot succeed.
            eprintln!("README: skipped `{command}`: no IPAex fonts here");
            continue;
        }
        let line = substituted(command, &tracking_number);
        let out = Command::new("sh")
            .arg("-c")
            .arg(&line)
            .current_dir(dir.path())
            .env("TODOKEDE_BIN", common::BIN)
            .env("TODOKEDE_DATABASE_URL", &db)
            .env("TODOKEDE_LOG", "warn")
            .output()
            .unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "README command failed: `{command}`\n(ran `{line}`)\n{stdout}\n{stderr}");
        // The reports imported: the example tracking number stands for one of 2019H2 (the
        // period the README exports), the last one the seeds' import lists.
        if command.contains("import fixtures/seeds/*.json") && !command.contains('|') {
            let numbers: Vec<&str> =
                stdout.lines().filter(|l| l.ends_with("\timported")).map(|l| l.split('\t').next().unwrap()).collect();
            assert_eq!(numbers.len(), 30, "{stdout}{stderr}");
            tracking_number = numbers[numbers.len() - 1].to_owned();
        }
        ran.push(command.clone());
    }
    // What is skipped is only what cannot run here: the curl calls, serve, PostgreSQL, logs.
    assert!(skips.iter().all(|c| skipped(c).is_some()));
    assert!(skips.len() <= 8, "more of the README is skipped than runs: {skips:#?}");
    assert!(ran.len() >= 15, "only {} README commands ran: {ran:#?}", ran.len());
    // What the commands were to leave behind.
    let file = |f: &str| std::fs::read(dir.path().join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    assert!(file("model.tsv").len() > 100, "train --from-store -o model.tsv");
    let stix: serde_json::Value = serde_json::from_slice(&file("2019H2.stix.json")).unwrap();
    assert_eq!(stix["type"], "bundle", "export stix -o 2019H2.stix.json");
    assert!(file("2019H2.csv").starts_with("\u{feff}".as_bytes()), "export --format csv -o 2019H2.csv");
    assert!(dir.path().join("misp-feed").join("manifest.json").exists(), "feed misp --dir");
    if fonts {
        assert!(file("2019H2.pdf").starts_with(b"%PDF-"), "report --format pdf -o 2019H2.pdf");
    }
}

#[test]
fn the_readme_parser_reads_continuations_comments_and_skips_prose() {
    let md = "# x\n\n## Using it\n\nProse `todokede nope` here.\n\n    # a comment line\n    cargo run --release -- a \\\n         --b c   # the comment\n    todokede d; todokede e   # more\n                             # and more\n\nMore prose.\n\n```\ntodokede f\n```\n\n## Next\n\n    todokede g\n";
    assert_eq!(using_it_commands(md), ["cargo run --release -- a --b c", "todokede d; todokede e", "todokede f"]);
    assert_eq!(
        substituted("todokede d; todokede e | todokede f 7K3MQ-9XD2A", "ABCDE-FGHIJ"),
        "\"$TODOKEDE_BIN\" d; \"$TODOKEDE_BIN\" e | \"$TODOKEDE_BIN\" f ABCDE-FGHIJ"
    );
    assert_eq!(strip_comment("echo '#not' \"#no\" x#y # yes"), "echo '#not' \"#no\" x#y");
}
