//! The 届出 domain model, from the IPA report forms (ウイルス届出 / 不正アクセス届出).
//!
//! Pure: no I/O, no serde, no SQL. Outside input is parsed into these types at the boundary
//! (web, mail, import) and cannot be represented here in an invalid shape.

pub mod categories;
mod closed_enum;
pub mod ids;
pub mod lifecycle;
pub mod period;
pub mod report;
pub mod submission;

pub use categories::{AttackType, CauseBucket, CauseCategory, DamageCategory};
pub use closed_enum::{ClosedEnum, UnknownKey};
pub use ids::{ReportId, ReporterSecret, SecretHash, TrackingNumber, UserId};
pub use lifecycle::{InvalidTransition, ReportState};
pub use period::Period;
pub use report::*;
pub use submission::{Attachment, DedupKey, RawInput, Submission, SubmissionError};
