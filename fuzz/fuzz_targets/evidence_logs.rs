#![no_main]
//! The evidence analysers (sshd, web access logs) on arbitrary bytes: findings or nothing,
//! never a panic, and proving lines always point inside the input.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lines = data.iter().filter(|b| **b == b'\n').count() as u64 + 1;
    for kind in ["sshd", "access"] {
        let (read, _, findings) = todokede_analyse::evidence::analyse(kind, data).unwrap();
        assert!(read <= lines);
        for f in findings {
            assert!(f.proof.iter().all(|p| p.line >= 1 && p.line <= lines));
        }
    }
    let _ = todokede_analyse::evidence::detect(data);
});
