//! The half-year 届出事例 report as an editable document: generated from the period's confirmed
//! cases (every sentence taken from a report has passed the anonymiser, its replacements kept
//! for review), edited by analysts (each edit passes the anonymiser again), approved, rendered.
//! The structure is the seeds': 1 はじめに (with 1-1, the notable technique of the period),
//! 2 届出事例概要一覧 (表2-1 grouped by category) and 2-1 着目点, one chapter per featured case
//! (N-1 届出内容, N-2 着目点), 届出のお願い, and an appendix with the statistics and charts.

use crate::anonymise::{Anonymised, KnownIdentifiers, Replacement, Risk, anonymise};
use crate::figures::{Figure, case_overview};
use crate::group_points::{GroupFacts, Member, group_points};
use crate::observations::{EvidenceFact, evidence_lines, route, route_lines};
use crate::points::{ChapterRef, Checks, Facts, checks_point, featured_points};
use crate::scheme::{BasisBox, Contact};
use crate::stats::{CaseRecord, Statistics};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use todokede_analyse::trends::{Series, Surge, assess, surges};
use todokede_domain::{CauseCategory, ClosedEnum, DamageCategory, Period};

/// A published sentence or paragraph, with what the anonymiser replaced in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Text {
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replacements: Vec<Replacement>,
    /// What the anonymiser could not rule out, for the approver to clear.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risks: Vec<Risk>,
}

impl Text {
    /// Our own wording (no report content): nothing to anonymise.
    pub fn fixed(s: impl Into<String>) -> Text {
        Text { text: s.into(), replacements: vec![], risks: vec![] }
    }
    fn from(a: Anonymised) -> Text {
        Text { text: a.text, replacements: a.replacements, risks: a.risks }
    }
}

/// A 着目点: a headed paragraph ("phpMyAdmin の利用" and what to know about it). Documents
/// saved before headings existed read as points without one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Point {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading: Option<Text>,
    #[serde(flatten)]
    pub body: Text,
}

/// A 1-N-M subsection of a trend chapter (攻撃手口, 観測状況と攻撃経路, 対策): paragraphs,
/// bullets, and further paragraph-and-bullet blocks after them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Subsection {
    pub heading: String,
    pub paragraphs: Vec<Text>,
    #[serde(default)]
    pub bullets: Vec<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more: Vec<Block>,
}

/// Paragraphs followed by bullets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Block {
    #[serde(default)]
    pub paragraphs: Vec<Text>,
    #[serde(default)]
    pub bullets: Vec<Text>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub title: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// 項番.
    pub no: u32,
    /// Internal: which report this row is. Never rendered.
    pub report: String,
    /// 届出日 as 表2-1 writes it (2019/8/14).
    pub received_on: String,
    pub summary: Text,
    /// The chapter that features this case (※本事例は N 章で紹介する。).
    pub featured_chapter: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub key: String,
    pub heading: Text,
    pub rows: Vec<SummaryRow>,
    /// 着目点 for the group (2-1-N): paragraphs, most under a heading of their own. Documents
    /// saved when they were one-line texts read as points without a heading.
    pub points: Vec<Point>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub heading: String,
    pub text: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeaturedCase {
    pub chapter: u32,
    pub report: String,
    pub title: Text,
    /// 届出内容: 発見経緯, 被害内容, 被害原因, 被害対応, 事後対策, その他事項 (those known).
    pub sections: Vec<Section>,
    pub points: Vec<Point>,
    /// 図 N-1 事例の概要図, referred to at the end of N-1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figure: Option<Figure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TechniqueChapter {
    pub key: String,
    pub title: Text,
    /// The period's count, then the previous periods' (`None`: the system has no data for that
    /// period — not zero).
    pub counts: Vec<(String, Option<u64>)>,
    pub paragraphs: Vec<Text>,
    /// 攻撃手口, 観測状況と攻撃経路, 対策.
    #[serde(default)]
    pub subsections: Vec<Subsection>,
    /// The test behind the choice (Poisson p-value): for the analyst's view, never printed.
    #[serde(default)]
    pub analysis: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Document {
    pub period: String,
    pub period_label: String,
    pub title: Text,
    pub introduction: Vec<Text>,
    /// 特に留意すべき事例: one line per notable technique.
    pub notable: Vec<Text>,
    pub sources: Vec<Source>,
    pub technique_chapters: Vec<TechniqueChapter>,
    pub groups: Vec<Group>,
    /// 2-1's overall introduction (before 2-1-1).
    #[serde(default)]
    pub points_intro: Vec<Text>,
    pub featured: Vec<FeaturedCase>,
    pub how_to_report: Vec<Text>,
    /// Where reports go (the operator's settings; placeholders until set).
    #[serde(default = "crate::scheme::default_contacts")]
    pub contacts: Vec<Contact>,
    /// The thanks after the contact points.
    #[serde(default = "closing")]
    pub closing: Vec<Text>,
    /// The scheme's legal basis (the METI 告示), as the seeds' last page.
    #[serde(default = "crate::scheme::legal_basis")]
    pub legal_basis: Vec<BasisBox>,
    pub statistics: Statistics,
    /// Values the analyst chose to publish unchanged (attackers' public indicators).
    pub kept_values: Vec<String>,
}

/// One confirmed case of the period with what may be published about it.
#[derive(Debug, Clone)]
pub struct CaseInput {
    pub record: CaseRecord,
    pub description: String,
    pub discovery: Option<String>,
    pub damage: Option<String>,
    pub cause: Option<String>,
    pub response: Option<String>,
    /// The virus form's own items (ウイルス名称, 検出数, 感染経路, 症状); None for the other form.
    pub virus: Option<todokede_domain::VirusDetails>,
    pub known: KnownIdentifiers,
    /// What the logs attached to the report showed (the stored analysis' evidence findings).
    pub evidence: Vec<EvidenceFact>,
}

#[derive(Debug, Clone)]
pub struct FeatureChoice {
    pub report: String,
    pub title: String,
}

/// The order groups appear in (the seeds' order), with their headings.
const GROUPS: &[(CauseCategory, &str)] = &[
    (CauseCategory::MissingAccessControl, "アクセス制限の不備を悪用された被害"),
    (CauseCategory::WeakCredentials, "ID・パスワードの管理不備を悪用された被害"),
    (CauseCategory::CredentialReuse, "リスト型攻撃による顧客アカウントの被害"),
    (CauseCategory::UnpatchedSoftware, "ソフトウェアの脆弱性を悪用された被害"),
    (CauseCategory::CustomCodeVulnerability, "独自プログラムの脆弱性を悪用された被害"),
    (CauseCategory::Phishing, "フィッシング攻撃による被害"),
    (CauseCategory::ThirdParty, "委託先を経由した被害"),
    (CauseCategory::Other, "その他の被害"),
    (CauseCategory::Unknown, "原因が特定できなかった被害"),
    (CauseCategory::NotApplicable, "未然に防止できた事例"),
];

/// Terms the reports write in English that the leaflet writes in Japanese, one term each
/// (表2-1 said 「webshell」 where 2-1-3 says 「ウェブシェル」).
const HOUSE_TERMS: &[(&str, &str)] = &[
    (r"(?i)(?-u:\b)web[ -]?shells?(?-u:\b)", "ウェブシェル"),
    (r"(?i)(?-u:\b)ransomware(?-u:\b)", "ランサムウェア"),
    (r"(?i)(?-u:\b)phishing(?-u:\b)", "フィッシング"),
    (r"(?i)(?-u:\b)backdoors?(?-u:\b)", "バックドア"),
    (r"(?i)(?-u:\b)brute[ -]force(?-u:\b)", "総当たり"),
];

/// A text from a report or an editor with the leaflet's one Japanese term for each of
/// [`HOUSE_TERMS`].
pub fn house_terms(text: &str) -> String {
    static RES: std::sync::OnceLock<Vec<(regex::Regex, &'static str)>> = std::sync::OnceLock::new();
    let res =
        RES.get_or_init(|| HOUSE_TERMS.iter().map(|(p, ja)| (regex::Regex::new(p).expect("valid"), *ja)).collect());
    let mut out = text.to_owned();
    for (re, ja) in res {
        if re.is_match(&out) {
            out = re.replace_all(&out, *ja).into_owned();
        }
    }
    out
}

/// A case's description and 届出内容 narratives, searched (never quoted) by the 着目点.
fn case_text(c: &CaseInput) -> String {
    [Some(&c.description), c.discovery.as_ref(), c.damage.as_ref(), c.cause.as_ref(), c.response.as_ref()]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join("\n")
}

fn cms_mentioned(text: &str) -> bool {
    ["CMS", "WordPress", "プラグイン", "Joomla", "Drupal", "EC-CUBE", "Movable Type"].iter().any(|w| text.contains(w))
}

fn group_heading(cause: CauseCategory, cases: &[&CaseInput]) -> String {
    if cause == CauseCategory::UnpatchedSoftware && cases.iter().all(|c| cms_mentioned(&c.description)) {
        return "CMSの脆弱性を悪用された被害".into();
    }
    GROUPS
        .iter()
        .find(|(c, _)| *c == cause)
        .map(|(_, h)| (*h).to_owned())
        .unwrap_or_else(|| cause.label_ja().to_owned())
}

/// ATT&CK techniques in the leaflet's Japanese (the knowledge base names them in English).
pub fn technique_ja(id: &str) -> Option<&'static str> {
    Some(match id {
        "T1078" => "正規アカウントの悪用",
        "T1078.001" => "初期設定のアカウントの悪用",
        "T1485" => "データの破壊",
        "T1486" => "データの暗号化（ランサムウェア）",
        "T1110" => "総当たり攻撃",
        "T1110.001" => "パスワードの推測（辞書攻撃）",
        "T1110.003" => "パスワードスプレー攻撃",
        "T1110.004" => "リスト型攻撃",
        "T1021" => "リモートサービスの悪用",
        "T1021.001" => "リモートデスクトップの悪用",
        "T1021.002" => "ファイル共有（SMB）の悪用",
        "T1021.004" => "SSH の悪用",
        "T1133" => "外部リモートサービスの悪用",
        "T1190" => "公開されたアプリケーションの脆弱性の悪用",
        "T1505.003" => "ウェブシェルの設置",
        "T1566" => "フィッシング",
        "T1598.003" => "フィッシングサイトへの誘導",
        "T1534" => "組織内でのフィッシング（ラテラルフィッシング）",
        "T1114.002" => "メールの窃取",
        "T1584.004" => "サーバの乗っ取り（踏み台化）",
        "T1213" => "データベース等からの情報収集",
        "T1199" => "取引先・委託先を経由した侵入",
        "T1070" => "痕跡の消去",
        _ => return None,
    })
}

/// Keys a surge can be about, with how the report names them.
fn surge_keys(r: &CaseRecord) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = r
        .damages
        .iter()
        .filter(|d| **d != DamageCategory::None)
        .map(|d| (format!("damage.{}", d.key()), d.label_ja().to_owned()))
        .collect();
    for t in &r.techniques {
        let name = technique_ja(t).unwrap_or_else(|| todokede_analyse::technique_name(t));
        keys.push((format!("technique.{t}"), if name.is_empty() { t.clone() } else { format!("{name}（{t}）") }));
    }
    if let Some(c) = r.causes.first() {
        keys.push((format!("cause.{}", c.key()), c.label_ja().to_owned()));
    }
    keys
}

