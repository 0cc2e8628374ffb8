//! Analyst accounts: password hashing (argon2id), one-time first passwords, the optional TOTP
//! second factor ([`totp`]), and the lockout policy of logins, reporter secrets and the public
//! form (counters in memory, per process: [`Limiter`]).

pub mod totp;

use rand::RngCore as _;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use todokede_store::{Store, User};

/// Failed-login and submission counters per key (IP, account), in memory, per process.
#[derive(Default)]
pub struct Limiter {
    hits: Mutex<HashMap<String, Vec<Instant>>>,
}

impl Limiter {
    /// Record a hit; true when `key` has had more than `max` within `window`.
    pub fn hit(&self, key: &str, max: usize, window: Duration) -> bool {
        let mut m = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        let v = m.entry(key.to_owned()).or_default();
        v.retain(|t| t.elapsed() < window);
        v.push(Instant::now());
        v.len() > max
    }
    pub fn count(&self, key: &str, window: Duration) -> usize {
        let mut m = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        m.get_mut(key)
            .map(|v| {
                v.retain(|t| t.elapsed() < window);
                v.len()
            })
            .unwrap_or(0)
    }
}

const LOGIN_WINDOW: Duration = Duration::from_secs(900);
const REPORTER_WINDOW: Duration = Duration::from_secs(900);

/// The public form: at most 30 submissions per client in 10 minutes. Counts this one.
pub fn submission_throttled(limiter: &Limiter, client: &str) -> bool {
    limiter.hit(&format!("submit:{client}"), 30, Duration::from_secs(600))
}

/// Reporter secrets: more than 20 wrong ones from a client in 15 minutes lock it out a while.
pub fn reporter_locked(limiter: &Limiter, client: &str) -> bool {
    limiter.count(&format!("reporter:{client}"), REPORTER_WINDOW) > 20
}

pub fn reporter_failed(limiter: &Limiter, client: &str) {
    limiter.hit(&format!("reporter:{client}"), usize::MAX, REPORTER_WINDOW);
}

/// The outcome of a login attempt.
#[derive(Debug)]
pub enum Login {
    Ok(User),
    /// Wrong e-mail address, password or code (which of them is not told).
    Failed,
    /// 5 failures for the account, or 20 from the client, in 15 minutes.
    Locked,
}

/// Check a login: lockout per account and per client address, the password (verified even for
/// unknown accounts, against a fixed hash, so timing does not enumerate them), and the second
/// factor when the account has one (a code is accepted once). Failures are counted and audited.
pub async fn login(store: &Store, limiter: &Limiter, email: &str, password: &str, code: &str, client: &str) -> Login {
    let account_key = format!("login:{email}");
    let client_key = format!("login-ip:{client}");
    if limiter.count(&account_key, LOGIN_WINDOW) >= 5 || limiter.count(&client_key, LOGIN_WINDOW) >= 20 {
        let _ = store.audit(None, "login.locked", Some(email), None).await;
        return Login::Locked;
    }
    let user = store.user_by_email(email).await.ok().flatten().filter(|u| !u.disabled);
    let password = password.to_owned();
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, hash.as_deref())).await.unwrap_or(false);
    let second_ok = match (&user, ok) {
        (Some(u), true) => match store.totp(u.id).await {
            Ok((None, _)) => true,
            Ok((Some(secret), _)) => match totp::matching_step(&secret, code) {
                Some(step) => store.use_totp_step(u.id, step as i64).await.unwrap_or(false),
                None => false,
            },
            Err(_) => false,
        },
        _ => false,
    };
    match (user, ok && second_ok) {
        (Some(user), true) => Login::Ok(user),
        _ => {
            limiter.hit(&account_key, usize::MAX, LOGIN_WINDOW);
            limiter.hit(&client_key, usize::MAX, LOGIN_WINDOW);
            let _ = store.audit(None, "login.failed", Some(email), None).await;
            Login::Failed
        }
    }
}

/// argon2 verification; `None` (unknown account) burns the same work against a dummy hash.
pub fn verify_password(password: &str, hash: Option<&str>) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier as _};
    const DUMMY: &str =
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$W0lDnJXL1bOH1RiB2Eu5O6VcUEyRQwV1bnqWF9U0f0c";
    let parsed = PasswordHash::new(hash.unwrap_or(DUMMY));
    match parsed {
        Ok(h) => argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok() && hash.is_some(),
        Err(_) => false,
    }
}

/// A first password for a new account: 20 characters without look-alikes (about 117 bits).
pub fn one_time_password() -> String {
    use rand::Rng as _;
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// argon2id with the crate's defaults (19 MiB, 2 iterations: OWASP's minimum).
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher as _, SaltString};
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}
