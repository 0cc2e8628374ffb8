//! An account's life: created with a one-time password that expires (the lifetime is a
//! setting, 72 hours by default) and must be replaced at the first login; the password changed
//! by its owner; reset by an admin (a new one-time password, or the second factor off for a
//! lost phone); disabled. The web's account and admin pages and `todokede user …` call these.

use super::{hash_password, one_time_password, verify_password_bounded};
use crate::{AppError, settings};
use time::OffsetDateTime;
use todokede_domain::UserId;
use todokede_store::{Role, Store, User};

/// The shortest password a person may choose.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// A one-time password as shown once to whoever hands it over, and until when it works.
#[derive(Debug, Clone)]
pub struct OneTime {
    pub password: String,
    pub until: OffsetDateTime,
}

fn hashed(password: &str) -> Result<String, AppError> {
    hash_password(password).map_err(AppError::internal)
}

async fn one_time(store: &Store) -> Result<(OneTime, String), AppError> {
    let lifetime = settings::load(store).await?.one_time_password_lifetime();
    let password = one_time_password();
    let hash = hashed(&password)?;
    Ok((OneTime { password, until: OffsetDateTime::now_utc() + lifetime }, hash))
}

/// A new account with a one-time password. `by` None: the console (`todokede user add`).
pub async fn create(store: &Store, email: &str, role: Role, by: Option<UserId>) -> Result<(UserId, OneTime), AppError> {
    let (once, hash) = one_time(store).await?;
    let id = store.create_user_one_time(email, role, &hash, once.until).await?;
    if by.is_some() {
        let _ = store.audit(by, "user.create", Some(email), Some(role.key())).await;
    }
    Ok((id, once))
}

/// Whether a password may be chosen: long enough and not the account's address. The message
/// says what to do, in both languages.
pub fn check_policy(user: &User, password: &str) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::refused(
            format!("パスワードは {MIN_PASSWORD_CHARS} 文字以上にしてください。"),
            format!("The password must have at least {MIN_PASSWORD_CHARS} characters."),
        ));
    }
    if password.trim().eq_ignore_ascii_case(&user.email) {
        return Err(AppError::refused(
            "メールアドレスはパスワードにできません。",
            "The e-mail address cannot be the password.",
        ));
    }
    Ok(())
}

/// The owner changes their password: the current one must be right and the new one differ
/// and follow the policy. Every session of the account ends (the web then starts a fresh one).
pub async fn change_password(
    store: &Store,
    user: &User,
    current: &str,
    new: &str,
    confirm: &str,
) -> Result<(), AppError> {
    if !verify_password_bounded(current.to_owned(), Some(user.password_hash.clone())).await {
        let _ = store.audit(Some(user.id), "user.password_change_failed", Some(&user.id.0.to_string()), None).await;
        return Err(AppError::refused("現在のパスワードが正しくありません。", "The current password is not right."));
    }
    if new != confirm {
        return Err(AppError::refused(
            "新しいパスワードが確認用と一致しません。",
            "The new password and its confirmation differ.",
        ));
    }
    if new == current {
        return Err(AppError::refused(
            "新しいパスワードは現在のものと別にしてください。",
            "The new password must differ from the current one.",
        ));
    }
    check_policy(user, new)?;
    store.set_password(user.id, &hashed(new)?, None, Some(user.id)).await?;
    Ok(())
}

/// Set a chosen password for an account (the console's `todokede user passwd`).
pub async fn set_password(store: &Store, user: &User, new: &str, by: Option<UserId>) -> Result<(), AppError> {
    check_policy(user, new)?;
    store.set_password(user.id, &hashed(new)?, None, by).await?;
    Ok(())
}

/// An admin's reset: a new one-time password (shown once), every session of the account ended.
pub async fn reset_password(store: &Store, id: UserId, by: Option<UserId>) -> Result<OneTime, AppError> {
    let (once, hash) = one_time(store).await?;
    store.set_password(id, &hash, Some(once.until), by).await?;
    Ok(once)
}

/// An admin's reset of the second factor (a lost phone): TOTP off, recovery codes gone.
pub async fn reset_second_factor(store: &Store, id: UserId, by: Option<UserId>) -> Result<(), AppError> {
    Ok(store.reset_second_factor(id, by).await?)
}

/// Disable (or enable) an account; disabling ends its sessions.
pub async fn set_disabled(store: &Store, id: UserId, disabled: bool, by: Option<UserId>) -> Result<(), AppError> {
    Ok(store.set_user_disabled(id, disabled, by).await?)
}

/// Where an account's password stands, for lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordState {
    /// Chosen by its owner.
    Own,
    /// A one-time password, usable until then.
    OneTime(OffsetDateTime),
    /// A one-time password past its time: only a reset helps.
    Expired(OffsetDateTime),
}

pub fn password_state(user: &User, now: OffsetDateTime) -> PasswordState {
    match user.one_time_until {
        None => PasswordState::Own,
        Some(t) if t > now => PasswordState::OneTime(t),
        Some(t) => PasswordState::Expired(t),
    }
}
