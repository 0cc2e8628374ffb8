//! The publication crate's integration tests, one test binary (`cargo test -p todokede-publish
//! --test it`); `common` builds the seed fixtures as handled reports for the others.

mod anonymisation;
mod common;
mod editor;
mod seed_report;
mod suppression_audit;
mod typography;
