//! Analyst accounts: password hashing (argon2id, at most a few at once: [`hash_permit`]),
//! one-time first passwords, the optional TOTP second factor ([`totp`]), and the lockout
//! policy of logins, reporter secrets and the public form. The counters live in the database
//! (`Store::limit_hit`), so every process counts the same attempts; each attempt is counted
//! *before* it is checked, so concurrent attempts cannot all slip under the limit.
//!
//! Keys are per client address (the socket's peer, or the client a trusted proxy names — the
//! web adapter decides), and a login lockout is per (account, address): a stranger's failures
//! lock the stranger out, not the account's owner (ARCHITECTURE.md, "Limits").

pub mod lifecycle;
pub mod recovery;
pub mod totp;

use rand::RngCore as _;
use std::sync::LazyLock;
use todokede_store::{Store, User};

const LOGIN_WINDOW: time::Duration = time::Duration::minutes(15);
const REPORTER_WINDOW: time::Duration = time::Duration::minutes(15);
const SUBMIT_WINDOW: time::Duration = time::Duration::minutes(10);
/// The window of the reporter API's request limit (`serve --api-limit`).
pub const API_WINDOW: time::Duration = time::Duration::minutes(10);
/// Requests to the reporter API per address in [`API_WINDOW`] by default.
pub const API_PER_ADDRESS: u32 = 300;
/// Failed logins per (account, address) in the window before that pair is locked.
pub const LOGIN_PER_ACCOUNT_AND_ADDRESS: i64 = 5;
/// Failed logins per address, whatever the account (password spraying), in the window.
pub const LOGIN_PER_ADDRESS: i64 = 20;
/// Wrong reporter secrets per address in the window.
pub const REPORTER_PER_ADDRESS: i64 = 20;
/// Public-form submissions per address in the window.
pub const SUBMIT_PER_ADDRESS: i64 = 30;

/// At most this many argon2 computations at once (19 MiB each): a burst of logins waits for a
/// permit instead of taking memory without bound.
static HASHING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| tokio::sync::Semaphore::new(hashing_capacity()));

/// A permit to run one password hash (see [`HASHING`]).
pub async fn hash_permit() -> tokio::sync::SemaphorePermit<'static> {
    HASHING.acquire().await.expect("the hashing semaphore is never closed")
}

/// Hashes running now, and the most that ever ran at once (the bound is observable).
static IN_FLIGHT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static PEAK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The most password hashes that ran at once in this process so far.
pub fn hashing_peak() -> usize {
    PEAK.load(std::sync::atomic::Ordering::SeqCst)
}

/// The bound on concurrent hashes.
pub fn hashing_capacity() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 8)
}

/// [`verify_password`] on the blocking pool, at most [`hashing_capacity`] at once.
pub async fn verify_password_bounded(password: String, hash: Option<String>) -> bool {
    use std::sync::atomic::Ordering::SeqCst;
    let _permit = hash_permit().await;
    let now = IN_FLIGHT.fetch_add(1, SeqCst) + 1;
    PEAK.fetch_max(now, SeqCst);
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, hash.as_deref())).await.unwrap_or(false);
    IN_FLIGHT.fetch_sub(1, SeqCst);
    ok
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn password_hashing_runs_a_bounded_number_at_once() {
        let hash = super::hash_password("correct horse battery").unwrap();
        let tasks: Vec<_> = (0..32)
            .map(|i| tokio::spawn(super::verify_password_bounded(format!("guess {i}"), Some(hash.clone()))))
            .collect();
        for t in tasks {
            assert!(!t.await.unwrap());
        }
        let peak = super::hashing_peak();
        assert!(peak >= 1 && peak <= super::hashing_capacity(), "{peak} hashes at once");
    }
}

/// The public form: at most 30 submissions per address in 10 minutes. Counts this one. A
/// database fault does not refuse the report (intake itself then answers "try again").
pub async fn submission_throttled(store: &Store, client: &str) -> bool {
    store.limit_hit(&format!("submit:{client}"), SUBMIT_WINDOW).await.map(|n| n > SUBMIT_PER_ADDRESS).unwrap_or(false)
}

/// The reporter API (`/api/v1/reports…`): more than `limit` requests from `client` in 10
/// minutes are refused (`limit` 0: no limit). Counts this one, batched with other requests'
/// hits ([`todokede_store::LimitQueue`]). A database fault does not refuse the request (the
/// request itself then answers "try again").
pub async fn api_throttled(limiter: &todokede_store::LimitQueue, client: &str, limit: u32) -> bool {
    if limit == 0 {
        return false;
    }
    limiter.hit(format!("api:{client}"), API_WINDOW).await.map(|n| n > i64::from(limit)).unwrap_or(false)
}

