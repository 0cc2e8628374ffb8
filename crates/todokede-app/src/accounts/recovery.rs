//! Recovery codes: ten single-use codes that stand in for the TOTP code when the phone is lost.
//! Shown once when made; only their SHA-256 is stored (they carry ~60 random bits each, too
//! many to guess through the login limits, so a fast hash is enough — as for session tokens).

use crate::AppError;
use sha2::{Digest as _, Sha256};
use todokede_domain::UserId;
use todokede_store::Store;

/// How many codes a set has.
pub const CODES: usize = 10;

/// A code as people read and type it: `xxxx-xxxx-xxxx` without look-alikes.
fn new_code() -> String {
    use rand::Rng as _;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let mut s = String::with_capacity(14);
    for i in 0..12 {
        if i > 0 && i % 4 == 0 {
            s.push('-');
        }
        s.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    s
}

/// The stored form of a code as typed: case, spaces and hyphens do not matter.
pub fn code_hash(code: &str) -> String {
    let canonical: String =
        code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect();
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// Make a new set for the account (the old set stops working); returns the codes to show once.
pub async fn new_codes(store: &Store, id: UserId) -> Result<Vec<String>, AppError> {
    let codes: Vec<String> = (0..CODES).map(|_| new_code()).collect();
    let hashes: Vec<String> = codes.iter().map(|c| code_hash(c)).collect();
    store.replace_recovery_codes(id, &hashes).await?;
    Ok(codes)
}

/// Whether `code` looks like a recovery code rather than a 6-digit TOTP code.
pub fn looks_like_code(code: &str) -> bool {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).count() == 12
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_readable_and_hashed_as_typed_loosely() {
        let c = new_code();
        assert_eq!((c.len(), c.matches('-').count()), (14, 2));
        assert!(looks_like_code(&c) && !looks_like_code("123456"));
        assert_eq!(code_hash(&c), code_hash(&c.to_uppercase().replace('-', " ")));
    }
}
