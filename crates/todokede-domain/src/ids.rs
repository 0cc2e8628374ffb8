//! Identifiers. Database ids never leave the system; reporters and analysts speak of a report
//! by its tracking number (受付番号), and a reporter proves ownership with the report's secret.

use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use std::fmt;

/// Internal row id of a report. Never shown to reporters (it would be enumerable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReportId(pub i64);

/// Internal id of an analyst/admin account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub i64);

/// Crockford base32: no I, L, O, U, so a number read over the phone cannot be misheard as another.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const TRACKING_CHARS: usize = 10;

/// 受付番号: 10 Crockford base32 characters (50 random bits) shown as `XXXXX-XXXXX`.
///
/// Random, not sequential: it does not reveal the volume of reports and cannot be enumerated,
/// but it is not a credential either — the report's [`ReporterSecret`] is.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackingNumber(String);

impl TrackingNumber {
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let s = (0..TRACKING_CHARS).map(|_| CROCKFORD[(rng.next_u32() % 32) as usize] as char).collect();
        TrackingNumber(s)
    }

    /// Parse what a person typed: case-insensitive, hyphens and spaces ignored, and the
    /// Crockford look-alikes (I, L → 1; O → 0) accepted.
    pub fn parse(input: &str) -> Result<Self, InvalidTrackingNumber> {
        let mut s = String::with_capacity(TRACKING_CHARS);
        for c in input.trim().chars() {
            let c = match c.to_ascii_uppercase() {
                '-' | ' ' => continue,
                'I' | 'L' => '1',
                'O' => '0',
                c => c,
            };
            if !CROCKFORD.contains(&(c as u8)) || !c.is_ascii() {
                return Err(InvalidTrackingNumber);
            }
            s.push(c);
        }
        if s.len() != TRACKING_CHARS {
            return Err(InvalidTrackingNumber);
        }
        Ok(TrackingNumber(s))
    }

    /// The canonical stored form, without the hyphen.
    pub fn as_compact(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TrackingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", &self.0[..5], &self.0[5..])
    }
}
impl fmt::Debug for TrackingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrackingNumber({self})")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a tracking number (expected 10 characters like ABCDE-12345)")]
pub struct InvalidTrackingNumber;

/// The per-report secret handed to the reporter once, at submission. 256 random bits,
/// base64url. Only its SHA-256 is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ReporterSecret(String);

impl ReporterSecret {
    pub fn generate() -> Self {
        let mut b = [0u8; 32];
        rand::rng().fill_bytes(&mut b);
        ReporterSecret(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
    }
    pub fn from_presented(s: &str) -> Self {
        ReporterSecret(s.trim().to_owned())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn hash(&self) -> SecretHash {
        SecretHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for ReporterSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReporterSecret(…)")
    }
}

/// SHA-256 of a [`ReporterSecret`]. A plain hash suffices: the secret has 256 bits of entropy.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    /// Constant-time comparison, so response timing does not reveal a prefix.
    pub fn matches(&self, presented: &ReporterSecret) -> bool {
        let other = presented.hash();
        self.0.iter().zip(other.0.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_number_round_trips_and_forgives_typos() {
        let t = TrackingNumber::generate();
        let shown = t.to_string();
        assert_eq!(shown.len(), 11);
        assert_eq!(TrackingNumber::parse(&shown).unwrap(), t);
        assert_eq!(TrackingNumber::parse(&shown.to_lowercase()).unwrap(), t);
        assert_eq!(TrackingNumber::parse("abcde o1il2").unwrap().as_compact(), "ABCDE01112");
        assert!(TrackingNumber::parse("ABCDE-1234").is_err());
        assert!(TrackingNumber::parse("ABCDE-1234U").is_err());
        assert!(TrackingNumber::parse("ＡＢＣＤＥ-12345").is_err());
    }

    #[test]
    fn secrets_are_distinct_and_verified_by_hash() {
        let a = ReporterSecret::generate();
        let b = ReporterSecret::generate();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 43);
        assert!(a.hash().matches(&a));
        assert!(!a.hash().matches(&b));
        assert!(!format!("{a:?}").contains(a.expose()));
    }
}
