//! Settings admins change while the service runs (the admin page, `todokede settings`), kept in
//! the database so every process and the CLI read the same: the one-time password's lifetime,
//! the four-eyes rule of publication approval, the SLA clocks of the queue (hours allowed per
//! state), and the contact points the half-year report prints in 届出のお願い. A setting never changed has its default (a contact point: a placeholder
//! marked 【要設定】 in the report).

use crate::AppError;
use std::collections::BTreeMap;
use todokede_domain::{Channel, EmailAddress, ReportState, UserId};
use todokede_store::{SlaCutoffs, Store};

/// The settings in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// How long a one-time password (a new account's, an admin's reset) can be used, in hours.
    pub one_time_password_hours: i64,
    /// Publication: the approver of a version must not be its last editor.
    pub four_eyes_publication: bool,
    /// The contact points of 届出のお願い that are set, by key (one of [`CONTACTS`]).
    pub contacts: BTreeMap<&'static str, String>,
    /// The SLA clocks: hours a report may stay in a state (one of [`SLA`]) before the queue
    /// flags it overdue; `None`: no clock for that state.
    pub sla_hours: BTreeMap<&'static str, Option<i64>>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            one_time_password_hours: 72,
            four_eyes_publication: true,
            contacts: BTreeMap::new(),
            sla_hours: SLA.iter().map(|c| (c.key, c.default_hours)).collect(),
        }
    }
}

/// One SLA clock: the state it times, its setting's key, what it is, and its default.
#[derive(Debug, Clone, Copy)]
pub struct SlaClock {
    pub state: ReportState,
    pub key: &'static str,
    pub ja: &'static str,
    pub en: &'static str,
    pub default_hours: Option<i64>,
}

/// The states with a clock. 受付 and 確認中 wait for an analyst (first look within a day, triage
/// within three); 届出者回答待ち waits for the reporter — past two weeks an analyst should
/// chase or close; 対応中 has none until an admin sets one.
pub const SLA: &[SlaClock] = &[
    SlaClock {
        state: ReportState::Received,
        key: "sla.received_hours",
        ja: "SLA：受付のまま置ける時間",
        en: "SLA: hours a report may stay Received",
        default_hours: Some(24),
    },
    SlaClock {
        state: ReportState::Triage,
        key: "sla.triage_hours",
        ja: "SLA：確認中のまま置ける時間",
        en: "SLA: hours a report may stay in Triage",
        default_hours: Some(72),
    },
    SlaClock {
        state: ReportState::InProgress,
        key: "sla.in_progress_hours",
        ja: "SLA：対応中のまま置ける時間",
        en: "SLA: hours a report may stay In progress",
        default_hours: None,
    },
    SlaClock {
        state: ReportState::WaitingOnReporter,
        key: "sla.waiting_on_reporter_hours",
        ja: "SLA：届出者回答待ちのまま置ける時間",
        en: "SLA: hours a report may wait on the reporter",
        default_hours: Some(336),
    },
];

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
    ["one_time_password_hours", "four_eyes_publication"]
        .into_iter()
        .chain(SLA.iter().map(|c| c.key))
        .chain(CONTACTS.iter().map(|c| c.0))
}

/// What a setting is, in English (for `todokede settings list`); None for the account ones.
pub fn what(key: &str) -> Option<&'static str> {
    SLA.iter().find(|c| c.key == key).map(|c| c.en).or_else(|| CONTACTS.iter().find(|c| c.0 == key).map(|c| c.2))
}

impl Settings {
    pub fn one_time_password_lifetime(&self) -> time::Duration {
        time::Duration::hours(self.one_time_password_hours)
    }

    /// The hours a report may stay in `state`, if that state has a clock.
    pub fn sla_for(&self, state: ReportState) -> Option<i64> {
        SLA.iter().find(|c| c.state == state).and_then(|c| self.sla_hours.get(c.key).copied().flatten())
    }

    /// When a report that entered `state` at `since` becomes overdue (None: no clock).
    pub fn sla_deadline(&self, state: ReportState, since: time::OffsetDateTime) -> Option<time::OffsetDateTime> {
        self.sla_for(state).map(|h| since + time::Duration::hours(h))
    }

