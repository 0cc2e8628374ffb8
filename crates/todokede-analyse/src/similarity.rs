//! Near-duplicate detection for texts in any language: character 3-gram shingles of the
//! normalised text (no word segmentation needed for Japanese), a 60-hash MinHash signature,
//! and LSH banding (20 bands × 3 rows) so candidates are found by exact band-key lookups.
//!
//! With 20×3 a pair of Jaccard similarity 0.5 becomes a candidate with probability
//! 1 − (1 − 0.5³)²⁰ ≈ 0.93, one of 0.3 with ≈ 0.42 and one of 0.2 with ≈ 0.15; candidates are
//! then kept only if their estimated similarity reaches [`CLUSTER_THRESHOLD`].

use unicode_normalization::UnicodeNormalization as _;

pub const HASHES: usize = 60;
pub const BANDS: usize = 20;
pub const ROWS: usize = HASHES / BANDS;
/// Estimated Jaccard similarity from which two texts are near-duplicates.
pub const CLUSTER_THRESHOLD: f64 = 0.5;
/// Texts with fewer shingles than this say too little to be compared.
pub const MIN_SHINGLES: usize = 12;

pub type Signature = [u64; HASHES];

fn mix(mut z: u64) -> u64 {
    // splitmix64 finaliser: a fast, well-distributed 64-bit hash.
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Characters kept for shingling: NFKC, lower-cased, without whitespace and punctuation, so
/// layout and full-/half-width differences do not matter.
fn shingle_chars(text: &str) -> Vec<char> {
    text.nfkc().flat_map(char::to_lowercase).filter(|c| c.is_alphanumeric()).collect()
}

/// The MinHash signature of `text`, or `None` when it is too short to compare.
pub fn signature(text: &str) -> Option<Signature> {
    let chars = shingle_chars(text);
    if chars.len() < 3 + MIN_SHINGLES - 1 {
        return None;
    }
    let mut sig = [u64::MAX; HASHES];
    for w in chars.windows(3) {
        let base = mix((w[0] as u64) << 42 ^ (w[1] as u64) << 21 ^ w[2] as u64);
        for (i, slot) in sig.iter_mut().enumerate() {
            // One hash function per slot: the base hash re-mixed with the slot's seed.
            let h = mix(base ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            if h < *slot {
                *slot = h;
            }
        }
    }
    Some(sig)
}

/// The LSH band keys of a signature (one per band, band index mixed in).
pub fn band_keys(sig: &Signature) -> [i64; BANDS] {
    let mut keys = [0i64; BANDS];
    for (b, key) in keys.iter_mut().enumerate() {
        let mut h = mix(b as u64 + 1);
        for r in 0..ROWS {
            h = mix(h ^ sig[b * ROWS + r]);
        }
        *key = h as i64;
    }
    keys
}

/// Estimated Jaccard similarity: the share of equal slots.
pub fn similarity(a: &Signature, b: &Signature) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / HASHES as f64
}

pub fn to_bytes(sig: &Signature) -> Vec<u8> {
    sig.iter().flat_map(|h| h.to_le_bytes()).collect()
}

pub fn from_bytes(b: &[u8]) -> Option<Signature> {
    if b.len() != HASHES * 8 {
        return None;
    }
    let mut sig = [0u64; HASHES];
    for (i, c) in b.chunks_exact(8).enumerate() {
        sig[i] = u64::from_le_bytes(c.try_into().ok()?);
    }
    Some(sig)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "To recover your lost Database and avoid leaking it: Send us 0.06 Bitcoin (BTC) to our Bitcoin address 1Kz6v4B5CawcnL8jrUvHsvzQv5Yq4fbsSv and contact us by Email with your Server IP or Domain name and a Proof of Payment. Your Database is downloaded and backed up on our servers. If we dont receive your payment in the next 10 Days, we will delete your database.";

    #[test]
    fn the_same_ransom_note_with_another_address_is_a_near_duplicate() {
        let a = signature(NOTE).unwrap();
        let b = signature(
            &NOTE
                .replace("1Kz6v4B5CawcnL8jrUvHsvzQv5Yq4fbsSv", "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh")
                .replace("0.06", "0.03"),
        )
        .unwrap();
        let s = similarity(&a, &b);
        assert!(s >= CLUSTER_THRESHOLD, "{s}");
        assert!(band_keys(&a).iter().zip(band_keys(&b)).any(|(x, y)| *x == y), "found as LSH candidates");
        let jp_a = signature(
            "弊社ウェブサイトのデータベースが消去され、ビットコインを支払うよう要求するメッセージが残されていました。",
        )
        .unwrap();
        let jp_b = signature(
            "弊社ウェブサイトのデータベースが消去され、ビットコインを支払うよう要求するメッセージが残されていた。",
        )
        .unwrap();
        assert!(similarity(&jp_a, &jp_b) >= 0.7);
        // Different reports on different matters are not.
        let other = signature("社員のパソコンがランサムウェアに感染し、ファイルサーバ上の業務ファイルが暗号化された。VPN 機器の脆弱性が悪用された。").unwrap();
        assert!(similarity(&jp_a, &other) < 0.2, "{}", similarity(&jp_a, &other));
        assert!(signature("短い").is_none());
        assert_eq!(from_bytes(&to_bytes(&a)), Some(a));
    }
}
