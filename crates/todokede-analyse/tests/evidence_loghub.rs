//! The sshd analyser on real logs (loghub's OpenSSH slice in ../shared/data), against the
//! counts derived from loghub's own labelled templates.

use serde_json::Value;
use std::collections::BTreeMap;
use todokede_analyse::evidence::sshd;

fn shared(rel: &str) -> Option<Vec<u8>> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data").join(rel)).ok()
}

#[test]
fn openssh_counts_match_the_labelled_ground_truth() {
    let (Some(log), Some(truth)) = (shared("loghub/OpenSSH_2k_lines1-1000.log"), shared("loghub/auth_failure_summary.json")) else {
        eprintln!("skipped: ../shared/data not present");
        return;
    };
    let truth: Value = serde_json::from_slice(&truth).unwrap();
    let expect = |k: &str| -> BTreeMap<String, u64> {
        truth["OpenSSH"][k].as_object().unwrap().iter().map(|(ip, n)| (ip.clone(), n.as_u64().unwrap())).collect()
    };
    let (s, findings) = sshd::analyse(&log[..]);
    assert_eq!(s.lines, 1000);
    assert_eq!(s.failed_by_source, expect("failed_password_by_ip"));
    assert_eq!(s.invalid_by_source, expect("invalid_user_by_ip"));
    assert_eq!(s.accepted_by_source, expect("accepted_by_ip"));
    assert_eq!(s.failed, 226);
    // 187.141.143.180 (80 failures) is the top brute-force source, with proving lines.
    let top = findings.iter().find(|f| f.kind == "ssh_brute_force").unwrap();
    assert_eq!(top.sources, ["187.141.143.180"]);
    assert_eq!(top.count, 80);
    assert!(!top.proof.is_empty() && top.proof.iter().all(|p| p.text.contains("187.141.143.180")));
    // The one accepted login came from a source with no failures: a new source, not a success after failures.
    assert!(findings.iter().any(|f| f.kind == "ssh_login_new_source" && f.sources == ["119.137.62.142"]));
    assert!(!findings.iter().any(|f| f.kind == "ssh_login_after_failures"));
}
