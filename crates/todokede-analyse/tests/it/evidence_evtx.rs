//! EVTX analysis over the real attack samples in ../shared/data/evtx (EVTX-ATTACK-SAMPLES,
//! EVTX-to-MITRE-Attack): record counts against the python-evtx cross-check in
//! evtx_summary.json, and the findings an analyst would point to, with their record IDs.
//! The two CC0 samples are vendored in fixtures/evidence; the GPL ones stay in ../shared
//! behind `todokede_testkit::requires`.

use todokede_analyse::evidence::{self, Finding, Severity};

/// A sample: vendored when its licence allows, else from ../shared (`None`: skipped).
fn sample(name: &str) -> Option<std::path::PathBuf> {
    let vendored = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/evidence").join(name);
    if vendored.exists() {
        return Some(vendored);
    }
    todokede_testkit::requires::shared_data(&format!("evtx/{name}"))
}

fn run(name: &str) -> Option<(u64, u64, Vec<Finding>)> {
    let f = std::fs::File::open(sample(name)?).unwrap_or_else(|e| panic!("{name}: {e}"));
    let (s, findings) = evidence::evtx::analyse(std::io::BufReader::new(f));
    // Every finding reads in both languages (its sentence is made from its facts).
    for x in &findings {
        for lang in [todokede_domain::Language::Ja, todokede_domain::Language::En] {
            assert!(evidence::sentence::sentence(x.kind, &x.facts, lang).is_some(), "{name}: {} {:?}", x.kind, x.facts);
        }
    }
    Some((s.records, s.unreadable, findings))
}

fn find<'a>(f: &'a [Finding], kind: &str) -> &'a Finding {
    f.iter()
        .find(|x| x.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} in {:#?}", f.iter().map(|x| (&x.kind, x.summary())).collect::<Vec<_>>()))
}

#[test]
fn record_counts_match_the_cross_check() {
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(match sample("evtx_summary.json") {
            Some(p) => p,
            None => return,
        })
        .unwrap(),
    )
    .unwrap();
    for (file, s) in summary.as_object().unwrap() {
        let Some((records, unreadable, _)) = run(file) else { return };
        if file.contains("ID131") {
            // python-evtx could not render these; the header says 154.
            assert!(records + unreadable > 0, "{file}: nothing read");
            continue;
        }
        assert_eq!(records, s["records"].as_u64().unwrap(), "{file}");
        assert_eq!(unreadable, 0, "{file}");
    }
}

#[test]
fn local_brute_force_is_found_with_its_records() {
    let Some((_, _, f)) = run("mdecrevoisier_ID_4776_4625-AccountRestore_local_bruteforce.evtx") else { return };
    let b = find(&f, "windows_logon_brute_force");
    assert_eq!(b.count, 16);
    assert_eq!(b.accounts, ["Admin", "Administrator"]);
    assert_eq!(b.technique, Some("T1110"));
    assert!(!b.proof.is_empty() && b.proof[0].text.contains("EventID 4625"), "{:?}", b.proof);
}

#[test]
fn ssh_brute_force_with_nonexistent_users_and_the_cleared_log() {
    let Some((_, _, f)) = run("mdecrevoisier_ID4625-OpenSSH_brutforce_with_non_existing_users.evtx") else { return };
    assert_eq!(find(&f, "windows_logon_brute_force").count, 5);
    let cleared = find(&f, "log_cleared");
    assert_eq!(cleared.severity, Severity::High);
    assert_eq!(cleared.proof[0].line, 1861976, "the record ID proves it");
    assert_eq!(find(&f, "kerberos_failures").count, 5, "4776 NTLM failures");
}

#[test]
fn rdp_tunnel_logons_and_pass_the_hash_and_webshell() {
    let Some((_, _, f)) = run("DE_RDP_Tunneling_4624.evtx") else { return };
    let rdp = find(&f, "rdp_logons");
    assert_eq!(rdp.count, 1);
    let Some((_, _, f)) = run("DE_RDP_Tunneling_TerminalServices-RemoteConnectionManagerOperational_1149.evtx") else {
        return;
    };
    assert_eq!(find(&f, "rdp_logons").count, 11, "1149 authentications");
    let Some((_, _, f)) = run("LM_4624_mimikatz_sekurlsa_pth_source_machine.evtx") else { return };
    assert_eq!(find(&f, "pass_the_hash").count, 1);
    assert_eq!(find(&f, "log_cleared").count, 1);
    let Some((_, _, f)) = run("LM_typical_IIS_webshell_sysmon_1_10_traces.evtx") else { return };
    let w = find(&f, "webshell_process");
    assert!(w.count >= 1 && w.proof[0].text.to_lowercase().contains("w3wp.exe"), "{:?}", w.proof);
    let Some((_, _, f)) = run("kerberos_pwd_spray_4771.evtx") else { return };
    assert_eq!(find(&f, "kerberos_failures").count, 2);
}

#[test]
fn garbage_and_truncated_files_are_findings_not_panics() {
    let Some(path) = sample("DE_RDP_Tunneling_4624.evtx") else { return };
    let bytes = std::fs::read(path).unwrap();
    for cut in [0, 10, 4096, 4096 + 600, bytes.len() / 2] {
        let (s, f) = evidence::evtx::analyse(std::io::Cursor::new(bytes[..cut].to_vec()));
        assert!(s.records <= 18);
        let _ = f;
    }
    let mut corrupt = bytes.clone();
    for b in corrupt.iter_mut().skip(4096 + 512).step_by(7) {
        *b ^= 0x5a;
    }
    let (s, f) = evidence::evtx::analyse(std::io::Cursor::new(corrupt));
    assert!(s.unreadable > 0 || s.records < 18);
    assert!(f.iter().any(|x| x.kind == "unreadable_input") || s.records < 18);
    let (s, f) = evidence::evtx::analyse(std::io::Cursor::new(b"not an event log".to_vec()));
    assert_eq!(s.records, 0);
    assert_eq!(f[0].kind, "unreadable_input");
    assert_eq!(evidence::detect(&bytes), Some("evtx"));
}
