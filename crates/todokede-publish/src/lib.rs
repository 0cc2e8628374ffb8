//! Publication: what leaves todokede. Period statistics (届出状況) from analyst-confirmed
//! classifications with small-cell suppression, the anonymiser every published text passes,
//! the half-year 届出事例 report as an editable document, and its rendering to Markdown, HTML
//! and PDF with server-side SVG charts; the STIX 2.1 bundle of approved cases (`stix`) and
//! the static MISP feed (`misp`). Pure: the store supplies the cases, the caller writes
//! the files.

pub mod anonymise;
pub mod audit;
pub mod charts;
pub mod document;
pub mod figures;
pub mod group_points;
pub mod misp;
pub mod observations;
pub mod points;
pub mod render;
pub mod scheme;
pub mod stats;
pub mod stix;

pub use anonymise::{Anonymised, KnownIdentifiers, Replacement, Risk, anonymise};
pub use document::{CaseInput, Document, DraftChoices, FeatureChoice, Point, generate};
pub use observations::EvidenceFact;
pub use render::{RenderError, RenderOptions};
pub use stats::{CaseRecord, Cell, Statistics};
