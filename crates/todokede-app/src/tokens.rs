//! API tokens of analysts' scripts: created (shown once; only SHA-256 of it is stored) and
//! revoked from the account page or `todokede token`, scoped, expiring, every use audited
//! (`Store::use_api_token`). A token is `tdk_` and 43 base64url characters (256 random bits):
//! guessing is hopeless, so a fast hash suffices where passwords need argon2.

use crate::AppError;
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use time::{Duration, OffsetDateTime};
use todokede_store::{ApiToken, NewApiToken, Store, TokenState, User};

/// What a token may do. `write` includes `read`; `export` (STIX, MISP) is granted apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// List, read and search reports, statistics.
    Read,
    /// Change reports: state, assignment, classification, links, replies, notes.
    Write,
    /// Export shareable intelligence (STIX 2.1, MISP).
    Export,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Export];
    pub fn key(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Export => "export",
        }
    }
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|k| k.key() == s.trim())
    }
}

/// Scopes from comma-separated keys (`read,export`): sorted, each once, at least one.
pub fn parse_scopes(s: &str) -> Result<Vec<Scope>, AppError> {
    let mut scopes = Vec::new();
    for k in s.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        scopes.push(Scope::parse(k).ok_or_else(|| {
            AppError::Invalid(format!("unknown scope `{k}` (read, write or export) / 不明なスコープ `{k}`"))
        })?);
    }
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(AppError::Invalid("give at least one scope: read, write or export".into()));
    }
    Ok(scopes)
}

fn scopes_key(scopes: &[Scope]) -> String {
    scopes.iter().map(|s| s.key()).collect::<Vec<_>>().join(",")
}

/// The longest a token may live; the default is [`DEFAULT_LIFETIME`].
pub const MAX_LIFETIME: Duration = Duration::days(366);
pub const DEFAULT_LIFETIME: Duration = Duration::days(90);

/// SHA-256 of a presented token, hex: what is stored and looked up.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A token just created: the only time its plaintext exists outside the client.
#[derive(Debug, Clone)]
pub struct Created {
    pub id: i64,
    pub token: String,
    pub expires_at: OffsetDateTime,
}

/// Create a token for `owner` (an active account) with these scopes and lifetime.
pub async fn create(
    store: &Store,
    owner: &User,
    name: &str,
    scopes: &[Scope],
    lifetime: Duration,
    by: &User,
) -> Result<Created, AppError> {
    if owner.disabled {
        return Err(AppError::Invalid(format!("the account {} is disabled", owner.email)));
    }
    if lifetime <= Duration::ZERO || lifetime > MAX_LIFETIME {
        return Err(AppError::Invalid("a token lives from one minute to 366 days / 有効期限は 366 日以内です".into()));
    }
    if scopes.is_empty() {
        return Err(AppError::Invalid("give at least one scope: read, write or export".into()));
    }
    let name = name.trim();
    let name = if name.is_empty() { "api" } else { name };
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::Invalid("the name has at most 100 printable characters".into()));
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("tdk_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    let expires_at = OffsetDateTime::now_utc() + lifetime;
    let new = NewApiToken {
        user: owner.id,
        name: name.to_owned(),
        scopes: scopes_key(scopes),
        token_hash: hash(&token),
        prefix: token[..10].to_owned(),
        expires_at,
    };
    let id = store.create_api_token(&new, by.id).await?;
    Ok(Created { id, token, expires_at })
}

/// A token's scopes as stored.
pub fn scopes_of(t: &ApiToken) -> Vec<Scope> {
    t.scopes.split(',').filter_map(Scope::parse).collect()
}

/// Whether a token with `granted` may act in `needed` (`write` includes `read`).
pub fn allows(granted: &[Scope], needed: Scope) -> bool {
    granted.contains(&needed) || (needed == Scope::Read && granted.contains(&Scope::Write))
}

/// The caller a valid token names.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub token_id: i64,
    pub scopes: Vec<Scope>,
}

/// Why a presented token does not work. One message for all to the client; the reason is in
/// the audit log for the owner's known tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Unknown,
    Expired,
    Revoked,
    OwnerDisabled,
}

/// Check a presented token and record the use (`what`: method and path) in the audit log.
pub async fn authenticate(store: &Store, presented: &str, what: &str) -> Result<Result<Caller, Refused>, AppError> {
    let presented = presented.trim();
    if !presented.starts_with("tdk_") || presented.len() > 100 {
        return Ok(Err(Refused::Unknown));
    }
    let Some((token, state)) = store.use_api_token(&hash(presented), what).await? else {
        return Ok(Err(Refused::Unknown));
    };
    match state {
        TokenState::Active => {}
        TokenState::Expired => return Ok(Err(Refused::Expired)),
        TokenState::Revoked => return Ok(Err(Refused::Revoked)),
        TokenState::OwnerDisabled => return Ok(Err(Refused::OwnerDisabled)),
    }
    let user = store.user(token.user).await?.ok_or(AppError::NotFound)?;
    Ok(Ok(Caller { scopes: scopes_of(&token), token_id: token.id, user }))
}

/// Tokens of one account (`Some`) or of all (`None`, for admins and the CLI).
pub async fn list(store: &Store, owner: Option<&User>) -> Result<Vec<ApiToken>, AppError> {
    Ok(store.api_tokens(owner.map(|u| u.id)).await?)
}

/// Revoke a token; with `owner`, only one of theirs. NotFound when there is no such live token.
pub async fn revoke(store: &Store, id: i64, owner: Option<&User>, by: &User) -> Result<(), AppError> {
    if store.revoke_api_token(id, owner.map(|u| u.id), by.id).await? { Ok(()) } else { Err(AppError::NotFound) }
}