/// Counts per incident of every damage, technique and primary cause in the period and the two
/// before (newest first).
pub fn period_series(records: &[CaseRecord], period: Period) -> Vec<Series> {
    let periods = [period, period.previous(), period.previous().previous()];
    let mut counts: BTreeMap<(String, String), [BTreeSet<&str>; 3]> = BTreeMap::new();
    for r in records {
        let Some(col) = periods.iter().position(|p| p.contains(r.received_on)) else { continue };
        for k in surge_keys(r) {
            counts.entry(k).or_default()[col].insert(&r.incident);
        }
    }
    counts
        .into_iter()
        .map(|((key, label), sets)| Series { key, label, counts: sets.iter().map(|s| s.len() as u64).collect() })
        .collect()
}

/// Significant rises of the period against the two before (see `todokede_analyse::trends`).
pub fn period_surges(records: &[CaseRecord], period: Period) -> Vec<Surge> {
    surges(&period_series(records, period))
}

/// What the analyst chose for a draft.
#[derive(Debug, Clone, Default)]
pub struct DraftChoices {
    /// Cases with a chapter of their own, in order.
    pub featured: Vec<FeatureChoice>,
    /// Trend keys (`damage.data_destruction_extortion`, `technique.T1110`) that get a 1-N
    /// chapter; empty: the most significant surge of the period, if any.
    pub notable: Vec<String>,
    /// Values published unchanged (attackers' public indicators).
    pub keep: BTreeSet<String>,
    /// The cases 表2-1 lists (tracking numbers); empty: every case when there are at most
    /// [`MAX_LISTED`], else the featured ones plus a sample spread evenly over the period.
    pub listed: Vec<String>,
}

/// 表2-1 lists the period's main cases, not every report: beyond this many the draft samples.
pub const MAX_LISTED: usize = 60;

