//! Settings admins change while the service runs (the admin page, `todokede settings`), kept in
//! the database so every process and the CLI read the same: the one-time password's lifetime,
//! the four-eyes rule of publication approval, and the contact points the half-year report prints
//! in 届出のお願い. A setting never changed has its default (a contact point: a placeholder
//! marked 【要設定】 in the report).

use crate::AppError;
use std::collections::BTreeMap;
use todokede_domain::{EmailAddress, UserId};
use todokede_store::Store;

/// The settings in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// How long a one-time password (a new account's, an admin's reset) can be used, in hours.
    pub one_time_password_hours: i64,
    /// Publication: the approver of a version must not be its last editor.
    pub four_eyes_publication: bool,
    /// The contact points of 届出のお願い that are set, by key (one of [`CONTACTS`]).
    pub contacts: BTreeMap<&'static str, String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { one_time_password_hours: 72, four_eyes_publication: true, contacts: BTreeMap::new() }
    }
}

/// The contact points the half-year report prints, as (key, what it is in Japanese, in English).
/// A key ending in `.email` takes an e-mail address, one ending in `.url` an http(s) URL; an
/// empty value unsets it.
pub const CONTACTS: &[(&str, &str, &str)] = &[
    (
        "publication.contact.virus.email",
        "届出のお願い：ウイルスの届出先メールアドレス",
        "Virus reports: e-mail address",
    ),
    ("publication.contact.virus.url", "届出のお願い：ウイルスの届出のウェブページ", "Virus reports: web page"),
    (
        "publication.contact.unauthorized_access.email",
        "届出のお願い：不正アクセスの届出先メールアドレス",
        "Unauthorized-access reports: e-mail address",
    ),
    (
        "publication.contact.unauthorized_access.url",
        "届出のお願い：不正アクセスの届出のウェブページ",
        "Unauthorized-access reports: web page",
    ),
];

/// The settings' keys, as stored and as `todokede settings set` takes them.
pub fn keys() -> impl Iterator<Item = &'static str> {
    ["one_time_password_hours", "four_eyes_publication"].into_iter().chain(CONTACTS.iter().map(|c| c.0))
}

impl Settings {
    pub fn one_time_password_lifetime(&self) -> time::Duration {
        time::Duration::hours(self.one_time_password_hours)
    }

    /// Every setting as (key, value), in [`keys`] order; a contact point not set is empty.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![
            ("one_time_password_hours", self.one_time_password_hours.to_string()),
            ("four_eyes_publication", if self.four_eyes_publication { "on" } else { "off" }.to_owned()),
        ];
        pairs.extend(CONTACTS.iter().map(|(k, ..)| (*k, self.contacts.get(k).cloned().unwrap_or_default())));
        pairs
    }

    /// Apply one `key = value`; a value outside its range is refused with what is allowed.
    fn apply(&mut self, key: &str, value: &str) -> Result<(), AppError> {
        match key {
            "one_time_password_hours" => match value.trim().parse::<i64>() {
                Ok(h) if (1..=24 * 30).contains(&h) => self.one_time_password_hours = h,
                _ => {
                    return Err(AppError::refused(
                        "初期パスワードの有効期間は 1〜720 時間で指定してください。",
                        "The one-time password's lifetime must be 1 to 720 hours.",
                    ));
                }
            },
            "four_eyes_publication" => match value.trim() {
                "on" | "true" | "yes" => self.four_eyes_publication = true,
                "off" | "false" | "no" => self.four_eyes_publication = false,
                _ => return Err(AppError::refused("on か off を指定してください。", "Say on or off.")),
            },
            _ => {
                let Some(&(key, ..)) = CONTACTS.iter().find(|c| c.0 == key) else {
                    let known = keys().collect::<Vec<_>>().join(", ");
                    return Err(AppError::refused(
                        format!("設定 `{key}` はありません（{known}）。"),
                        format!("There is no setting `{key}` ({known})."),
                    ));
                };
                let value = value.trim();
                if value.is_empty() {
                    self.contacts.remove(key);
                    return Ok(());
                }
                if key.ends_with(".email") && EmailAddress::parse(value).is_err() {
                    return Err(AppError::refused(
                        format!("`{value}` はメールアドレスの形式が正しくありません。"),
                        format!("`{value}` is not an e-mail address."),
                    ));
                }
                if key.ends_with(".url") && !(value.starts_with("https://") || value.starts_with("http://")) {
                    return Err(AppError::refused(
                        format!("`{value}` は URL（http/https）の形式が正しくありません。"),
                        format!("`{value}` is not an http(s) URL."),
                    ));
                }
                self.contacts.insert(key, value.to_owned());
            }
        }
        Ok(())
    }
}

/// The settings in force: the stored ones over the defaults. A stored value that no longer
/// parses keeps the default (and is logged), so a bad row cannot stop logins.
pub async fn load(store: &Store) -> Result<Settings, AppError> {
    let mut s = Settings::default();
    for (k, v) in store.settings().await? {
        if let Err(e) = s.apply(&k, &v) {
            tracing::warn!(key = %k, value = %v, error = %e, "stored setting ignored");
        }
    }
    Ok(s)
}

/// Change one setting (validated first; audited by the store; an empty value stored is an unset
/// contact point). `by` None: the console.
pub async fn set(store: &Store, key: &str, value: &str, by: Option<UserId>) -> Result<Settings, AppError> {
    let mut s = load(store).await?;
    s.apply(key, value)?;
    let stored = s.pairs().into_iter().find(|(k, _)| *k == key).map(|(_, v)| v).unwrap_or_default();
    store.set_setting(key, &stored, by).await?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_and_the_defaults_are_72_hours_and_four_eyes() {
        let mut s = Settings::default();
        assert_eq!((s.one_time_password_hours, s.four_eyes_publication), (72, true));
        s.apply("one_time_password_hours", "24").unwrap();
        s.apply("four_eyes_publication", "off").unwrap();
        assert_eq!((s.one_time_password_hours, s.four_eyes_publication), (24, false));
        s.apply("publication.contact.virus.email", " virus@cert.example.jp ").unwrap();
        assert_eq!(s.contacts["publication.contact.virus.email"], "virus@cert.example.jp");
        s.apply("publication.contact.virus.email", "").unwrap();
        assert!(s.contacts.is_empty());
        for (k, v) in [
            ("publication.contact.virus.email", "not an address"),
            ("publication.contact.virus.url", "ftp://cert.example.jp"),
            ("one_time_password_hours", "0"),
            ("one_time_password_hours", "x"),
            ("four_eyes_publication", "maybe"),
            ("nope", "1"),
        ] {
            assert!(matches!(s.apply(k, v), Err(AppError::Refused { .. })), "{k}={v}");
        }
    }
}
