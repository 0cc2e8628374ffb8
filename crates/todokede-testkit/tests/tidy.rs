//! Repository conventions that a reviewer would otherwise check by hand: every Rust module says
//! what it is for (`//!` first), and every path ARCHITECTURE.md's code map names exists.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Every file and directory of the repository, relative to its root (build output and VCS data
/// left out); directories end in `/`.
fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "target" || name.starts_with('.') {
            continue;
        }
        let relative = path.strip_prefix(root).unwrap().display().to_string();
        if path.is_dir() {
            out.push(format!("{relative}/"));
            walk(&path, root, out);
        } else {
            out.push(relative);
        }
    }
}

fn all_files() -> Vec<String> {
    let root = root();
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out
}

#[test]
fn every_rust_module_starts_with_a_doc_comment() {
    let missing: Vec<String> = all_files()
        .into_iter()
        .filter(|f| f.ends_with(".rs") && (f.starts_with("crates/") || f.starts_with("fuzz/")))
        .filter(|f| {
            let text = std::fs::read_to_string(root().join(f)).unwrap();
            // Inner attributes (`#![no_main]`) may come first.
            let first = text.lines().find(|l| !l.trim().is_empty() && !l.starts_with("#!["));
            !first.is_some_and(|l| l.starts_with("//!"))
        })
        .collect();
    assert!(missing.is_empty(), "modules without a `//!` line saying what they are for: {missing:?}");
}

#[test]
fn every_path_in_the_code_map_exists() {
    let architecture = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let map = architecture.split("## Code map").nth(1).expect("a Code map section");
    let map = map.split("```").nth(1).expect("the code map block");
    let files = all_files();
    let mut checked = 0;
    let mut missing = Vec::new();
    for token in map.split(|c: char| c.is_whitespace() || matches!(c, ',' | '(' | ')' | ';' | '`' | '=')) {
        let token = token.trim_end_matches([':', '.']);
        // File names and directories; patterns ({a,b}, *.html) and prose are not paths.
        let extensions = [".rs", ".txt", ".md", ".html", ".css", ".typ", ".py", ".json", ".jsonl", ".tsv", ".toml"];
        let is_path = (token.ends_with('/') && token.len() > 1) || extensions.iter().any(|ext| token.ends_with(ext));
        if !is_path || token.contains(['*', '{', '}', '…']) || token.starts_with("..") {
            continue;
        }
        checked += 1;
        if !files.iter().any(|f| f == token || f.ends_with(&format!("/{token}"))) {
            missing.push(token.to_owned());
        }
    }
    assert!(checked > 40, "the code map names only {checked} paths");
    assert!(missing.is_empty(), "the code map names paths that do not exist: {missing:?}");
}