/// Generate the draft for `period` from its confirmed cases (and the earlier periods' records,
/// for the trend).
pub fn generate(
    period: Period,
    cases: &[CaseInput],
    history: &[CaseRecord],
    choices: &DraftChoices,
    statistics: Statistics,
) -> Document {
    let mut statistics = statistics;
    let (featured, keep) = (&choices.featured, &choices.keep);
    let keep_lc: BTreeSet<String> = keep.iter().map(|k| k.trim().to_lowercase()).collect();
    let anon = |text: &str, known: &KnownIdentifiers| Text::from(anonymise(&house_terms(text), known, &keep_lc));
    let mut in_period: Vec<&CaseInput> = cases.iter().filter(|c| period.contains(c.record.received_on)).collect();
    in_period.sort_by(|a, b| (a.record.received_on, &a.record.report).cmp(&(b.record.received_on, &b.record.report)));
    let is_featured = |c: &CaseInput| featured.iter().any(|f| f.report == c.record.report);
    let listed: Vec<&CaseInput> = if !choices.listed.is_empty() {
        in_period.iter().copied().filter(|c| choices.listed.contains(&c.record.report) || is_featured(c)).collect()
    } else if in_period.len() > MAX_LISTED {
        let step = in_period.len() as f64 / (MAX_LISTED - featured.len().min(MAX_LISTED)) as f64;
        let sample: BTreeSet<usize> = (0..MAX_LISTED).map(|i| (i as f64 * step) as usize).collect();
        in_period
            .iter()
            .copied()
            .enumerate()
            .filter(|(i, c)| sample.contains(i) || is_featured(c))
            .map(|(_, c)| c)
            .collect()
    } else {
        in_period.clone()
    };

    // What 表2-1 tells of the period's reports (a row's month, group and reporter kind): the
    // tables must not give away what it does not, and what it gives away is not "<3".
    statistics.claims = listing_claims(history, &in_period, &listed);
    crate::audit::protect(&mut statistics);
    // 表2-1 lists every report of the period: its rows tell every one of the period's counts
    // (an editor counted 攻撃行為 from the rows' texts and 原因別 from 分類別), which no
    // suppression of the tables can keep. The period's column is printed whole and the note
    // says why; the earlier periods' columns stay protected.
    if !in_period.is_empty() && listed.len() == in_period.len() {
        let known: BTreeSet<&str> = history.iter().map(|r| r.report.as_str()).collect();
        let mut records: Vec<CaseRecord> = history.to_vec();
        records.extend(cases.iter().filter(|c| !known.contains(c.record.report.as_str())).map(|c| c.record.clone()));
        let whole = crate::stats::compute(&records, statistics.reports_received, period, 0);
        crate::stats::print_period_whole(&mut statistics, &whole);
    }

    // Chapters: 1 はじめに, 2 一覧, 3.. featured, then 届出のお願い.
    let featured_chapter: BTreeMap<&str, u32> =
        featured.iter().enumerate().map(|(i, f)| (f.report.as_str(), 3 + i as u32)).collect();

    // 表2-1, grouped by primary cause in the seeds' order.
    let mut by_cause: BTreeMap<usize, Vec<&CaseInput>> = BTreeMap::new();
    for c in &listed {
        let primary = c.record.causes.first().copied().unwrap_or(CauseCategory::Unknown);
        let order = GROUPS.iter().position(|(g, _)| *g == primary).unwrap_or(GROUPS.len());
        by_cause.entry(order).or_default().push(c);
    }
    let mut no = 0;
    let mut groups = vec![];
    for (order, members) in by_cause {
        let cause = GROUPS.get(order).map(|(c, _)| *c).unwrap_or(CauseCategory::Other);
        let rows: Vec<SummaryRow> = members
            .iter()
            .map(|c| {
                no += 1;
                SummaryRow {
                    no,
                    report: c.record.report.clone(),
                    received_on: todokede_domain::period::slash_date(c.record.received_on),
                    summary: anon(&c.description, &c.known),
                    featured_chapter: featured_chapter.get(c.record.report.as_str()).copied(),
                }
            })
            .collect();
        // 着目点 from the group's own cases (see `group_points`).
        let seen_before = history.iter().any(|r| r.received_on < period.bounds().0 && r.causes.first() == Some(&cause));
        let group_facts = GroupFacts {
            cause,
            members: members
                .iter()
                .zip(&rows)
                .map(|(c, r)| Member {
                    no: r.no,
                    causes: &c.record.causes,
                    damages: &c.record.damages,
                    techniques: &c.record.techniques,
                    text: case_text(c),
                    evidence: &c.evidence,
                })
                .collect(),
            seen_before,
            count_shown: !statistics.tables.iter().any(|t| {
                t.key == "category" && t.rows.iter().any(|r| r.key == cause.key() && r.cells[0].is_withheld())
            }),
        };
        let points = group_points(&group_facts);
        groups.push(Group {
            key: cause.key().to_owned(),
            heading: Text::fixed(group_heading(cause, &members)),
            rows,
            points,
        });
    }
    // Each group's 着目点 ends where its featured cases are told (the seeds' closing sentence).
    for g in &mut groups {
        let told: Vec<(u32, u32)> = g.rows.iter().filter_map(|r| r.featured_chapter.map(|c| (r.no, c))).collect();
        if told.is_empty() {
            continue;
        }
        let each =
            told.iter().map(|(no, ch)| format!("項番 {no} の事例の詳細を {ch} 章で")).collect::<Vec<_>>().join("、");
        let all = if told.len() > 1 { "それぞれ" } else { "" };
        g.points.push(Point {
            heading: None,
            body: Text::fixed(format!("{}について、{each}{all}紹介する。", g.heading.text)),
        });
    }
    let points_intro = points_intro(period, &listed, groups.len());
    let row_no = |report: &str| groups.iter().flat_map(|g| &g.rows).find(|r| r.report == report).map(|r| r.no);

    // The notable techniques: surges of the period.
    let mut all_records: Vec<CaseRecord> = history.to_vec();
    let known: BTreeSet<&str> = history.iter().map(|r| r.report.as_str()).collect();
    all_records.extend(cases.iter().filter(|c| !known.contains(c.record.report.as_str())).map(|c| c.record.clone()));
    let series = period_series(&all_records, period);
    let mut found = surges(&series);
    // The leaflet's 1-1 is a 手口 told by its damage (「データベースを消去し脅迫する手口」), not
    // an ATT&CK technique that nearly every intrusion has (T1078): damages first, then what is
    // new this period, then the strongest rise.
    let rank = |s: &Surge| {
        let kind = ["damage.", "technique.", "cause."].iter().position(|p| s.key.starts_with(p)).unwrap_or(3);
        (kind, s.previous.iter().any(|n| *n > 0))
    };
    found.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.p_value.total_cmp(&b.p_value)));
    let chosen: Vec<Surge> = if choices.notable.is_empty() {
        found.into_iter().take(1).collect()
    } else {
        choices
            .notable
            .iter()
            .filter_map(|k| {
                // Significant or not: the analyst wants it, with its counts.
                series.iter().find(|s| s.key == *k).and_then(assess)
            })
            .collect()
    };
    let columns = [period, period.previous(), period.previous().previous()];
    // A period before the system's first report has no data: not "0 件".
    let has_data: Vec<bool> =
        columns.iter().map(|p| all_records.iter().any(|r| r.received_on <= p.bounds().1)).collect();
    let technique_chapters: Vec<TechniqueChapter> = chosen
        .iter()
        .map(|s| {
            trend_chapter(s, &in_period, &all_records, &columns, &has_data, &row_no, &featured_chapter, &statistics)
        })
        .collect();
    // Featured cases: 届出内容 from the report, 着目点 from the case's own facts.
    let (mut featured, checks_of): (Vec<FeaturedCase>, Vec<Checks>) = featured
        .iter()
        .filter_map(|f| {
            let c = in_period.iter().find(|c| c.record.report == f.report)?;
            let mut sections = vec![];
            let virus = c.virus.as_ref().and_then(virus_text);
            for (heading, text) in [
                ("発見経緯", &c.discovery),
                ("検出されたウイルス", &virus),
                ("被害内容", &c.damage),
                ("被害原因", &c.cause),
                ("被害対応", &c.response),
            ] {
                if let Some(t) = text.as_deref().filter(|t| !t.trim().is_empty()) {
                    sections.push(Section { heading: heading.into(), text: anon(t, &c.known) });
                }
            }
            if sections.is_empty() {
                sections.push(Section { heading: "被害内容".into(), text: anon(&c.description, &c.known) });
            }
            let keys = surge_keys(&c.record);
            let facts = Facts {
                causes: &c.record.causes,
                damages: &c.record.damages,
                techniques: &c.record.techniques,
                text: case_text(c),
                chapters: technique_chapters
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| keys.iter().any(|(k, _)| *k == t.key) && fits_theme(&t.key, &c.record))
                    .map(|(i, t)| ChapterRef {
                        number: i + 1,
                        label: t.title.text.trim_start_matches('「').split('」').next().unwrap_or("").to_owned(),
                        key: t.key.clone(),
                    })
                    .collect(),
            };
            let chapter = featured_chapter[f.report.as_str()];
            let (points, checks) = featured_points(&facts);
            Some((
                FeaturedCase {
                    chapter,
                    report: f.report.clone(),
                    title: anon(&f.title, &c.known),
                    sections,
                    points,
                    figure: Some(case_overview(chapter, &c.record.techniques, &c.record.damages)),
                },
                checks,
            ))
        })
        .unzip();
    drop_repeats(&mut groups, &mut featured, &checks_of);
    // A trend's featured case is told on the trend's line, as the seed's 「データベースを消去し
    // 脅迫する手口：1-1章および3章で紹介する。」, not on a second line of its own.
    let trend_featured: Vec<Option<u32>> = chosen
        .iter()
        .map(|s| {
            in_period
                .iter()
                .filter(|c| surge_keys(&c.record).iter().any(|(k, _)| *k == s.key) && fits_theme(&s.key, &c.record))
                .find_map(|c| featured_chapter.get(c.record.report.as_str()).copied())
        })
        .collect();
    let notable: Vec<Text> = technique_chapters
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let name = t.title.text.trim_start_matches('「').split('」').next().unwrap_or("");
            Text::fixed(match trend_featured.get(i).copied().flatten() {
                Some(ch) => format!("{name}：1-{} 章および {ch} 章で紹介する。", i + 1),
                None => format!("{name}：1-{} 章で紹介する。", i + 1),
            })
        })
        .chain(
            featured
                .iter()
                .filter(|f| !trend_featured.contains(&Some(f.chapter)))
                .map(|f| Text::fixed(format!("{}：{} 章で紹介する。", f.title.text, f.chapter))),
        )
        .collect();

    Document {
        period: period.to_string(),
        period_label: period.label_ja(),
        title: Text::fixed("コンピュータウイルス・不正アクセスの届出事例"),
        introduction: vec![
            Text::fixed(
                "IPA（独立行政法人情報処理推進機構）では、経済産業省の告示に基づき、被害の状況把握や対策検討を目的とし、一般利用者の方や企業・組織の方から、広くコンピュータウイルス・不正アクセスに関する届出を受け付けている。",
            ),
            Text::fixed(format!(
                "本紙では、この制度のもと{}に受理した届出のうち、特筆すべき事例（未然に防止できたものを含む）を紹介する。届出される情報は断片的な場合があるため、原因・結果・考えうる対策等の全貌が特定できていない事例もあり、把握できた範囲での説明や、一部推定を含む場合がある。",
                period.label_ja()
            )),
            Text::fixed(format!(
                "今後の攻撃の増加の可能性を含め、特に留意すべき事例は次の {} 点である。",
                notable.len()
            )),
        ],
        notable,
        sources: vec![
            Source {
                title: "経済産業省「コンピュータウイルス対策基準」".into(),
                url: "https://www.meti.go.jp/policy/netsecurity/CvirusCMG.htm".into(),
            },
            Source {
                title: "経済産業省「コンピュータ不正アクセス対策基準」".into(),
                url: "https://www.meti.go.jp/policy/netsecurity/UAaccessCMG.htm".into(),
            },
            Source {
                title: "IPA「コンピュータウイルスに関する届出について」".into(),
                url: "https://www.ipa.go.jp/security/outline/todokede-j.html".into(),
            },
            Source {
                title: "IPA「不正アクセスに関する届出について」".into(),
                url: "https://www.ipa.go.jp/security/ciadr/index.html".into(),
            },
        ],
        technique_chapters,
        groups,
        points_intro,
        featured,
        how_to_report: vec![
            Text::fixed(
                "IPA では、コンピュータウイルス・不正アクセスの被害に関する届出を受け付けている。被害の有無にかかわらず、ウイルスを発見した場合や不正アクセスの痕跡を確認した場合は届け出ていただきたい。届出の情報は断片的でもよい。",
            ),
            Text::fixed(
                "届出はウェブフォーム、電子メール、または API で受け付け、受付時に受付番号を通知する。届出者の情報は公開せず、事例の紹介にあたっては届出者が特定されないよう表現を改める。",
            ),
        ],
        contacts: crate::scheme::default_contacts(),
        closing: closing(),
        legal_basis: crate::scheme::legal_basis(),
        statistics,
        kept_values: keep.iter().cloned().collect(),
    }
}

