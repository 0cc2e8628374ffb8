//! Secrets sealed at rest: AES-256-GCM (ring) under a key that is not in the database, so a
//! copy of the database — a backup, a dump, a stolen disk image of the data directory alone —
//! does not give away what is sealed in it (the analysts' TOTP seeds).
//!
//! The key, 32 bytes as 64 hexadecimal digits, comes from (first found): the key given to
//! [`crate::Store::open_with`] (`--totp-key-file`), `TODOKEDE_TOTP_KEY`, the file named by
//! `TODOKEDE_TOTP_KEY_FILE`, and for SQLite the file `DB.key` beside the database (created,
//! mode 0600, on first use). PostgreSQL without a key cannot seal: turning a second factor
//! on is refused until one is configured (every process needs the same key).
//!
//! A sealed value is `seal1:` + hex(nonce ‖ ciphertext ‖ tag); the additional data binds it
//! to its use and row (`totp:user:42`), so a sealed seed copied into another user's row does
//! not open. A value without the prefix is a seed stored in clear before sealing existed: it
//! is read as it is and sealed when the store opens with a key.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom as _, SystemRandom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::StoreError;

const PREFIX: &str = "seal1:";
/// The environment variable holding the key (64 hex digits).
pub const KEY_ENV: &str = "TODOKEDE_TOTP_KEY";
/// The environment variable naming a key file.
pub const KEY_FILE_ENV: &str = "TODOKEDE_TOTP_KEY_FILE";

/// A 256-bit sealing key.
#[derive(Clone)]
pub struct SealKey([u8; 32]);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(…)")
    }
}

impl SealKey {
    /// 64 hexadecimal digits (surrounding white space ignored).
    pub fn from_hex(text: &str) -> Result<SealKey, StoreError> {
        let bytes = hex::decode(text.trim()).ok().filter(|b| b.len() == 32).ok_or_else(|| {
            StoreError::Unavailable(
                "the TOTP key must be 64 hexadecimal digits (32 bytes: `openssl rand -hex 32`)".into(),
            )
        })?;
        let mut k = [0u8; 32];
        k.copy_from_slice(&bytes);
        Ok(SealKey(k))
    }

    /// Read a key file (64 hexadecimal digits).
    pub fn from_file(path: &Path) -> Result<SealKey, StoreError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| StoreError::Unavailable(format!("cannot read the TOTP key file {}: {e}", path.display())))?;
        SealKey::from_hex(&text).map_err(|e| StoreError::Unavailable(format!("{}: {e}", path.display())))
    }

    /// A new random key.
    pub fn generate() -> SealKey {
        let mut k = [0u8; 32];
        SystemRandom::new().fill(&mut k).expect("the system's random source");
        SealKey(k)
    }

    fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The key file of an SQLite database: `DB.key` beside it.
    pub fn file_beside(db: &Path) -> PathBuf {
        let mut name = db.as_os_str().to_owned();
        name.push(".key");
        PathBuf::from(name)
    }

    /// The key in `path`, or a new one written there (mode 0600, never over an existing file).
    pub fn load_or_create(path: &Path) -> Result<SealKey, StoreError> {
        if path.exists() {
            return SealKey::from_file(path);
        }
        let key = SealKey::generate();
        let created = key.write_new(path);
        match created {
            Ok(()) => Ok(key),
            // Another process made it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => SealKey::from_file(path),
            Err(e) => Err(StoreError::Unavailable(format!("cannot create the TOTP key file {}: {e}", path.display()))),
        }
    }

    /// Write the key to a new file `path` (mode 0600; never over an existing file).
    pub fn write_new(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
        f.write_all(format!("{}\n", self.hex()).as_bytes())?;
        f.sync_all()
    }

    /// The key configured in the environment, if any.
    pub fn from_env() -> Result<Option<SealKey>, StoreError> {
        if let Ok(k) = std::env::var(KEY_ENV).map(|k| k.trim().to_owned())
            && !k.is_empty()
        {
            return SealKey::from_hex(&k).map(Some);
        }
        match std::env::var_os(KEY_FILE_ENV).filter(|p| !p.is_empty()) {
            Some(p) => SealKey::from_file(Path::new(&p)).map(Some),
            None => Ok(None),
        }
    }
}