    /// When a report's SLA clock started, if it runs at all. An imported report
    /// (`Channel::Import`: `todokede import`, VERIS) has none until an analyst changes its
    /// state: its received date is when it reached whoever handled it then (the 2019 seeds, a
    /// partner's register), not when this desk got it, so counting from it flags every import
    /// 期限超過 by years; and the store keeps no import time to count from. Once an analyst
    /// moves it, its clock runs from that change like any report's. (The same rule is in the
    /// store's overdue filter: `ReportFilter::overdue`.)
    pub fn clock_start(
        channel: Channel,
        received_at: time::OffsetDateTime,
        state_since: time::OffsetDateTime,
    ) -> Option<time::OffsetDateTime> {
        // `state_since` is the receipt itself when no state change is on the timeline.
        (channel != Channel::Import || state_since != received_at).then_some(state_since)
    }

    /// The queue's cut-offs at `now`: a report in a state since before its cut-off is overdue.
    pub fn sla_cutoffs(&self, now: time::OffsetDateTime) -> SlaCutoffs {
        let at = |s| self.sla_for(s).map(|h| now - time::Duration::hours(h));
        SlaCutoffs {
            received: at(ReportState::Received),
            triage: at(ReportState::Triage),
            in_progress: at(ReportState::InProgress),
            waiting_on_reporter: at(ReportState::WaitingOnReporter),
        }
    }

    /// Every setting as (key, value), in [`keys`] order; a contact point not set is empty.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![
            ("one_time_password_hours", self.one_time_password_hours.to_string()),
            ("four_eyes_publication", if self.four_eyes_publication { "on" } else { "off" }.to_owned()),
        ];
        pairs.extend(SLA.iter().map(|c| {
            (c.key, self.sla_hours.get(c.key).copied().flatten().map_or_else(|| "off".to_owned(), |h| h.to_string()))
        }));
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
            _ if SLA.iter().any(|c| c.key == key) => {
                let clock = SLA.iter().find(|c| c.key == key).expect("checked");
                let hours = match value.trim() {
                    "off" | "" | "0" => None,
                    v => match v.parse::<i64>() {
                        Ok(h) if (1..=24 * 30).contains(&h) => Some(h),
                        _ => {
                            return Err(AppError::refused(
                                "SLA の時間は 1〜720 時間か off で指定してください。",
                                "An SLA is 1 to 720 hours, or off.",
                            ));
                        }
                    },
                };
                self.sla_hours.insert(clock.key, hours);
            }
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
        assert_eq!(s.sla_for(ReportState::Received), Some(24), "a first look within a day by default");
        assert_eq!(s.sla_for(ReportState::InProgress), None, "no clock on 対応中 by default");
        s.apply("sla.in_progress_hours", "48").unwrap();
        s.apply("sla.received_hours", "off").unwrap();
        assert_eq!((s.sla_for(ReportState::InProgress), s.sla_for(ReportState::Received)), (Some(48), None));
        assert_eq!(s.sla_for(ReportState::Closed), None, "a closed report has no clock");
        let now = time::macros::datetime!(2026-12-04 12:00 UTC);
        let cut = s.sla_cutoffs(now);
        assert_eq!((cut.received, cut.in_progress), (None, Some(time::macros::datetime!(2026-12-02 12:00 UTC))));
        assert_eq!(
            s.sla_deadline(ReportState::Triage, now),
            Some(time::macros::datetime!(2026-12-07 12:00 UTC)),
            "72 hours in 確認中"
        );
        for (k, v) in [
            ("publication.contact.virus.email", "not an address"),
            ("publication.contact.virus.url", "ftp://cert.example.jp"),
            ("one_time_password_hours", "0"),
            ("one_time_password_hours", "x"),
            ("four_eyes_publication", "maybe"),
            ("sla.triage_hours", "721"),
            ("sla.triage_hours", "soon"),
            ("nope", "1"),
        ] {
            assert!(matches!(s.apply(k, v), Err(AppError::Refused { .. })), "{k}={v}");
        }
    }
}