/// The appendix's cell behind a trend key (`damage.…`, `technique.…`, `cause.…`).
fn trend_cell(key: &str) -> (&'static str, &str) {
    let (kind, row) = key.split_once('.').unwrap_or(("", key));
    let table = match kind {
        "damage" => "damage",
        "technique" => "technique",
        "cause" => "category",
        _ => "",
    };
    (table, row)
}

/// Whether the appendix withholds the period's cell `table`/`row` ("<N" or "x").
fn withheld(stats: &Statistics, table: &str, row: &str) -> bool {
    stats.tables.iter().any(|t| t.key == table && t.rows.iter().any(|r| r.key == row && r.cells[0].is_withheld()))
}

/// A count of the period that the appendix's cell `table`/`row` (or a part of it) holds, as
/// the body prints it (with a leading space, 「被害が 5 件」): the number, or, when the appendix
/// withholds that cell, what its label says — 「3 件未満」 for "<3", 「3 件以上」 for "x" — so
/// the text gives away nothing the tables do not.
pub fn count_words(stats: &Statistics, table: &str, row: &str, n: u64) -> String {
    let cell = stats
        .tables
        .iter()
        .find(|t| t.key == table)
        .and_then(|t| t.rows.iter().find(|r| r.key == row))
        .and_then(|r| r.cells.first().copied());
    match cell {
        Some(crate::stats::Cell::Suppressed) => format!(" {} 件未満", stats.threshold),
        Some(crate::stats::Cell::Hidden) => format!(" {} 件以上", stats.threshold),
        _ => format!(" {n} 件"),
    }
}

/// A line without its 「（N 件）」 counts.
fn without_counts(line: &str) -> String {
    static COUNTS: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    COUNTS.get_or_init(|| regex::Regex::new(r"（\d+ 件）").expect("valid")).replace_all(line, "").into_owned()
}

/// What 表2-1 tells a reader of the period's reports: per month of 届出日, per group heading
/// (the primary causes it stands for) and per reporter kind, how many incidents at least (the
/// rows that are their incident's first report) — exactly, when it lists every report of the
/// period — and how many reports.
fn listing_claims(history: &[CaseRecord], in_period: &[&CaseInput], listed: &[&CaseInput]) -> Vec<crate::audit::Claim> {
    use crate::audit::Claim;
    let mut first: BTreeMap<&str, (time::Date, &str)> = BTreeMap::new();
    for r in history.iter().chain(in_period.iter().map(|c| &c.record)) {
        let e = first.entry(r.incident.as_str()).or_insert((r.received_on, r.report.as_str()));
        if (r.received_on, r.report.as_str()) < *e {
            *e = (r.received_on, r.report.as_str());
        }
    }
    let complete = listed.len() == in_period.len();
    let group_of = |c: CauseCategory| {
        GROUPS
            .get(GROUPS.iter().position(|(g, _)| *g == c).unwrap_or(GROUPS.len()))
            .map_or(CauseCategory::Other, |g| g.0)
    };
    let mut counts: BTreeMap<(&'static str, Vec<String>), u64> = BTreeMap::new();
    let mut incidents = 0;
    for r in listed.iter().map(|c| &c.record) {
        if first.get(r.incident.as_str()).map(|(_, rep)| *rep) != Some(r.report.as_str()) {
            continue;
        }
        incidents += 1;
        let d = r.received_on;
        *counts.entry(("month", vec![format!("{}-{:02}", d.year(), d.month() as u8)])).or_default() += 1;
        let group = group_of(r.causes.first().copied().unwrap_or(CauseCategory::Unknown));
        let rows = CauseCategory::ALL.iter().filter(|c| group_of(**c) == group).map(|c| c.key().to_owned()).collect();
        *counts.entry(("category", rows)).or_default() += 1;
        let kind = r.reporter_kind.map_or("unknown", |k| k.key());
        *counts.entry(("reporter_kind", vec![kind.to_owned()])).or_default() += 1;
    }
    let mut out: Vec<Claim> = counts
        .into_iter()
        .map(|((table, rows), value)| Claim {
            table: table.into(),
            rows,
            exact: complete,
            value,
            source: "表2-1".into(),
        })
        .collect();
    out.push(Claim {
        table: "summary".into(),
        rows: vec!["reports".into()],
        exact: complete,
        value: listed.len() as u64,
        source: "表2-1".into(),
    });
    out.push(Claim {
        table: "summary".into(),
        rows: vec!["incidents".into()],
        exact: complete,
        value: incidents,
        source: "表2-1".into(),
    });
    out
}

/// The sentences of a paragraph, each with its 。 (a text without one is one sentence).
fn sentences(paragraph: &str) -> Vec<&str> {
    paragraph.split_inclusive('。').map(str::trim).filter(|s| !s.is_empty()).collect()
}

/// The virus form's items as one paragraph of 届出内容 (those the reporter gave).
fn virus_text(v: &todokede_domain::VirusDetails) -> Option<String> {
    let mut parts = vec![];
    if let Some(n) = v.virus_name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        parts.push(format!("ウイルス名称：{n}"));
    }
    if let Some(n) = v.detection_count {
        parts.push(format!("検出数：{n} 件"));
    }
    if !v.infection_vectors.is_empty() {
        let routes: Vec<&str> = v.infection_vectors.iter().map(|r| r.label_ja()).collect();
        parts.push(format!("推定される感染経路：{}", routes.join("、")));
    }
    if let Some(s) = v.symptoms.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        parts.push(format!("症状：{}", s.trim_end_matches('。')));
    }
    (!parts.is_empty()).then(|| parts.join("。") + "。")
}

