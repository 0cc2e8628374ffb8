//! The plain-text report form by e-mail: the IPA forms mark checkboxes by changing □ to ■.
//! Lines are `項目: ■選択肢 □選択肢 …` or `項目: 値`; the item name decides which closed list
//! a checked label belongs to. Only what is present is filled in.

use regex::Regex;
use std::sync::OnceLock;
use todokede_domain::*;

/// What a filled-in form contributed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FormFields {
    pub form: Option<ReportForm>,
    pub reporter: Reporter,
    pub discovered_on: Option<time::Date>,
    pub discovery: Option<DiscoveryTrigger>,
    pub damage_status: Option<DamageStatus>,
    pub damages: Vec<DamageCategory>,
    pub causes: Vec<CauseCategory>,
    pub assets: Vec<AffectedAsset>,
    pub deployment: Vec<Deployment>,
    pub infection_vectors: Vec<InfectionVector>,
    pub internet_connected: Option<TriState>,
    pub virus_name: Option<String>,
    pub os: Option<String>,
    /// Number of form items recognised (0: the body is free text).
    pub recognised: usize,
}

#[derive(Clone, Copy)]
enum Item {
    Form,
    ReporterKind,
    Name,
    Organization,
    Email,
    Phone,
    Address,
    DiscoveredOn,
    Discovery,
    DamageStatus,
    Damages,
    Causes,
    Assets,
    Deployment,
    InfectionVector,
    Internet,
    VirusName,
    Os,
}

/// Item names as the forms word them (both forms, old and new), longest first where they overlap.
const ITEMS: &[(&str, Item)] = &[
    ("届出者種別", Item::ReporterKind),
    ("届出種別", Item::Form),
    ("企業・組織名", Item::Organization),
    ("社名", Item::Organization),
    ("氏名", Item::Name),
    ("E-Mail", Item::Email),
    ("E-mail", Item::Email),
    ("メールアドレス", Item::Email),
    ("TEL", Item::Phone),
    ("電話番号", Item::Phone),
    ("住所", Item::Address),
    ("発見年月日", Item::DiscoveredOn),
    ("発見日", Item::DiscoveredOn),
    ("発見契機", Item::Discovery),
    ("発見方法", Item::Discovery),
    ("被害の有無", Item::DamageStatus),
    ("被害内容", Item::Damages),
    ("被害原因", Item::Causes),
    ("被害を受けた機器", Item::Assets),
    ("発見場所", Item::Assets),
    ("設置環境", Item::Deployment),
    ("感染経路", Item::InfectionVector),
    ("インターネット接続", Item::Internet),
    ("ウイルス名称", Item::VirusName),
    ("OS", Item::Os),
];

fn normalise_label(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            '／' => '/',
            c => c,
        })
        .collect()
}

/// The closed-list value whose Japanese label (or key) the checked text names.
fn pick<T: ClosedEnum>(checked: &str) -> Option<T> {
    let c = normalise_label(checked);
    T::ALL.iter().copied().find(|v| normalise_label(v.label_ja()) == c || v.key() == c).or_else(|| {
        T::ALL.iter().copied().find(|v| {
            let l = normalise_label(v.label_ja());
            c.starts_with(&l) || l.starts_with(&c)
        })
    })
}

fn push<T: PartialEq>(v: &mut Vec<T>, x: Option<T>) {
    if let Some(x) = x
        && !v.contains(&x)
    {
        v.push(x);
    }
}

fn checked_labels(rest: &str) -> Vec<&str> {
    rest.split('■')
        .skip(1)
        .map(|s| s.split('□').next().unwrap_or("").trim().trim_end_matches(['、', ',', '/']))
        .filter(|s| !s.is_empty())
        .collect()
}

fn date(s: &str) -> Option<time::Date> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"(\d{4})\s*[年/\-.]\s*(\d{1,2})\s*[月/\-.]\s*(\d{1,2})").unwrap());
    let c = re.captures(s)?;
    time::Date::from_calendar_date(
        c[1].parse().ok()?,
        time::Month::try_from(c[2].parse::<u8>().ok()?).ok()?,
        c[3].parse().ok()?,
    )
    .ok()
}

fn value(rest: &str) -> Option<String> {
    let v = rest.trim().trim_start_matches([':', '：']).trim();
    (!v.is_empty() && !v.contains('□') && !v.contains('■')).then(|| v.chars().take(200).collect())
}

