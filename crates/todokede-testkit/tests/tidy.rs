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

/// Licences the project (Apache-2.0) can ship with: permissive ones, and MPL-2.0, whose
/// copyleft is per file and reaches only the dependency's own sources.
const ALLOWED_LICENCES: &[&str] = &[
    "Apache-2.0",
    "Apache-2.0 WITH LLVM-exception",
    "MIT",
    "MIT-0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "Zlib",
    "0BSD",
    "BSL-1.0",
    "CC0-1.0",
    "Unlicense",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "CDLA-Permissive-2.0",
    "MPL-2.0",
];

/// The licence expression of a crate as published (the `license` line of the normalised
/// Cargo.toml crates.io ships), or `None` if it has none.
fn published_licence(manifest: &str) -> Option<String> {
    let package =
        manifest.split("\n[").find(|section| section.starts_with("package]") || section.starts_with("[package]"))?;
    package.lines().find_map(|l| {
        let value = l.strip_prefix("license = ")?;
        Some(value.trim().trim_matches('"').to_owned())
    })
}

/// Every registry crate of Cargo.lock that this machine builds (its sources are unpacked in
/// the cargo home; crates for other platforms never are, and never ship) declares a licence the
/// project may ship with: the licence half of cargo-deny, without its downloads.
#[test]
fn every_dependency_has_an_allowed_licence() {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).unwrap();
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"));
    let sources: Vec<PathBuf> = std::fs::read_dir(cargo_home.join("registry/src"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    let (mut checked, mut refused) = (0, Vec::new());
    for entry in lock.split("[[package]]").skip(1) {
        let field = |k: &str| {
            entry.lines().find_map(|l| l.strip_prefix(&format!("{k} = ")).map(|v| v.trim_matches('"').to_owned()))
        };
        let (Some(name), Some(version)) = (field("name"), field("version")) else { continue };
        if field("source").is_none_or(|s| !s.starts_with("registry+")) {
            continue; // the workspace's own crates: Apache-2.0
        }
        let Some(manifest) = sources
            .iter()
            .find_map(|dir| std::fs::read_to_string(dir.join(format!("{name}-{version}/Cargo.toml"))).ok())
        else {
            continue;
        };
        checked += 1;
        let Some(licence) = published_licence(&manifest) else {
            refused.push(format!("{name} {version}: no SPDX licence expression"));
            continue;
        };
        let allowed = spdx::Expression::parse_mode(&licence, spdx::ParseMode::LAX).is_ok_and(|expr| {
            expr.evaluate(|req| match &req.license {
                spdx::LicenseItem::Spdx { id, .. } => {
                    let name = match &req.addition {
                        Some(spdx::AdditionItem::Spdx(exception)) => format!("{} WITH {}", id.name, exception.name),
                        Some(spdx::AdditionItem::Other { add_ref, .. }) => format!("{} WITH {add_ref}", id.name),
                        None => id.name.to_owned(),
                    };
                    ALLOWED_LICENCES.contains(&name.as_str())
                }
                spdx::LicenseItem::Other { .. } => false,
            })
        });
        if !allowed {
            refused.push(format!("{name} {version}: {licence}"));
        }
    }
    // Run after a build, so the tree's sources are unpacked; far fewer means the lookup broke.
    assert!(checked > 200, "only {checked} crates of Cargo.lock found in {}", cargo_home.display());
    assert!(refused.is_empty(), "dependencies whose licence is not allowed (see ALLOWED_LICENCES): {refused:#?}");
}