/// No sentence of 着目点 is printed in two chapters (2-1-N, N-2): a sentence an earlier chapter
/// already has is left out, with one pointer to that chapter (「3 章の事例も参照」, as the seeds
/// refer back: 「3 章の事例と同様に」); a point left with nothing of its own is left out. What is
/// kept still reads as prose: a connective (また、なお、…) whose sentence before it was left out
/// goes with it, and a featured case's checks are written last ([`checks_point`]) from those no
/// earlier chapter asked for, referring to the chapters that did.
fn drop_repeats(groups: &mut [Group], featured: &mut [FeaturedCase], checks: &[Checks]) {
    let mut said: BTreeMap<String, String> = BTreeMap::new();
    // Where a chapter is referred to: 「2-1-1」 for a group, 「3 章」 for a featured case.
    let visit = |said: &mut BTreeMap<String, String>, points: &mut Vec<Point>, here: String| {
        points.retain_mut(|p| {
            let mut earlier: Option<String> = None;
            let mut paragraphs: Vec<String> = vec![];
            // Whether the sentence before the next one was left out (a point starts afresh).
            let mut after_gap = false;
            for para in crate::render::paragraphs(&p.body.text) {
                let mut kept = String::new();
                for s in sentences(para) {
                    // Word for word, or nearly (one word apart: 「データベースの / SSH ログインの
                    // パスワードも、OS 等のアカウントと同様に…」).
                    let earlier_one = said.get(s).filter(|w| **w != here).cloned().or_else(|| {
                        said.iter()
                            .find(|(k, w)| **w != here && !k.starts_with('\u{0}') && nearly_the_same(k, s))
                            .map(|(_, w)| w.clone())
                    });
                    match earlier_one.as_ref() {
                        Some(w) if *w != here => {
                            earlier.get_or_insert_with(|| w.clone());
                            after_gap = true;
                        }
                        _ => {
                            said.insert(s.to_owned(), here.clone());
                            kept.push_str(if after_gap { without_connective(s) } else { s });
                            after_gap = false;
                        }
                    }
                }
                if !kept.is_empty() {
                    paragraphs.push(kept);
                }
            }
            let Some(w) = earlier else { return true };
            if paragraphs.is_empty() {
                return false;
            }
            // One pointer from a chapter to an earlier one (「3 章の事例も参照」 twice reads as
            // boilerplate): the first point that left sentences out for it says so.
            let referred = format!("\u{0}referred {here} → {w}");
            if let std::collections::btree_map::Entry::Vacant(e) = said.entry(referred) {
                e.insert(here.clone());
                let subject = p.heading.as_ref().map(|h| h.text.clone()).unwrap_or_else(|| "この点".into());
                paragraphs.push(format!("{subject}については、{}も参照していただきたい。", chapter_words(&w)));
            }
            p.body.text = paragraphs.join("\n\n");
            true
        });
    };
    for (i, g) in groups.iter_mut().enumerate() {
        visit(&mut said, &mut g.points, format!("2-1-{}", i + 1));
    }
    for (f, c) in featured.iter_mut().zip(checks) {
        let here = format!("{}-2", f.chapter);
        // The checks will refer to the chapters that asked for them: that is the chapter's one
        // reference to each, and its points add no pointer of their own to them.
        for item in &c.items {
            if let Some(w) = said.get(*item).filter(|w| **w != here).cloned() {
                said.insert(format!("\u{0}referred {here} → {w}"), here.clone());
            }
        }
        visit(&mut said, &mut f.points, here.clone());
        // Checks are remembered as themselves (their sentences are composed per case).
        let mut fresh = vec![];
        let mut earlier: Vec<String> = vec![];
        for item in &c.items {
            match said.get(*item) {
                Some(w) if *w != here => {
                    let w = chapter_words(w).trim_end_matches("の事例").trim_end_matches("の着目点").to_owned();
                    if !earlier.contains(&w) {
                        earlier.push(w);
                    }
                }
                _ => {
                    said.insert((*item).to_owned(), here.clone());
                    fresh.push(*item);
                }
            }
        }
        f.points.extend(checks_point(&c.lead, &fresh, &earlier));
    }
}

/// Whether two sentences of 着目点 say nearly the same: both of some length, and their character
/// bigrams (punctuation and spaces left out) overlap by a Dice coefficient of 0.7 or more.
pub fn nearly_the_same(a: &str, b: &str) -> bool {
    fn bigrams(s: &str) -> BTreeSet<(char, char)> {
        let cs: Vec<char> = s.chars().filter(|c| !c.is_whitespace() && !"、。（）「」".contains(*c)).collect();
        cs.windows(2).map(|w| (w[0], w[1])).collect()
    }
    if a.chars().count() < 25 || b.chars().count() < 25 {
        return false;
    }
    let (x, y) = (bigrams(a), bigrams(b));
    2.0 * x.intersection(&y).count() as f64 >= 0.7 * (x.len() + y.len()) as f64
}

/// A chapter as the text refers to it: 「3 章の事例」 for a featured case's 3-2, 「2-1-1 の着目点」.
fn chapter_words(chapter: &str) -> String {
    match chapter.strip_suffix("-2").filter(|n| n.parse::<u32>().is_ok()) {
        Some(n) => format!("{n} 章の事例"),
        None => format!("{chapter} の着目点"),
    }
}

/// Connectives that tie a sentence to the one before it: left out when that one was.
const CONNECTIVES: &[&str] = &[
    "また、",
    "なお、",
    "さらに、",
    "一方で、",
    "一方、",
    "すなわち、",
    "あわせて、",
    "そのため、",
    "そして、",
    "このほか、",
];

fn without_connective(sentence: &str) -> &str {
    CONNECTIVES.iter().find_map(|c| sentence.strip_prefix(c)).unwrap_or(sentence)
}

/// 届出のお願い's last words, as the seeds.
fn closing() -> Vec<Text> {
    vec![
        Text::fixed("最後に、届出にご協力をいただいている皆様へ、ここに改めて感謝申し上げます。"),
        Text::fixed(
            "今後とも、日本全体での情報セキュリティの取り組みの促進へ繋げられるよう、引き続き本届出制度へのご協力をお願いいたします。",
        ),
    ]
}

/// Causes that the well-known basic measures address (access restriction, passwords, patches).
const BASIC: &[(CauseCategory, &str)] = &[
    (CauseCategory::MissingAccessControl, "サーバのアクセス制限の状況確認"),
    (CauseCategory::WeakCredentials, "推測されにくいパスワードの設定"),
    (CauseCategory::UnpatchedSoftware, "各種修正プログラムの適用"),
    (CauseCategory::CustomCodeVulnerability, "ウェブアプリケーションの脆弱性点検"),
];

/// 「A、B、C や D」: one や before the last item, as the seeds list measures (「A や B など」),
/// not 「A や B や C や D」.
fn japanese_list(items: &[&str]) -> String {
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{}や{last}", rest.join("、")),
    }
}

/// 2-1's overall introduction: what the listed cases have in common, in the seeds' voice, with
/// the measures their own causes call for, then the announcement of the groups.
fn points_intro(period: Period, listed: &[&CaseInput], groups: usize) -> Vec<Text> {
    let n = listed.len();
    let basic = listed.iter().filter(|c| c.record.causes.iter().any(|x| BASIC.iter().any(|(b, _)| b == x))).count();
    let mut out = vec![];
    let label = period.label_ja();
    let whole = format!("{}で届出のあった被害について全体を通して見ると、", label.split('（').next().unwrap_or(&label));
    if n > 0 && basic * 2 > n {
        out.push(Text::fixed(format!(
            "{whole}表 2-1 に示した {n} 件のうち {basic} 件は、一般的によく知られたセキュリティ施策を実施していれば防げた可能性のあるものと見受けられ、基本的なセキュリティ上の取り組みを着実に実施することの大切さがうかがえる。"
        )));
        let measures: Vec<&str> =
            BASIC.iter().filter(|(b, _)| listed.iter().any(|c| c.record.causes.contains(b))).map(|(_, m)| *m).collect();
        out.push(Text::fixed(format!(
            "情報システムの運用や管理に携わる方々には、これらの被害を他人事として捉えたり、情報セキュリティを過度に難しいことと捉えて手をこまねいたりせず、まずは、{}など、基本的なセキュリティ上の取り組みを着実に実践していただきたい。",
            japanese_list(&measures)
        )));
    } else if n > 0 {
        out.push(Text::fixed(format!(
            "{whole}被害の原因はさまざまであり、表 2-1 に示した {n} 件のうち、アクセス制限やパスワード、修正プログラムの適用といった基本的な対策で防げた可能性のあるものは {basic} 件であった。個々の手口に応じた対策を講じていただきたい。"
        )));
    }
    if groups > 1 {
        out.push(Text::fixed(format!(
            "今期の届出は、表 2-1 に示した通り、大きく {groups} 種類の被害に分類できた。続いて、これらについて補足する。"
        )));
    }
    out
}

