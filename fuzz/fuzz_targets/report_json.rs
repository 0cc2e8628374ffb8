#![no_main]
//! The JSON intake body (API and import) on arbitrary input: an error or a submission, never a panic.
use libfuzzer_sys::fuzz_target;
use todokede_domain::Channel;

fuzz_target!(|data: &[u8]| {
    let _ = todokede_app::intake::submission_from_json(data, vec![], Channel::Api, None);
    let _ = todokede_app::intake::submission_from_json(data, vec![], Channel::Import, None);
});
