//! Pure text analysis: normalise → indicators → classification → countermeasures (着目点).
//! No I/O: every function maps text to findings and cannot fail for outside reasons.

pub mod indicators;
pub mod normalise;
pub mod warninglists;

pub use indicators::{Extraction, IndicatorType, extract};
pub use normalise::normalise;
