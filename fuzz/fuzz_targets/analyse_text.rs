#![no_main]
//! Normalisation, indicator extraction and classification on arbitrary input: never panics.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let a = todokede_analyse::analyse(&text);
    let record = a.record();
    todokede_analyse::AnalysisRecord::parse(&record.to_json_string()).expect("a stored record reads back");
    let _ = todokede_analyse::extract(&a.normalised, false);
});
