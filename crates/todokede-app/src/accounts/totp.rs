//! TOTP (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits), the optional second factor of
//! analyst accounts. A code is accepted for the current step and one step either side, once.

use hmac::{Hmac, KeyInit as _, Mac as _};
use rand::RngCore as _;

const STEP: u64 = 30;
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub fn new_secret() -> String {
    let mut b = [0u8; 20];
    rand::rng().fill_bytes(&mut b);
    base32(&b)
}

fn base32(data: &[u8]) -> String {
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0);
    for &b in data {
        buf = (buf << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buf >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn unbase32(s: &str) -> Option<Vec<u8>> {
    let (mut out, mut buf, mut bits) = (Vec::new(), 0u32, 0);
    for c in s.bytes().filter(|c| *c != b'=' && *c != b' ') {
        let v = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase())? as u32;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((buf >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

pub fn code_at(secret: &str, step: u64) -> Option<String> {
    let key = unbase32(secret)?;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key).ok()?;
    mac.update(&step.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let o = (h[h.len() - 1] & 0x0f) as usize;
    let n = u32::from_be_bytes([h[o] & 0x7f, h[o + 1], h[o + 2], h[o + 3]]) % 1_000_000;
    Some(format!("{n:06}"))
}

pub fn current_step() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() / STEP).unwrap_or(0)
}

/// The time step a presented code matches (current ±1), if any.
pub fn matching_step(secret: &str, code: &str) -> Option<u64> {
    let code = code.trim();
    let now = current_step();
    [now, now.saturating_sub(1), now + 1].into_iter().find(|s| code_at(secret, *s).is_some_and(|c| c == code))
}

/// The otpauth:// URI authenticator apps take.
pub fn uri(secret: &str, account: &str) -> String {
    format!("otpauth://totp/todokede:{account}?secret={secret}&issuer=todokede&period=30&digits=6")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_test_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59 s → step 1: 94287082 (8 digits); 6 digits: 287082.
        let secret = base32(b"12345678901234567890");
        assert_eq!(code_at(&secret, 1).unwrap(), "287082");
        assert_eq!(code_at(&secret, 37037036).unwrap(), "081804");
        assert_eq!(unbase32(&secret).unwrap(), b"12345678901234567890");
    }
}