/// "7 月～12 月", as the seeds write the period in running text.
fn months_ja(p: Period) -> String {
    let m = p.months();
    match (m.first(), m.last()) {
        (Some(a), Some(b)) if a.0 == b.0 => format!("{} 月～{} 月", a.1, b.1),
        (Some(a), Some(b)) => format!("{} 年 {} 月～{} 年 {} 月", a.0, a.1, b.0, b.1),
        _ => p.label_ja(),
    }
}

/// How the leaflet names a trend (the seeds' 「データベースを消去し脅迫する手口」, not the
/// statistics label 「データ消去・脅迫」), and the damage as a reporter would tell it, for the
/// chapter's first sentence; other keys keep their statistics label.
pub fn trend_name(key: &str, label: &str) -> (String, Option<&'static str>) {
    let (name, what) = match key {
        "damage.data_destruction_extortion" => (
            "データベースを消去し脅迫する手口",
            "何者かによりデータベースが消去され、身代金を要求する脅迫文が残されていた",
        ),
        "damage.ransomware" => {
            ("ランサムウェアによる手口", "ファイルが暗号化され、復号と引き換えに金銭を要求する脅迫文が残されていた")
        }
        "damage.stepping_stone" => (
            "サーバを乗っ取り踏み台にする手口",
            "不正にログインされたサーバが、他の組織への攻撃やメールの送信に悪用された",
        ),
        "damage.account_takeover" => {
            ("アカウントへの不正ログイン", "利用者になりすまして、アカウントへ不正にログインされた")
        }
        // A technique by its Japanese name, without the ATT&CK id (「正規アカウントの悪用」).
        _ => {
            let ja = key.strip_prefix("technique.").and_then(technique_ja);
            return (ja.map(str::to_owned).unwrap_or_else(|| label.to_owned()), None);
        }
    };
    (name.to_owned(), Some(what))
}

/// A case's text with what its attached logs showed, as the countermeasure knowledge's
/// `requires:` reads it.
fn case_text_and_evidence(c: &CaseInput) -> String {
    let mut text = case_text(c);
    for f in &c.evidence {
        text.push('\n');
        text.push_str(&f.kind);
    }
    text
}

/// 1-N-3 対策: the measures the chapter's cases call for — those of their own causes and
/// damages, each kept only where a case names what it is tied to (`requires:` in the
/// knowledge). Returned with the cases' triggers, for the tests that hold it to that.
pub fn trend_measures_of(cases: &[&CaseInput]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = vec![];
    for c in cases {
        let fired: Vec<String> = c
            .record
            .causes
            .iter()
            .map(|x| format!("cause.{}", x.key()))
            .chain(c.record.damages.iter().map(|d| format!("damage.{}", d.key())))
            .collect();
        let text = case_text_and_evidence(c);
        for cm in todokede_analyse::classify::countermeasures_fired_by(&fired, Some(&text)) {
            match out.iter_mut().find(|(x, _)| x == cm.ja) {
                Some((_, by)) => by.extend(cm.triggered_by.into_iter().filter(|t| !by.contains(t)).collect::<Vec<_>>()),
                None => out.push((cm.ja.to_owned(), cm.triggered_by)),
            }
        }
    }
    out
}

fn trend_measures(cases: &[&CaseInput]) -> Vec<String> {
    trend_measures_of(cases).into_iter().map(|(ja, _)| ja).collect()
}

/// Whether a case filed under a trend's key fits the 手口 the chapter describes (see
/// [`trend_name`]): 「データベースを消去し脅迫する」 needs the data destroyed (ATT&CK T1485),
/// 「ランサムウェア」 the data encrypted (T1486). A case whose techniques were not recorded is
/// taken as filed; every other key fits as filed.
pub fn fits_theme(key: &str, r: &CaseRecord) -> bool {
    let needs = match key {
        "damage.data_destruction_extortion" => "T1485",
        "damage.ransomware" => "T1486",
        _ => return true,
    };
    r.techniques.is_empty() || r.techniques.iter().any(|t| t == needs || t.starts_with(&format!("{needs}.")))
}

/// The cases filed under the trend's damage that the chapter does not count, named apart:
/// 「このほか、脅迫文が残されていたものの、データの消去は確認されなかった届出が 1 件（項番 6）あった。」
fn aside_sentence(key: &str, aside: &[&CaseInput], row_no: &dyn Fn(&str) -> Option<u32>) -> String {
    if aside.is_empty() {
        return String::new();
    }
    let what = match key {
        "damage.data_destruction_extortion" => "脅迫文が残されていたものの、データの消去は確認されなかった届出",
        "damage.ransomware" => "金銭を要求されたものの、ファイルの暗号化は確認されなかった届出",
        _ => "同種の被害として届け出られたものの、この手口には当たらない届出",
    };
    let mut rows: Vec<u32> = aside.iter().filter_map(|c| row_no(&c.record.report)).collect();
    rows.sort_unstable();
    let nos = if rows.is_empty() {
        String::new()
    } else {
        format!("（項番 {}）", rows.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", "))
    };
    let n = aside.iter().map(|c| c.record.incident.as_str()).collect::<BTreeSet<_>>().len();
    format!("このほか、{what}が {n} 件{nos}あった（本章の件数には含めていない）。")
}

/// What the leaflet says about the technique after its steps (the seeds' 1-1-1).
fn method_note(key: &str) -> Option<&'static str> {
    Some(match key {
        "damage.data_destruction_extortion" => {
            "これは、ランサムウェアによる脅迫と同等の攻撃手口である。ランサムウェアの場合、感染させられたパソコンやサーバ内のファイルが暗号化され、ファイルの復号と引き換えに身代金が要求されることになる。この手口では、アクセス制御が不十分なデータベースサーバや、データベースへアクセス可能なウェブアプリケーションが狙われている。"
        }
        "damage.stepping_stone" => {
            "乗っ取られたサーバは、攻撃者にとって身元を隠したまま次の攻撃を行うための踏み台となる。被害を受けた組織が、意図せず他の組織への攻撃に加担してしまうことになる。"
        }
        _ => return None,
    })
}

/// Steps of the attack, where the knowledge has them for the trend's key (the seeds' 1-1-1).
fn method_steps(key: &str) -> &'static [&'static str] {
    match key {
        "damage.data_destruction_extortion" => &[
            "攻撃者が何らかの方法で企業等のデータベース等へ不正アクセスする。",
            "データを窃取した上で、当該データを消去する（ただし、攻撃者が脅迫文でデータを持っていると主張しているのみであり、実際に窃取が成功しているか否かは定かではない）。",
            "データが保存されていた場所に、データの復旧等のために金銭を支払うよう要求する脅迫文を残す。",
        ],
        "damage.ransomware" => &[
            "攻撃者が何らかの方法で組織のネットワークへ侵入する。",
            "端末やサーバ上のファイルを暗号化し、復号と引き換えに金銭を支払うよう要求する。",
        ],
        "damage.stepping_stone" => &[
            "攻撃者が外部からアクセス可能なサーバ等へ不正にログインする。",
            "乗っ取ったサーバから、他の組織への攻撃やメールの送信を行う。",
        ],
        "damage.account_takeover" => &[
            "攻撃者が何らかの方法で入手した ID・パスワードを用いて、利用者のアカウントへログインする。",
            "アカウントに登録された情報の閲覧や、不正な購入・送金等を行う。",
        ],
        _ => &[],
    }
}