/// Reporter secrets: an attempt from `client`, counted before the secret is checked; false
/// when more than 20 failed from that address in 15 minutes (the attempt is not checked).
pub async fn reporter_attempt(store: &Store, client: &str) -> bool {
    store
        .limit_hit(&format!("reporter:{client}"), REPORTER_WINDOW)
        .await
        .map(|n| n <= REPORTER_PER_ADDRESS)
        .unwrap_or(false)
}

/// The attempt was right: it does not count as a failure.
pub async fn reporter_succeeded(store: &Store, client: &str) {
    let _ = store.limit_undo(&format!("reporter:{client}"), false).await;
}

/// The outcome of a login attempt.
#[derive(Debug)]
pub enum Login {
    Ok(User),
    /// Wrong e-mail address, password or code (which of them is not told).
    Failed,
    /// 5 failures for the account from this address, or 20 from the address, in 15 minutes.
    Locked,
    /// The password was right but it is a one-time password past its time: an admin must
    /// reset it (`OneTime` passwords still valid log in as [`Login::Ok`]; the user then has to
    /// choose their own before anything else, see `User::one_time_until`).
    Expired,
}

/// Check a login: the attempt is counted first (per (account, address) and per address; a
/// count over the limit is refused unchecked, so N concurrent guesses cannot all be checked),
/// then the password (verified even for unknown accounts, against a fixed hash, so timing does
/// not enumerate them) and the second factor when the account has one (a code is accepted
/// once; a recovery code stands in for it, once). A one-time password past its time is
/// [`Login::Expired`]. A success takes its attempt back; failures are audited.
pub async fn login(store: &Store, email: &str, password: &str, code: &str, client: &str) -> Login {
    let account_key = format!("login:{email}|{client}");
    let client_key = format!("login-ip:{client}");
    let (Ok(per_account), Ok(per_client)) =
        (store.limit_hit(&account_key, LOGIN_WINDOW).await, store.limit_hit(&client_key, LOGIN_WINDOW).await)
    else {
        // Fail closed: without the counters no password is checked.
        return Login::Locked;
    };
    if per_account > LOGIN_PER_ACCOUNT_AND_ADDRESS || per_client > LOGIN_PER_ADDRESS {
        let _ = store.audit(None, "login.locked", Some(email), None).await;
        return Login::Locked;
    }
    let user = store.user_by_email(email).await.ok().flatten().filter(|u| !u.disabled);
    let password = password.to_owned();
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let ok = verify_password_bounded(password, hash).await;
    let second_ok = match (&user, ok) {
        (Some(u), true) => match store.totp(u.id).await {
            Ok((None, _)) => true,
            Ok((Some(secret), _)) => match totp::matching_step(&secret, code) {
                Some(step) => store.use_totp_step(u.id, step as i64).await.unwrap_or(false),
                None if recovery::looks_like_code(code) => {
                    store.use_recovery_code(u.id, &recovery::code_hash(code)).await.unwrap_or(false)
                }
                None => false,
            },
            Err(_) => false,
        },
        _ => false,
    };
    match (user, ok && second_ok) {
        (Some(user), true) => {
            let _ = store.limit_undo(&account_key, true).await;
            let _ = store.limit_undo(&client_key, false).await;
            if user.one_time_until.is_some_and(|t| t <= time::OffsetDateTime::now_utc()) {
                let _ = store.audit(Some(user.id), "login.expired", Some(email), None).await;
                return Login::Expired;
            }
            Login::Ok(user)
        }
        _ => {
            let _ = store.audit(None, "login.failed", Some(email), None).await;
            Login::Failed
        }
    }
}

/// Re-authentication of a logged-in user before a change that weakens the account (turning
/// the second factor off): a session alone — a borrowed, stolen or unlocked one — must not be
/// able to remove the factor that protects the next login. The current password is checked
/// and counted like a login attempt for (account, address), so this form cannot be used to
/// guess it faster than the login page; a failure is audited.
pub async fn reauthenticate(store: &Store, user: &User, password: &str, client: &str) -> bool {
    let key = format!("login:{}|{client}", user.email);
    match store.limit_hit(&key, LOGIN_WINDOW).await {
        Ok(n) if n <= LOGIN_PER_ACCOUNT_AND_ADDRESS => {}
        _ => return false,
    }
    let ok = verify_password_bounded(password.to_owned(), Some(user.password_hash.clone())).await;
    if ok {
        let _ = store.limit_undo(&key, false).await;
    } else {
        let _ = store.audit(Some(user.id), "reauth.failed", None, None).await;
    }
    ok
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