/// Parse the form items present in a mail body.
pub fn parse_form(body: &str) -> FormFields {
    let mut f = FormFields::default();
    let mut current: Option<Item> = None;
    for line in body.lines() {
        let t = line
            .trim()
            .trim_start_matches(|c: char| c.is_ascii_digit() || matches!(c, '.' | '-' | ')' | '(' | '．' | ' ' | '　'));
        let found = ITEMS
            .iter()
            .find_map(|(name, item)| t.find(name).filter(|p| *p < 6).map(|p| (*item, &t[p + name.len()..])));
        let (item, rest) = match found {
            Some((item, rest)) => {
                current = Some(item);
                (
                    item,
                    rest.trim_start_matches(|c: char| {
                        c != ':' && c != '：' && c != '■' && c != '□' && !c.is_whitespace()
                    })
                    .trim_start_matches([':', '：']),
                )
            }
            None if t.starts_with(['□', '■']) => match current {
                Some(item) => (item, t),
                None => continue,
            },
            None => {
                current = None;
                continue;
            }
        };
        let checked = checked_labels(rest);
        let before = f.clone();
        match item {
            Item::Form => f.form = checked.iter().find_map(|c| pick(c)).or(f.form),
            Item::ReporterKind => f.reporter.kind = checked.iter().find_map(|c| pick(c)).or(f.reporter.kind),
            Item::DamageStatus => f.damage_status = checked.iter().find_map(|c| pick(c)).or(f.damage_status),
            Item::Discovery => f.discovery = checked.iter().find_map(|c| pick(c)).or(f.discovery),
            Item::Internet => f.internet_connected = checked.iter().find_map(|c| pick(c)).or(f.internet_connected),
            Item::Damages => checked.iter().for_each(|c| push(&mut f.damages, pick(c))),
            Item::Causes => checked.iter().for_each(|c| push(&mut f.causes, pick(c))),
            Item::Assets => checked.iter().for_each(|c| push(&mut f.assets, pick(c))),
            Item::Deployment => checked.iter().for_each(|c| push(&mut f.deployment, pick(c))),
            Item::InfectionVector => checked.iter().for_each(|c| push(&mut f.infection_vectors, pick(c))),
            Item::Name => f.reporter.name = value(rest).or(f.reporter.name.take()),
            Item::Organization => f.reporter.organization = value(rest).or(f.reporter.organization.take()),
            Item::Email => {
                f.reporter.email = value(rest).and_then(|v| EmailAddress::parse(&v).ok()).or(f.reporter.email.take())
            }
            Item::Phone => f.reporter.phone = value(rest).or(f.reporter.phone.take()),
            Item::Address => f.reporter.address = value(rest).or(f.reporter.address.take()),
            Item::DiscoveredOn => f.discovered_on = date(rest).or(f.discovered_on),
            Item::VirusName => f.virus_name = value(rest).or(f.virus_name.take()),
            Item::Os => f.os = value(rest).or(f.os.take()),
        }
        if f != before {
            f.recognised += 1;
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filled_in_form_is_read() {
        let body = "コンピュータ不正アクセス届出様式\n\
            届出種別: □ウイルス届出 ■不正アクセス届出\n\
            1. 届出者\n  届出者種別: □個人 ■企業 □教育機関\n  氏名: 山田 太郎\n  企業・組織名：株式会社例\n  E-Mail: yamada@example.co.jp\n  TEL: 03-0000-0000\n\
            2. 発見年月日: 2019年8月14日\n\
            3. 被害を受けた機器等:\n  □パソコン\n  ■サーバ（データベースサーバ）\n  ■サーバ(ウェブシステム)\n\
            4. 設置環境: ■ホスティングサービスの利用 □不明\n\
            5. 被害内容: ■データ消去・脅迫 □改ざん\n\
            その他: DB が消された\n";
        let f = parse_form(body);
        assert_eq!(f.form, Some(ReportForm::UnauthorizedAccess));
        assert_eq!(f.reporter.kind, Some(ReporterKind::Company));
        assert_eq!(f.reporter.name.as_deref(), Some("山田 太郎"));
        assert_eq!(f.reporter.organization.as_deref(), Some("株式会社例"));
        assert_eq!(f.reporter.email.as_ref().map(|e| e.as_str()), Some("yamada@example.co.jp"));
        assert_eq!(f.discovered_on, Some(time::macros::date!(2019 - 08 - 14)));
        assert_eq!(f.assets, [AffectedAsset::ServerDatabase, AffectedAsset::ServerWeb]);
        assert_eq!(f.deployment, [Deployment::Hosting]);
        assert_eq!(f.damages, [DamageCategory::DataDestructionExtortion]);
        assert!(f.recognised >= 9, "{}", f.recognised);
    }

    #[test]
    fn free_text_is_not_a_form() {
        let f = parse_form("お世話になっております。\n弊社サーバへの不正アクセスを検知しました。\n■至急対応願います");
        assert_eq!(f.recognised, 0);
    }
}
