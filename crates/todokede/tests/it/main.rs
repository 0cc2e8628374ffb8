//! The binary crate's integration tests, one test binary (`cargo test -p todokede --test it`);
//! each module is one area. Tests that talk HTTP run the service in process
//! ([`todokede_testkit::app::TestApp`]: the one function `todokede serve` runs, so the same
//! router and background workers) on port 0. The real `todokede` process (`common::Server`,
//! `common::todokede`) runs where the process itself is the contract — the CLI and its output,
//! `mailgate`'s exit code 75, SIGKILL, several `serve` processes on one database, `serve`'s
//! connection limits — and each such module or test says so.
//!
//! All modules run as threads of this one process: nothing here sets environment variables or
//! the working directory, temporary files carry the backend in their name, and a test that
//! loops over backends is a test per backend (`todokede_testkit::on_both_backends!`).

mod accounts;
mod analyst_walk;
mod api;
mod backup;
mod cli;
mod common;
mod crossref;
mod desk;
mod e2e_browser;
mod exchange;
mod faults;
mod imap;
mod journeys;
mod learning;
mod limits;
mod mail;
mod ops;
mod outbox;
mod processes;
mod publication;
mod readme;
mod server_limits;
mod statistics;
mod taxii;
mod veris;
mod watchlists;
mod web;
mod workflow;
