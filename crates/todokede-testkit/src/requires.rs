//! The one switch for what a test needs from outside the repository.
//!
//! `cargo test --workspace` passes on a fresh clone with only the Rust toolchain: a test that
//! needs `../shared/data` (data whose licence keeps it out of the repository), a system tool
//! (chromium, dovecot), the IPAex fonts or a PostgreSQL server asks here first. Locally a missing requirement skips
//! the test with the reason printed; when `CI` is set (`.ci/run` sets it) it fails the test,
//! so CI never passes by skipping.

use std::path::{Path, PathBuf};

/// Where `../shared` lives: `TODOKEDE_SHARED_DIR`, else beside the repository.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("TODOKEDE_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

/// A file or directory under `../shared/data`, or `None` (the test returns) when it is absent
/// outside CI.
pub fn shared_data(relative: &str) -> Option<PathBuf> {
    let path = shared_dir().join("data").join(relative);
    satisfied(path.exists(), &format!("{} (../shared/data, or TODOKEDE_SHARED_DIR)", path.display())).then_some(path)
}

/// A program on `PATH` or at an absolute path (`chromedriver`, `/usr/sbin/dovecot`).
pub fn tool(program: &str) -> bool {
    let found = if program.contains('/') {
        Path::new(program).exists()
    } else {
        std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).exists()))
    };
    satisfied(found, &format!("the program {program} (.ci/run installs it)"))
}

/// The PostgreSQL server the tests make their databases on: the admin URL in
/// `TODOKEDE_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`; `.ci/run` sets
/// it), or `None` (the PostgreSQL test returns) when it is not set outside CI.
pub fn postgres() -> Option<String> {
    let url = std::env::var(crate::POSTGRES_ENV).ok().filter(|s| !s.is_empty());
    satisfied(
        url.is_some(),
        &format!("PostgreSQL: {}=postgres://postgres@127.0.0.1:5432/test (.ci/run sets it)", crate::POSTGRES_ENV),
    );
    url
}

/// The IPAex fonts the PDF is typeset with (Debian's fonts-ipaexfont, or `TODOKEDE_FONT_DIR`).
pub fn ipaex_fonts() -> bool {
    let dirs: Vec<PathBuf> = match std::env::var_os("TODOKEDE_FONT_DIR") {
        Some(dir) => vec![dir.into()],
        None => ["/usr/share/fonts/opentype/ipaexfont-gothic", "/usr/share/fonts/truetype/ipaexfont"]
            .map(PathBuf::from)
            .to_vec(),
    };
    let found = dirs.iter().any(|d| d.join("ipaexg.ttf").exists());
    satisfied(found, "the IPAex fonts (apt-get install fonts-ipaexfont, or TODOKEDE_FONT_DIR)")
}

/// A Python module importable by `python3` (`stix2validator`: the OASIS STIX validator,
/// which `.ci/run` installs with pip).
pub fn python_module(module: &str) -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    satisfied(found, &format!("the Python module {module} (.ci/run installs it with pip)"))
}

/// Whether CI demands every requirement (`CI` set and not empty or "false").
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn satisfied(found: bool, what: &str) -> bool {
    if !found {
        assert!(!in_ci(), "CI is set, so this test requires {what}");
        eprintln!("skipped: this test needs {what}");
    }
    found
}
