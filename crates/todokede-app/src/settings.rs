//! Settings admins change while the service runs (the admin page, `todokede settings`), kept in
//! the database so every process and the CLI read the same: the one-time password's lifetime
//! and the four-eyes rule of publication approval. A setting never changed has its default.

use crate::AppError;
use todokede_domain::UserId;
use todokede_store::Store;

/// The settings in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How long a one-time password (a new account's, an admin's reset) can be used, in hours.
    pub one_time_password_hours: i64,
    /// Publication: the approver of a version must not be its last editor.
    pub four_eyes_publication: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { one_time_password_hours: 72, four_eyes_publication: true }
    }
}

/// The settings' keys, as stored and as `todokede settings set` takes them.
pub const KEYS: &[&str] = &["one_time_password_hours", "four_eyes_publication"];

impl Settings {
    pub fn one_time_password_lifetime(&self) -> time::Duration {
        time::Duration::hours(self.one_time_password_hours)
    }

    /// Every setting as (key, value), in [`KEYS`] order.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("one_time_password_hours", self.one_time_password_hours.to_string()),
            ("four_eyes_publication", if self.four_eyes_publication { "on" } else { "off" }.to_owned()),
        ]
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
                return Err(AppError::refused(
                    format!("設定 `{key}` はありません（{}）。", KEYS.join(", ")),
                    format!("There is no setting `{key}` ({}).", KEYS.join(", ")),
                ));
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

/// Change one setting (validated first; audited by the store). `by` None: the console.
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
        for (k, v) in [
            ("one_time_password_hours", "0"),
            ("one_time_password_hours", "x"),
            ("four_eyes_publication", "maybe"),
            ("nope", "1"),
        ] {
            assert!(matches!(s.apply(k, v), Err(AppError::Refused { .. })), "{k}={v}");
        }
    }
}
