#![no_main]
//! The evidence analysers (sshd, web access, login, mail server logs, EVTX) on arbitrary
//! bytes: findings or nothing, never a panic, and proving lines always point inside the input.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lines = data.iter().filter(|b| **b == b'\n').count() as u64 + 1;
    for kind in ["sshd", "access", "login", "mail"] {
        let (read, _, findings) = todokede_analyse::evidence::analyse(kind, data).unwrap();
        assert!(read <= lines);
        for f in findings {
            assert!(f.proof.iter().all(|p| p.line >= 1 && p.line <= lines));
        }
    }
    // EVTX: a file header and chunks taken from the input (the fuzzer learns the magic).
    let (stats, _) = todokede_analyse::evidence::evtx::analyse(std::io::Cursor::new(data));
    assert!(stats.records <= data.len() as u64 / 24 + 1, "a record is at least 24 bytes");
    let _ = todokede_analyse::evidence::detect(data);
});