/// Seals and opens values with the store's key (or refuses to seal without one).
#[derive(Clone, Debug)]
pub struct Sealer {
    key: Option<Arc<SealKey>>,
}

impl Sealer {
    pub fn new(key: Option<SealKey>) -> Sealer {
        Sealer { key: key.map(Arc::new) }
    }

    pub fn key(&self) -> Option<SealKey> {
        self.key.as_deref().cloned()
    }

    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    fn aead(&self) -> Result<LessSafeKey, StoreError> {
        let key = self.key.as_ref().ok_or_else(|| {
            StoreError::Unavailable(format!(
                "no TOTP key configured (set {KEY_ENV} or --totp-key-file; every process needs the same key)"
            ))
        })?;
        Ok(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key.0).expect("a 32-byte AES-256 key")))
    }

    /// Seal `plain` for the use `aad` (e.g. `totp:user:42`).
    pub fn seal(&self, plain: &str, aad: &str) -> Result<String, StoreError> {
        let key = self.aead()?;
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| StoreError::Unavailable("no random source".into()))?;
        let mut buf = plain.as_bytes().to_vec();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad.as_bytes()), &mut buf)
            .map_err(|_| StoreError::Unavailable("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(format!("{PREFIX}{}", hex::encode(out)))
    }

    /// Whether a stored value is sealed (not a clear value from before sealing).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }

    /// The clear value of a stored one: opened when sealed, as it is when stored in clear.
    pub fn open(&self, stored: &str, aad: &str) -> Result<String, StoreError> {
        let Some(sealed) = stored.strip_prefix(PREFIX) else { return Ok(stored.to_owned()) };
        let key = self.aead()?;
        let bad = || StoreError::Unavailable("a sealed value does not open with this key (wrong TOTP key?)".into());
        let bytes = hex::decode(sealed).map_err(|_| bad())?;
        if bytes.len() < NONCE_LEN {
            return Err(bad());
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| bad())?;
        let mut buf = rest.to_vec();
        let plain = key.open_in_place(nonce, Aad::from(aad.as_bytes()), &mut buf).map_err(|_| bad())?;
        String::from_utf8(plain.to_vec()).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_with_its_key_and_use_only() {
        let s = Sealer::new(Some(SealKey::generate()));
        let sealed = s.seal("JBSWY3DPEHPK3PXP", "totp:user:1").unwrap();
        assert!(Sealer::is_sealed(&sealed) && !sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_ne!(sealed, s.seal("JBSWY3DPEHPK3PXP", "totp:user:1").unwrap(), "a fresh nonce each time");
        assert_eq!(s.open(&sealed, "totp:user:1").unwrap(), "JBSWY3DPEHPK3PXP");
        assert!(s.open(&sealed, "totp:user:2").is_err(), "bound to its row");
        assert!(Sealer::new(Some(SealKey::generate())).open(&sealed, "totp:user:1").is_err(), "another key");
        assert!(Sealer::new(None).open(&sealed, "totp:user:1").is_err());
        assert!(Sealer::new(None).seal("x", "y").is_err());
        // Stored in clear before sealing: read as it is.
        assert_eq!(s.open("JBSWY3DPEHPK3PXP", "totp:user:1").unwrap(), "JBSWY3DPEHPK3PXP");
        let mut tampered = sealed.clone();
        tampered.replace_range(sealed.len() - 2.., "00");
        assert!(s.open(&tampered, "totp:user:1").is_err() || tampered == sealed);
    }

    #[test]
    fn a_key_file_is_made_once_with_mode_0600() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = SealKey::file_beside(&dir.path().join("todokede.db"));
        assert!(path.ends_with("todokede.db.key"));
        let a = SealKey::load_or_create(&path).unwrap();
        let b = SealKey::load_or_create(&path).unwrap();
        assert_eq!(a.0, b.0);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(SealKey::from_hex("abc").is_err());
    }
}