/// 1-N: a trend of the period in IPA's voice — its count against the periods the system has
/// data for (no p-value: that is the analyst's), 攻撃手口 from the cases' techniques,
/// 観測状況と攻撃経路 from their causes and linked reports, 対策 from their causes' knowledge.
fn trend_chapter(
    s: &Surge,
    in_period: &[&CaseInput],
    records: &[CaseRecord],
    columns: &[Period],
    has_data: &[bool],
    row_no: &dyn Fn(&str) -> Option<u32>,
    featured_chapter: &BTreeMap<&str, u32>,
    stats: &Statistics,
) -> TechniqueChapter {
    let keyed = |r: &CaseRecord| surge_keys(r).iter().any(|(k, _)| *k == s.key);
    // The trend's own cell in the appendix: a count it withholds is not printed here either.
    let (table, row) = trend_cell(&s.key);
    let key_withheld = withheld(stats, table, row);
    // The chapter tells of the cases that fit the 手口 it describes; a case filed under the
    // damage that does not (a ransom note with nothing deleted) is named apart, so the
    // chapter's count is the count of what it describes and, with them, the damage table's.
    let (cases, aside): (Vec<&CaseInput>, Vec<&CaseInput>) =
        in_period.iter().copied().filter(|c| keyed(&c.record)).partition(|c| fits_theme(&s.key, &c.record));
    // Per incident, as every count of the report; each column of the periods compared.
    let theme_counts: Vec<u64> = columns
        .iter()
        .map(|p| {
            records
                .iter()
                .filter(|r| p.contains(r.received_on) && keyed(r) && fits_theme(&s.key, r))
                .map(|r| r.incident.as_str())
                .collect::<BTreeSet<_>>()
                .len() as u64
        })
        .collect();
    let current = theme_counts.first().copied().unwrap_or(s.current);
    let mut rows: Vec<u32> = cases.iter().filter_map(|c| row_no(&c.record.report)).collect();
    // 表2-1's order (the seeds' 「項番 1, 2, 5, 8」), not the order the cases were received in.
    rows.sort_unstable();
    let rows_text = rows.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ");
    let counts: Vec<(String, Option<u64>)> = columns
        .iter()
        .map(|p| p.label_ja())
        .zip(theme_counts.iter().copied())
        .enumerate()
        .map(|(i, (l, n))| (l, has_data.get(i).copied().unwrap_or(false).then_some(n)))
        .collect();
    let names = ["前期", "前々期"];
    let known: Vec<(&str, u64)> =
        counts.iter().skip(1).zip(names).filter_map(|((_, n), name)| n.map(|n| (name, n))).collect();
    // The previous periods' counts as their columns print them.
    let prev_withheld = |i: usize| {
        stats.tables.iter().any(|t| {
            t.key == table && t.rows.iter().any(|r| r.key == row && r.cells.get(i).is_some_and(|c| c.is_withheld()))
        })
    };
    let history = if known.is_empty() {
        "。これまでに同種の被害の届出はなく、今期初めて届出があった".to_owned()
    } else if known.iter().all(|(_, n)| *n == 0) {
        let which = known.iter().map(|(p, _)| *p).collect::<Vec<_>>().join("、");
        let before = if known.len() < names.len() { "。それ以前の届出の記録はない" } else { "" };
        format!("（{which}は 0 件）{before}")
    } else {
        let each = known
            .iter()
            .enumerate()
            .map(|(i, (p, n))| if prev_withheld(i + 1) { format!("{p}は少数") } else { format!("{p}は {n} 件") })
            .collect::<Vec<_>>()
            .join("、");
        let mean = known.iter().map(|(_, n)| *n as f64).sum::<f64>() / known.len() as f64;
        let any_withheld = key_withheld || (1..=known.len()).any(prev_withheld);
        let rise = if any_withheld {
            // An average of withheld counts would give them away.
            String::new()
        } else if current as f64 >= 2.0 * mean {
            format!("。過去 {} 期の平均（{:.1} 件）を大きく上回っている", known.len(), mean)
        } else {
            String::new()
        };
        format!("（{each}）{rise}")
    };
    let featured_here: Vec<u32> =
        cases.iter().filter_map(|c| featured_chapter.get(c.record.report.as_str()).copied()).collect();
    let (name, what) = trend_name(&s.key, &s.label);
    let mut intro = match what {
        Some(what) => format!(
            "今期（{}）、「{what}」という被害が{}、届出窓口へ報告された{history}。本章では、この攻撃手口について説明する。",
            months_ja(columns[0]),
            count_words(stats, table, row, current)
        ),
        None => format!(
            "今期（{}）、「{name}」に該当する被害が{}、届出窓口へ報告された{history}。本章では、この攻撃手口について説明する。",
            months_ja(columns[0]),
            count_words(stats, table, row, current)
        ),
    };
    if let Some(ch) = featured_here.first() {
        intro.push_str(&format!("なお、代表的な 1 件について、事例を {ch} 章で紹介する。"));
    }
    let mut technique_counts: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    let mut cause_counts: BTreeMap<CauseCategory, BTreeSet<&str>> = BTreeMap::new();
    let mut incidents: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &cases {
        for t in &c.record.techniques {
            technique_counts.entry(t.clone()).or_default().insert(&c.record.incident);
        }
        if let Some(p) = c.record.causes.first() {
            cause_counts.entry(*p).or_default().insert(&c.record.incident);
        }
        *incidents.entry(&c.record.incident).or_default() += 1;
    }
    let mut techniques: Vec<(String, usize)> = technique_counts.into_iter().map(|(t, v)| (t, v.len())).collect();
    techniques.sort_by_key(|(t, n)| (std::cmp::Reverse(*n), t.clone()));
    // The attack's steps where the knowledge has them (the seeds' 1-1-1: no ATT&CK ids, no
    // counts per technique — those are the analyst's statistics); else the techniques the
    // leaflet can name in Japanese, with their counts.
    let steps = method_steps(&s.key);
    let mut method: Vec<Text> = steps.iter().map(|t| Text::fixed(*t)).collect();
    if steps.is_empty() {
        method.extend(
            techniques
                .iter()
                .filter_map(|(t, n)| {
                    technique_ja(t).map(|ja| {
                        Text::fixed(format!("{ja}：{}", count_words(stats, "technique", t, *n as u64).trim_start()))
                    })
                })
                .take(6),
        );
    }
    let method_intro = if steps.is_empty() {
        "今期の該当事例では、次のような手口が確認された。"
    } else {
        "この攻撃は次のような手口で行われる。"
    };
    let method_more: Vec<Block> =
        method_note(&s.key).map(|t| Block { paragraphs: vec![Text::fixed(t)], bullets: vec![] }).into_iter().collect();
    let mut causes: Vec<(CauseCategory, usize)> = cause_counts.into_iter().map(|(c, v)| (c, v.len())).collect();
    causes.sort_by_key(|(c, n)| (std::cmp::Reverse(*n), c.key()));
    // 観測状況と攻撃経路: the routes the reports name, by month (the seeds' 1-1-2); what the
    // logs attached to the reports showed; then the causes behind them.
    let routes: Vec<(time::Date, Option<&'static str>)> = cases
        .iter()
        .map(|c| {
            let text = [Some(&c.description), c.cause.as_ref(), c.damage.as_ref(), c.discovery.as_ref()]
                .into_iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join("\n");
            (c.record.received_on, route(&text, &c.record.techniques))
        })
        .collect();
    let mut observed: Vec<Block> = vec![];
    if routes.iter().any(|(_, r)| r.is_some()) {
        observed.push(Block {
            paragraphs: vec![Text::fixed(if key_withheld {
                "IPA へ届出のあった事例については、次の攻撃経路（一部推定）を確認している。".to_owned()
            } else {
                format!("IPA へ届出のあった {} 件については、次の攻撃経路（一部推定）を確認している。", cases.len())
            })],
            // A route's count is at least the trend's: not printed when the trend's is withheld.
            bullets: route_lines(&routes)
                .into_iter()
                .map(|t| if key_withheld { Text::fixed(without_counts(&t.text)) } else { t })
                .collect(),
        });
    }
    let evidence: Vec<(Option<u32>, &[EvidenceFact])> =
        cases.iter().map(|c| (row_no(&c.record.report), c.evidence.as_slice())).collect();
    let logs = evidence_lines(&evidence);
    if !logs.is_empty() {
        let with_logs = cases.iter().filter(|c| !c.evidence.is_empty()).count();
        observed.push(Block {
            paragraphs: vec![Text::fixed(format!(
                "また、届出に添付されたログ（{with_logs} 件の届出）を分析したところ、次の状況が確認された（件数はログに記録されていたもの）。"
            ))],
            bullets: logs,
        });
    }
    let mut closing = vec![];
    if !causes.is_empty() {
        closing.push(Text::fixed(format!(
            "今期の該当事例の被害原因（推定を含む）は、{}であった。",
            causes
                .iter()
                .map(|(c, n)| format!("{}が{}", c.label_ja(), count_words(stats, "category", c.key(), *n as u64)))
                .collect::<Vec<_>>()
                .join("、"),
        )));
    }
    let linked = incidents.values().filter(|n| **n > 1).count();
    if linked > 0 {
        closing.push(Text::fixed(format!(
            "このうち {linked} 件のインシデントについては、複数の届出が同一の被害に関するものであった（1 件として数えている）。"
        )));
    }
    if causes.iter().any(|(c, _)| matches!(c, CauseCategory::MissingAccessControl | CauseCategory::WeakCredentials)) {
        closing.push(Text::fixed("アクセス制御が不十分なシステムが今後も狙われる可能性があり、注意が必要である。"));
    }
    if !closing.is_empty() {
        observed.push(Block { paragraphs: closing, bullets: vec![] });
    }
    let mut observed = observed.into_iter();
    let first = observed.next().unwrap_or_default();
    let observed_section = Subsection {
        heading: "観測状況と攻撃経路".into(),
        paragraphs: first.paragraphs,
        bullets: first.bullets,
        more: observed.collect(),
    };
    // 対策 from the chapter's own cases: their causes and damages, and a measure tied to a tool
    // or product (a VPN appliance, phpMyAdmin) only where a case names it.
    let cms = trend_measures(&cases);
    let cause_words = causes.iter().map(|(c, _)| format!("「{}」", c.label_ja())).collect::<Vec<_>>().join("や");
    TechniqueChapter {
        key: s.key.clone(),
        title: Text::fixed(format!("「{name}」について")),
        counts,
        paragraphs: vec![
            Text::fixed(intro),
            Text::fixed(if rows.is_empty() {
                "表 2-1 には該当する事例を掲載していない。".to_owned()
            } else {
                format!("表 2-1 の項番 {rows_text} が該当する。{}", aside_sentence(&s.key, &aside, row_no))
            }),
        ],
        subsections: vec![
            Subsection {
                heading: "攻撃手口".into(),
                paragraphs: vec![Text::fixed(method_intro)],
                bullets: method,
                more: method_more,
            },
            observed_section,
            Subsection {
                heading: "対策".into(),
                paragraphs: vec![Text::fixed(if cause_words.is_empty() {
                    "一般的な不正アクセス対策を確実に実施していただきたい。".to_owned()
                } else {
                    format!(
                        "確認できている限り、この攻撃は特殊な技術によるものではなく、{cause_words}を突くものであった。このため、次のような一般的な対策を確実に実施していただきたい。"
                    )
                })],
                bullets: cms.into_iter().take(5).map(Text::fixed).collect(),
                more: vec![],
            },
        ],
        analysis: format!(
            "ポアソン検定 p = {:.4}（基準 {:.1} 件/期、過去の件数 {}）",
            s.p_value,
            s.baseline,
            s.previous.iter().map(|n| n.to_string()).collect::<Vec<_>>().join("、")
        ),
    }
}

impl Document {
    /// Every editable text with a stable path (`groups.0.rows.3.summary`), in document order.
    pub fn texts_mut(&mut self) -> Vec<(String, &mut Text)> {
        let mut out: Vec<(String, &mut Text)> = vec![("title".into(), &mut self.title)];
        out.extend(self.introduction.iter_mut().enumerate().map(|(i, t)| (format!("introduction.{i}"), t)));
        out.extend(self.notable.iter_mut().enumerate().map(|(i, t)| (format!("notable.{i}"), t)));
        for (c, ch) in self.technique_chapters.iter_mut().enumerate() {
            out.push((format!("technique_chapters.{c}.title"), &mut ch.title));
            out.extend(
                ch.paragraphs
                    .iter_mut()
                    .enumerate()
                    .map(|(i, t)| (format!("technique_chapters.{c}.paragraphs.{i}"), t)),
            );
            for (n, sub) in ch.subsections.iter_mut().enumerate() {
                out.extend(
                    sub.paragraphs
                        .iter_mut()
                        .enumerate()
                        .map(|(i, t)| (format!("technique_chapters.{c}.subsections.{n}.paragraphs.{i}"), t)),
                );
                out.extend(
                    sub.bullets
                        .iter_mut()
                        .enumerate()
                        .map(|(i, t)| (format!("technique_chapters.{c}.subsections.{n}.bullets.{i}"), t)),
                );
                for (b, block) in sub.more.iter_mut().enumerate() {
                    out.extend(
                        block.paragraphs.iter_mut().enumerate().map(|(i, t)| {
                            (format!("technique_chapters.{c}.subsections.{n}.more.{b}.paragraphs.{i}"), t)
                        }),
                    );
                    out.extend(
                        block
                            .bullets
                            .iter_mut()
                            .enumerate()
                            .map(|(i, t)| (format!("technique_chapters.{c}.subsections.{n}.more.{b}.bullets.{i}"), t)),
                    );
                }
            }
        }
        for (g, group) in self.groups.iter_mut().enumerate() {
            out.push((format!("groups.{g}.heading"), &mut group.heading));
            out.extend(
                group
                    .rows
                    .iter_mut()
                    .enumerate()
                    .map(|(i, r)| (format!("groups.{g}.rows.{i}.summary"), &mut r.summary)),
            );
            for (i, p) in group.points.iter_mut().enumerate() {
                if let Some(h) = p.heading.as_mut() {
                    out.push((format!("groups.{g}.points.{i}.heading"), h));
                }
                out.push((format!("groups.{g}.points.{i}"), &mut p.body));
            }
        }
        out.extend(self.points_intro.iter_mut().enumerate().map(|(i, t)| (format!("points_intro.{i}"), t)));
        for (f, case) in self.featured.iter_mut().enumerate() {
            out.push((format!("featured.{f}.title"), &mut case.title));
            out.extend(
                case.sections.iter_mut().enumerate().map(|(i, s)| (format!("featured.{f}.sections.{i}"), &mut s.text)),
            );
            for (i, p) in case.points.iter_mut().enumerate() {
                if let Some(h) = p.heading.as_mut() {
                    out.push((format!("featured.{f}.points.{i}.heading"), h));
                }
                out.push((format!("featured.{f}.points.{i}"), &mut p.body));
            }
            if let Some(fig) = case.figure.as_mut() {
                out.push((format!("featured.{f}.figure.reference"), &mut fig.reference));
                out.push((format!("featured.{f}.figure.caption"), &mut fig.caption));
                out.extend(
                    fig.steps.iter_mut().enumerate().map(|(i, t)| (format!("featured.{f}.figure.steps.{i}"), t)),
                );
            }
        }
        out.extend(self.how_to_report.iter_mut().enumerate().map(|(i, t)| (format!("how_to_report.{i}"), t)));
        out.extend(self.closing.iter_mut().enumerate().map(|(i, t)| (format!("closing.{i}"), t)));
        out
    }

    /// Every text with its path, read-only (for review screens).
    pub fn texts(&self) -> Vec<(String, Text)> {
        self.clone().texts_mut().into_iter().map(|(p, t)| (p, t.clone())).collect()
    }

    /// Apply an analyst's edits (path → new text). Each edited text passes the anonymiser again;
    /// what it replaced is added to the text's review list. Returns the paths changed, or the
    /// first unknown path.
    pub fn apply_edits(&mut self, edits: &BTreeMap<String, String>) -> Result<Vec<String>, String> {
        let keep: BTreeSet<String> = self.kept_values.iter().map(|k| k.trim().to_lowercase()).collect();
        let mut texts = self.texts_mut();
        for path in edits.keys() {
            if !texts.iter().any(|(p, _)| p == path) {
                return Err(path.clone());
            }
        }
        let mut changed = vec![];
        for (path, text) in texts.iter_mut() {
            let Some(new) = edits.get(path.as_str()) else { continue };
            let new = new.replace("\r\n", "\n");
            if new.trim() == text.text.trim() {
                continue;
            }
            let a = anonymise(&house_terms(new.trim()), &KnownIdentifiers::default(), &keep);
            text.text = a.text;
            text.replacements.extend(a.replacements);
            text.risks = a.risks;
            changed.push(path.clone());
        }
        Ok(changed)
    }

    /// What the anonymiser could not rule out, with where: the approver clears these.
    pub fn risks(&self) -> Vec<(String, Risk)> {
        self.texts().into_iter().flat_map(|(p, t)| t.risks.into_iter().map(move |r| (p.clone(), r))).collect()
    }

    /// All replacements made, with where, for the analyst's review.
    pub fn review(&self) -> Vec<(String, Replacement)> {
        self.texts().into_iter().flat_map(|(p, t)| t.replacements.into_iter().map(move |r| (p.clone(), r))).collect()
    }
}
