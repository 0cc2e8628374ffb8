//! The application layer of todokede: every use case, below the adapters. The web crate
//! (routes, templates, extractors) and the binary (clap and wiring) call these functions; none
//! of them knows HTTP.
//!
//! - [`intake`]: a report payload → a [`todokede_domain::Submission`] (API, web form, import);
//! - [`analysis`]: the analysis of one stored report, and the job worker of `serve`;
//! - [`crossref`]: what is indexed across reports, search queries, surge alerts;
//! - [`classification`]: an analyst confirms the classification;
//! - [`bulk`]: the queue's bulk actions (assign, state, link several reports at once);
//! - [`csv_export`]: report lists (the queue, search results, a period) as CSV for Excel;
//! - [`publication`]: statistics, drafts, edits, approval, rendering;
//! - [`mail_flow`] and [`replies`]: inbound mail, acknowledgements, replies (and the reply
//!   templates' placeholders), the outbox worker;
//! - [`accounts`]: passwords, one-time passwords, TOTP, recovery codes, the login lockout
//!   policy, the account lifecycle (create, change, reset, disable);
//! - [`settings`]: what admins change at run time (one-time password lifetime, four eyes,
//!   the SLA clocks per state, the report's contact points);
//! - [`exchange`]: sharing approvals (TLP 2.0), the STIX 2.1 export and the MISP feed;
//! - [`taxii`]: the TAXII 2.1 server's collections and pages (the STIX export, materialised);
//! - [`veris`]: VERIS incident records (1.3.x, 1.4.x), schema-checked, → submissions;
//! - [`watchlists`]: analysts' watch and warning lists read from STIX 2.1 and MISP, matched
//!   against every report's indicators;
//! - [`tokens`]: API tokens of analysts' scripts (scoped, expiring, hashed, audited);
//! - [`housekeeping`]: what `serve` forgets on time (reporters' secrets kept for retries);
//! - [`backup`]: an online copy of an SQLite store, and its checked restore.
//!
//! Errors are [`AppError`]: an adapter maps its kinds (not found, invalid, conflict,
//! unavailable, internal) to its own answers (HTTP status, exit code).

pub mod accounts;
pub mod analysis;
pub mod backup;
pub mod bulk;
pub mod classification;
pub mod crossref;
pub mod csv_export;
mod error;
#[cfg(feature = "publication")]
pub mod exchange;
pub mod housekeeping;
pub mod intake;
pub mod mail_flow;
#[cfg(feature = "publication")]
pub mod publication;
pub mod replies;
pub mod settings;
#[cfg(feature = "publication")]
pub mod taxii;
pub mod tokens;
pub mod veris;
pub mod watchlists;

pub use error::AppError;
