//! Publication periods: a half-year (`2019H2`), a year (`2019`), a quarter (`2019Q3`), a month
//! (`2019-08`) or an inclusive date range (`2019-07-01..2019-12-31`).

use std::fmt;
use time::{Date, Month};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Year(i32),
    Half(i32, u8),
    Quarter(i32, u8),
    Month(i32, u8),
    /// Inclusive on both ends.
    Range(Date, Date),
}

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a period: use 2019H2, 2019, 2019Q3, 2019-08 or 2019-07-01..2019-12-31")]
pub struct BadPeriod(pub String);

fn date(s: &str) -> Option<Date> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

fn month(y: i32, m: u8) -> Option<Date> {
    Date::from_calendar_date(y, Month::try_from(m).ok()?, 1).ok()
}

impl Period {
    pub fn parse(s: &str) -> Result<Period, BadPeriod> {
        let bad = || BadPeriod(s.chars().take(40).collect());
        let s = s.trim();
        if let Some((a, b)) = s.split_once("..") {
            let (a, b) = (date(a).ok_or_else(bad)?, date(b).ok_or_else(bad)?);
            return if a <= b { Ok(Period::Range(a, b)) } else { Err(bad()) };
        }
        let year = |y: &str| y.parse::<i32>().ok().filter(|y| (1990..=2200).contains(y));
        let p = if let Some((y, h)) = s.split_once(['H', 'h']) {
            Period::Half(year(y).ok_or_else(bad)?, h.parse().ok().filter(|h| matches!(h, 1 | 2)).ok_or_else(bad)?)
        } else if let Some((y, q)) = s.split_once(['Q', 'q']) {
            Period::Quarter(year(y).ok_or_else(bad)?, q.parse().ok().filter(|q| (1..=4).contains(q)).ok_or_else(bad)?)
        } else if let Some((y, m)) = s.split_once('-') {
            Period::Month(year(y).ok_or_else(bad)?, m.parse().ok().filter(|m| (1..=12).contains(m)).ok_or_else(bad)?)
        } else {
            Period::Year(year(s).ok_or_else(bad)?)
        };
        Ok(p)
    }

    /// First and last day, inclusive.
    pub fn bounds(&self) -> (Date, Date) {
        let (y, first_month, months) = match *self {
            Period::Year(y) => (y, 1, 12),
            Period::Half(y, h) => (y, 1 + (h - 1) * 6, 6),
            Period::Quarter(y, q) => (y, 1 + (q - 1) * 3, 3),
            Period::Month(y, m) => (y, m, 1),
            Period::Range(a, b) => return (a, b),
        };
        let start = month(y, first_month).expect("valid month");
        let end_exclusive = add_months(start, months);
        (start, end_exclusive.previous_day().expect("not the first day ever"))
    }

    /// The period of the same kind just before this one (a range: the same number of days).
    pub fn previous(&self) -> Period {
        match *self {
            Period::Year(y) => Period::Year(y - 1),
            Period::Half(y, 1) => Period::Half(y - 1, 2),
            Period::Half(y, _) => Period::Half(y, 1),
            Period::Quarter(y, 1) => Period::Quarter(y - 1, 4),
            Period::Quarter(y, q) => Period::Quarter(y, q - 1),
            Period::Month(y, 1) => Period::Month(y - 1, 12),
            Period::Month(y, m) => Period::Month(y, m - 1),
            Period::Range(a, b) => {
                let len = b - a;
                let end = a.previous_day().expect("date in range");
                Period::Range(end - len, end)
            }
        }
    }

    /// How the seeds name it: 2019年下半期（7月～12月）.
    pub fn label_ja(&self) -> String {
        match *self {
            Period::Year(y) => format!("{y}年"),
            Period::Half(y, 1) => format!("{y}年上半期（1月～6月）"),
            Period::Half(y, _) => format!("{y}年下半期（7月～12月）"),
            Period::Quarter(y, q) => format!("{y}年第{q}四半期"),
            Period::Month(y, m) => format!("{y}年{m}月"),
            Period::Range(a, b) => format!("{}～{}", ja_date(a), ja_date(b)),
        }
    }

    /// In the reader's language: 2019年下半期（7月～12月） / 2019 H2 (July–December).
    pub fn label(&self, lang: crate::Language) -> String {
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        match (lang, *self) {
            (crate::Language::Ja, _) => self.label_ja(),
            (_, Period::Year(y)) => y.to_string(),
            (_, Period::Half(y, 1)) => format!("{y} H1 (January–June)"),
            (_, Period::Half(y, _)) => format!("{y} H2 (July–December)"),
            (_, Period::Quarter(y, q)) => format!("{y} Q{q}"),
            (_, Period::Month(y, m)) => format!("{} {y}", MONTHS[usize::from(m.clamp(1, 12)) - 1]),
            (_, Period::Range(a, b)) => format!("{a} – {b}"),
        }
    }

    /// The months the period covers (for the monthly breakdown), as (year, month).
    pub fn months(&self) -> Vec<(i32, u8)> {
        let (a, b) = self.bounds();
        let mut out = vec![];
        let mut d = month(a.year(), a.month() as u8).expect("valid");
        while d <= b {
            out.push((d.year(), d.month() as u8));
            d = add_months(d, 1);
        }
        out
    }

    pub fn contains(&self, d: Date) -> bool {
        let (a, b) = self.bounds();
        a <= d && d <= b
    }
}

fn add_months(d: Date, n: u8) -> Date {
    let total = d.year() * 12 + (d.month() as i32 - 1) + n as i32;
    month(total.div_euclid(12), (total.rem_euclid(12) + 1) as u8).expect("valid month")
}

/// 2019年8月14日
pub fn ja_date(d: Date) -> String {
    format!("{}年{}月{}日", d.year(), d.month() as u8, d.day())
}

/// 2019/8/14, as 表2-1 writes it.
pub fn slash_date(d: Date) -> String {
    format!("{}/{}/{}", d.year(), d.month() as u8, d.day())
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Period::Year(y) => write!(f, "{y}"),
            Period::Half(y, h) => write!(f, "{y}H{h}"),
            Period::Quarter(y, q) => write!(f, "{y}Q{q}"),
            Period::Month(y, m) => write!(f, "{y}-{m:02}"),
            Period::Range(a, b) => write!(f, "{a}..{b}"),
        }
    }
}

impl From<Period> for String {
    fn from(p: Period) -> String {
        p.to_string()
    }
}

impl TryFrom<String> for Period {
    type Error = BadPeriod;
    fn try_from(s: String) -> Result<Self, BadPeriod> {
        Period::parse(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn periods_parse_bound_and_step_back() {
        let h2 = Period::parse("2019H2").unwrap();
        assert_eq!(h2.bounds(), (date!(2019 - 07 - 01), date!(2019 - 12 - 31)));
        assert_eq!(h2.previous().to_string(), "2019H1");
        assert_eq!(h2.previous().previous().to_string(), "2018H2");
        assert_eq!(Period::parse("2020-02").unwrap().bounds().1, date!(2020 - 02 - 29));
        assert_eq!(Period::parse("2019Q1").unwrap().previous().to_string(), "2018Q4");
        assert_eq!(Period::parse("2019").unwrap().months().len(), 12);
        let r = Period::parse("2019-07-01..2019-07-10").unwrap();
        assert_eq!(r.previous().bounds(), (date!(2019 - 06 - 21), date!(2019 - 06 - 30)));
        assert_eq!(h2.label_ja(), "2019年下半期（7月～12月）");
        for bad in ["2019H3", "19", "2019-13", "2019Q5", "2019-12-31..2019-01-01", "", "H2"] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }
}
