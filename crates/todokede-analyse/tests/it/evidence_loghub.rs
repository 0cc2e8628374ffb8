//! The sshd analyser on real logs (loghub's OpenSSH slice in ../shared/data), against the
//! counts derived from loghub's own labelled templates.

use serde_json::Value;
use std::collections::BTreeMap;
use todokede_analyse::evidence::sshd;

/// GPL-licensed rule tests and logs stay in ../shared (`None`: skipped on a clone alone).
fn shared(rel: &str) -> Option<Vec<u8>> {
    let path = todokede_testkit::requires::shared_data(rel)?;
    Some(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// The loghub slice is vendored in fixtures/evidence (loghub allows redistribution with its URL).
fn vendored(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/evidence").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn openssh_counts_match_the_labelled_ground_truth() {
    let (log, truth) = (vendored("OpenSSH_2k_lines1-1000.log"), vendored("auth_failure_summary.json"));
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

#[test]
fn web_attack_lines_from_an_ids_test_suite_are_recognised() {
    use todokede_analyse::evidence::access;
    let Some(cases) = shared("weblog_rules/wazuh_rule_tests.jsonl") else { return };
    let (mut hit, mut attacks, mut false_pos, mut benign) = (0, 0, 0, 0);
    let mut missed = Vec::new();
    for line in String::from_utf8(cases).unwrap().lines() {
        let c: Value = serde_json::from_str(line).unwrap();
        let file = c["file"].as_str().unwrap();
        if !(file.contains("web_appsec") || file.contains("web_rules")) {
            continue;
        }
        let log = c["log"].as_str().unwrap();
        let flagged = access::parse(log).map(|r| !access::classify(&r).is_empty()).unwrap_or(false);
        // Rules 31101/31108 are status-code bookkeeping, not attacks.
        let rule = c["rule"].as_u64().or_else(|| c["rule"].as_str().and_then(|r| r.parse().ok()));
        if matches!(rule, Some(31101) | Some(31108)) {
            continue;
        }
        if c["expect_match"].as_bool().unwrap() {
            attacks += 1;
            if flagged { hit += 1 } else { missed.push(c["case"].as_str().unwrap().to_owned()) }
        } else {
            benign += 1;
            if flagged {
                false_pos += 1;
            }
        }
    }
    println!(
        "wazuh web cases: {hit}/{attacks} attack lines recognised, {false_pos}/{benign} benign lines flagged; missed: {missed:?}"
    );
    assert!(hit * 10 >= attacks * 9, "{hit}/{attacks}: {missed:?}");
    assert_eq!(false_pos, 0);
}

#[test]
fn the_tunna_webshell_tunnel_in_an_iis_log_is_found() {
    use todokede_analyse::evidence::access;
    let Some(log) = shared("weblog/Tunna_rdp_tunnel_IIS.log") else { return };
    assert_eq!(todokede_analyse::evidence::detect(&log), Some("access"));
    let (s, f) = access::analyse(&log[..]);
    assert!(s.requests > 4000, "{s:?}");
    let shell = f.iter().find(|x| x.kind == "web_webshell").expect("webshell finding");
    assert_eq!(shell.sources, ["10.0.2.17"]);
    assert!(shell.summary().contains("/erp/conn.aspx"));
    assert!(shell.count > 4000);
    assert!(shell.proof[0].text.contains("proxy&port=3389&ip=127.0.0.1"), "{:?}", shell.proof[0]);
}
