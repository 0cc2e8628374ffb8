#![no_main]
//! Normalisation, indicator extraction and classification on arbitrary input: never panics.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let a = todokede_analyse::analyse(&text);
    let _ = a.to_json();
    let _ = todokede_analyse::extract(&a.normalised, false);
});
