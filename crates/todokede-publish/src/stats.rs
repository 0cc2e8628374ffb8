//! 届出状況: period statistics from analyst-confirmed classifications only, counted per
//! incident (several reports of one incident count once, as national CERTs count), with
//! small-cell suppression before anything is shown.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::Date;
use todokede_domain::{
    AffectedAsset, AttackType, CauseBucket, CauseCategory, ClosedEnum, DamageCategory, Period, ReportForm, ReporterKind,
};

/// One report with its confirmed classification, as statistics see it: no names, no text.
#[derive(Debug, Clone)]
pub struct CaseRecord {
    /// Tracking number of the report.
    pub report: String,
    /// The incident it belongs to (the tracking number of the incident's first report).
    pub incident: String,
    pub received_on: Date,
    pub form: ReportForm,
    pub reporter_kind: Option<ReporterKind>,
    pub has_damage: Option<bool>,
    pub attack_types: Vec<AttackType>,
    /// Primary first.
    pub causes: Vec<CauseCategory>,
    pub damages: Vec<DamageCategory>,
    pub techniques: Vec<String>,
    /// Virus reports: what the virus form says (None for the unauthorized-access form).
    pub virus: Option<VirusRecord>,
    /// 被害を受けた機器 (the form's item), for 電算機の種別.
    pub assets: Vec<AffectedAsset>,
}

/// What the virus side of 届出状況 counts of a virus report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VirusRecord {
    /// ウイルス名称 (or the symptoms), for the family of 主なウイルス被害の内訳.
    pub name: Option<String>,
    /// 件(個): detections the report covers (a report without a count is one detection).
    pub detections: Option<u32>,
}

/// The family a virus name belongs to, as 主なウイルス被害の内訳 groups them.
pub fn virus_family(name: Option<&str>) -> (&'static str, &'static str) {
    let Some(n) = name.map(|n| n.to_lowercase()).filter(|n| !n.trim().is_empty()) else {
        return ("unknown", "不明");
    };
    let has = |ws: &[&str]| ws.iter().any(|w| n.contains(w));
    if has(&["emotet"]) {
        ("emotet", "Emotet")
    } else if has(&[
        "ransom",
        "ランサム",
        "lockbit",
        "wannacry",
        "wanna",
        "ryuk",
        "conti",
        "phobos",
        "sodinokibi",
        "revil",
        "akira",
        "blackcat",
        "alphv",
        "makop",
        "stop/djvu",
        "djvu",
    ]) {
        ("ransomware", "ランサムウェア")
    } else if has(&["worm", "ワーム", "conficker", "downadup", "mydoom", "netsky"]) {
        ("worm", "ワーム")
    } else if has(&[
        "agenttesla",
        "agent tesla",
        "formbook",
        "lokibot",
        "redline",
        "spyware",
        "スパイウェア",
        "infostealer",
        "stealer",
    ]) {
        ("stealer", "情報窃取型")
    } else {
        ("other", "その他")
    }
}

/// A published count: the number, suppressed because it could single out a reporter ("<3",
/// 1 to threshold − 1), or hidden by complementary suppression ("x", at least the threshold: a
/// cell that would give a suppressed one away). Serialised as the number, `null` when
/// suppressed, `"x"` when hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "serde_json::Value", into = "serde_json::Value")]
pub enum Cell {
    Count(u64),
    Suppressed,
    Hidden,
}

impl TryFrom<serde_json::Value> for Cell {
    type Error = String;
    fn try_from(v: serde_json::Value) -> Result<Cell, String> {
        match v {
            serde_json::Value::Null => Ok(Cell::Suppressed),
            serde_json::Value::String(s) if s == "x" => Ok(Cell::Hidden),
            v => v.as_u64().map(Cell::Count).ok_or_else(|| format!("not a cell: {v}")),
        }
    }
}

impl From<Cell> for serde_json::Value {
    fn from(c: Cell) -> serde_json::Value {
        match c {
            Cell::Count(n) => n.into(),
            Cell::Suppressed => serde_json::Value::Null,
            Cell::Hidden => "x".into(),
        }
    }
}

impl Cell {
    pub fn display(&self, threshold: u64) -> String {
        match self {
            Cell::Count(n) => n.to_string(),
            Cell::Suppressed => format!("<{threshold}"),
            Cell::Hidden => "x".to_owned(),
        }
    }
    pub fn count(&self) -> Option<u64> {
        match self {
            Cell::Count(n) => Some(*n),
            Cell::Suppressed | Cell::Hidden => None,
        }
    }
    /// Not shown as a number.
    pub fn is_withheld(&self) -> bool {
        !matches!(self, Cell::Count(_))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    pub key: String,
    pub label: String,
    /// One cell per column: the period first, then the previous periods.
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Table {
    pub key: String,
    pub title: String,
    /// Rows partition the total (each incident in exactly one row), so a lone suppressed cell
    /// could be recovered by subtraction and needs a complementary one.
    pub partitions_total: bool,
    pub rows: Vec<Row>,
    pub total: Vec<Cell>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Statistics {
    pub period: String,
    pub period_label: String,
    /// The period and the previous ones, as column headers.
    pub columns: Vec<String>,
    pub threshold: u64,
    /// Reports received in the period (all of them, confirmed or not).
    pub reports_received: u64,
    /// Reports with an analyst-confirmed classification: what the tables are built from.
    pub reports_confirmed: u64,
    pub tables: Vec<Table>,
    /// Per column: whether the system has records up to that period's end. A column without is
    /// printed as "—" (記録なし), never as zeros.
    #[serde(default)]
    pub has_data: Vec<bool>,
    /// What the publication's body states of the period's reports (表2-1's rows, the text's
    /// counts): the audit holds the tables against it too (see [`crate::audit`]).
    #[serde(default)]
    pub claims: Vec<crate::audit::Claim>,
    /// The period's cells that the body alone gives away (表2-1 lists every case they count):
    /// printed as their number, and named in the page's note, instead of a "<N" that would
    /// promise what the page cannot keep.
    #[serde(default)]
    pub released: Vec<String>,
}

pub const DEFAULT_THRESHOLD: u64 = 3;
/// Tables by month of the period: only the period's own column is published.
pub const MONTHLY: &[&str] = &["month", "virus_month", "virus_month_infected"];

/// Tables in which one incident may count in several rows (原因別 sums to more than 合計):
/// every rendering says so under them (複数計上).
pub const MULTI_VALUED: &[&str] = &["cause", "damage", "technique", "host_kind"];

/// The note under a multi-valued table, in every rendering.
pub const MULTI_VALUED_NOTE: &str =
    "※ 1 件が複数の項目に該当する場合があるため、各項目の和は合計と一致しない（複数計上）。";

impl Table {
    /// One incident may count in several of its rows.
    pub fn is_multi_valued(&self) -> bool {
        MULTI_VALUED.contains(&self.key.as_str())
    }
}
/// What [`Statistics::released`] holds when the period's whole column is printed.
pub const PERIOD_WHOLE: &str = "今期の全件";

/// The period's column (the first) of every table as `whole` counts it, unsuppressed: for a
/// publication whose 表2-1 lists every report of the period, where the rows give each count
/// away. [`Statistics::released`] then holds [`PERIOD_WHOLE`], and the note says why.
pub fn print_period_whole(s: &mut Statistics, whole: &Statistics) {
    for t in &mut s.tables {
        let Some(w) = whole.tables.iter().find(|w| w.key == t.key) else { continue };
        let take = |cell: &mut Cell, from: Option<&Cell>| {
            if let (true, Some(Cell::Count(n))) = (cell.is_withheld(), from) {
                *cell = Cell::Count(*n);
            }
        };
        if let Some(c) = t.total.first_mut() {
            take(c, w.total.first());
        }
        for r in &mut t.rows {
            let from = w.rows.iter().find(|x| x.key == r.key).and_then(|x| x.cells.first());
            if let Some(c) = r.cells.first_mut() {
                take(c, from);
            }
        }
    }
    s.released = vec![PERIOD_WHOLE.to_owned()];
}

/// The appendix's note on suppression, in every rendering: what "<N" and "x" mean and what
/// the page promises of them (the promise [`crate::audit`] checks), and the cells printed as
/// their number because 表2-1 lists every case they count.
pub fn suppression_note(s: &Statistics) -> String {
    let n = s.threshold;
    let mut note = format!(
        "以下の件数は、分析者が確認した分類に基づき、同一インシデントに関する複数の届出を 1 件として数えたものである。{n} 件未満（1〜{} 件）の値は「<{n}」と表示し、本文・表 2-1 を含め公表する全ての表を合わせても 1〜{} 件のいずれであるかを逆算できないよう、必要に応じて {n} 件以上の値も x と表示して秘匿している（補完的秘匿）。図では、秘匿した値を斜線の枠で示し、棒や点の高さとしては描かない。",
        n.saturating_sub(1),
        n.saturating_sub(1)
    );
    if s.released.iter().any(|r| r == PERIOD_WHOLE) {
        note.push_str(&format!(
            "なお、今期の届出は表 2-1 にすべて掲げており、今期の件数はいずれも同表から数えられるため、今期の値は {n} 件未満も秘匿せずに示す（秘匿は前期以前の値のみ）。"
        ));
    } else if !s.released.is_empty() {
        // By table (「分類別（主たる原因）、月別、届出者種別」), in the tables' order.
        let tables: Vec<&str> = s
            .tables
            .iter()
            .filter(|t| {
                s.released
                    .iter()
                    .any(|r| r.starts_with(&format!("{}「", t.title)) || r.starts_with(&format!("{}（合計）", t.title)))
            })
            .map(|t| t.title.as_str())
            .collect();
        note.push_str(&format!(
            "なお、今期の届出は表 2-1 にすべて掲げており、{}の今期の件数は同表から数えられるため、3 件未満の値も秘匿せずに示す。",
            tables.join("、")
        ));
    }
    note
}

/// How many previous periods are shown beside the period.
pub const PREVIOUS_PERIODS: usize = 2;

/// One incident, merged from its reports: the first report's date and reporter kind, the union
/// of the classifications.
struct Incident<'a> {
    first: &'a CaseRecord,
    records: Vec<&'a CaseRecord>,
    forms: Vec<ReportForm>,
    attack_types: Vec<AttackType>,
    causes: Vec<CauseCategory>,
    damages: Vec<DamageCategory>,
    techniques: Vec<String>,
    assets: Vec<AffectedAsset>,
}

fn push_unique<T: PartialEq + Clone>(v: &mut Vec<T>, xs: &[T]) {
    for x in xs {
        if !v.contains(x) {
            v.push(x.clone());
        }
    }
}

fn incidents(records: &[CaseRecord]) -> Vec<Incident<'_>> {
    let mut by_incident: BTreeMap<&str, Vec<&CaseRecord>> = BTreeMap::new();
    for r in records {
        by_incident.entry(&r.incident).or_default().push(r);
    }
    by_incident
        .into_values()
        .map(|mut rs| {
            rs.sort_by_key(|r| (r.received_on, r.report.clone()));
            let mut i = Incident {
                first: rs[0],
                records: rs.clone(),
                forms: vec![],
                attack_types: vec![],
                causes: vec![],
                damages: vec![],
                techniques: vec![],
                assets: vec![],
            };
            for r in rs {
                push_unique(&mut i.forms, &[r.form]);
                push_unique(&mut i.attack_types, &r.attack_types);
                push_unique(&mut i.causes, &r.causes);
                push_unique(&mut i.damages, &r.damages);
                push_unique(&mut i.techniques, &r.techniques);
                push_unique(&mut i.assets, &r.assets);
            }
            i
        })
        .collect()
}

fn cause_bucket_label(b: CauseBucket) -> (&'static str, &'static str) {
    match b {
        CauseBucket::CredentialManagement => ("credential_management", "ID・パスワード管理の不備"),
        CauseBucket::OldVersionUnpatched => ("old_version_unpatched", "古いバージョン・パッチ未導入"),
        CauseBucket::Misconfiguration => ("misconfiguration", "設定不備"),
        CauseBucket::Other => ("other", "その他"),
        CauseBucket::Unknown => ("unknown", "不明"),
    }
}

/// Counts of one dimension: for each column, for each row key, how many incidents.
struct Counter {
    order: Vec<(String, String)>,
    counts: BTreeMap<String, Vec<u64>>,
    totals: Vec<u64>,
}

impl Counter {
    fn new(order: Vec<(String, String)>, columns: usize) -> Self {
        Counter { order, counts: BTreeMap::new(), totals: vec![0; columns] }
    }
    fn add(&mut self, col: usize, key: &str, label: &str) {
        if !self.order.iter().any(|(k, _)| k == key) {
            self.order.push((key.to_owned(), label.to_owned()));
        }
        let n = self.totals.len();
        self.counts.entry(key.to_owned()).or_insert_with(|| vec![0; n])[col] += 1;
    }
    fn table(self, key: &'static str, title: &str, partitions_total: bool, keep_empty_rows: bool) -> Table {
        let n = self.totals.len();
        let rows = self
            .order
            .into_iter()
            .filter_map(|(k, label)| {
                let counts = self.counts.get(&k).cloned().unwrap_or_else(|| vec![0; n]);
                (keep_empty_rows || counts.iter().any(|c| *c > 0)).then(|| Row {
                    key: k,
                    label,
                    cells: counts.into_iter().map(Cell::Count).collect(),
                })
            })
            .collect();
        Table {
            key: key.to_owned(),
            title: title.to_owned(),
            partitions_total,
            rows,
            total: self.totals.into_iter().map(Cell::Count).collect(),
        }
    }
}

/// Compute the statistics of `period` (and the previous periods beside it) from confirmed
/// records, then suppress small cells. Records outside the columns' periods are ignored.
pub fn compute(records: &[CaseRecord], reports_received: u64, period: Period, threshold: u64) -> Statistics {
    let mut periods = vec![period];
    for _ in 0..PREVIOUS_PERIODS {
        let prev = periods.last().expect("non-empty").previous();
        periods.push(prev);
    }
    let cols = periods.len();
    let col_of = |d: Date| periods.iter().position(|p| p.contains(d));
    let all = incidents(records);
    let keyed = |xs: &[(&str, &str)]| xs.iter().map(|(k, l)| (k.to_string(), l.to_string())).collect::<Vec<_>>();

    let mut summary = Counter::new(
        keyed(&[
            ("reports", "届出件数"),
            ("incidents", "インシデント件数"),
            ("virus", "ウイルス届出"),
            ("virus_infected", "うち感染被害あり"),
            ("unauthorized_access", "不正アクセス届出"),
            ("unauthorized_access_damage", "うち被害あり"),
        ]),
        cols,
    );
    let mut by_cause = Counter::new(
        [
            CauseBucket::CredentialManagement,
            CauseBucket::OldVersionUnpatched,
            CauseBucket::Misconfiguration,
            CauseBucket::Other,
            CauseBucket::Unknown,
        ]
        .into_iter()
        .map(|b| {
            let (k, l) = cause_bucket_label(b);
            (k.to_owned(), l.to_owned())
        })
        .collect(),
        cols,
    );
    // Rows in the domain's order (the forms' order, DOMAIN.md), never in the order first seen.
    fn domain_order<T: ClosedEnum>() -> Vec<(String, String)> {
        T::ALL.iter().map(|v| (v.key().to_owned(), v.label_ja().to_owned())).collect()
    }
    // 攻撃行為（手口）別 counts acts, as IPA does (2019: 126 acts in 89 reports): each kind of
    // act of an incident once; its 合計 is the number of acts.
    let mut by_attack = Counter::new(domain_order::<AttackType>(), cols);
    let mut by_host = Counter::new(domain_order::<AffectedAsset>(), cols);
    let mut by_damage = Counter::new(domain_order::<DamageCategory>(), cols);
    let mut by_category = Counter::new(domain_order::<CauseCategory>(), cols);
    let mut by_technique = Counter::new(vec![], cols);
    let mut reporters = domain_order::<ReporterKind>();
    reporters.push(("unknown".into(), "不明".into()));
    let mut by_reporter = Counter::new(reporters, cols);
    let mut by_month = Counter::new(
        period.months().iter().map(|(y, m)| (format!("{y}-{m:02}"), format!("{y}年{m}月"))).collect(),
        cols,
    );

    for inc in &all {
        let Some(col) = col_of(inc.first.received_on) else { continue };
        for c in [
            &mut by_host,
            &mut by_damage,
            &mut by_category,
            &mut by_technique,
            &mut by_reporter,
            &mut by_month,
            &mut summary,
        ] {
            c.totals[col] += 1;
        }
        // 届出件数 and its two forms count reports, as IPA counts (one report, one 件): the
        // two rows partition it.
        for r in &inc.records {
            summary.add(col, "reports", "届出件数");
            let damage = r.has_damage == Some(true);
            match r.form {
                ReportForm::Virus => {
                    summary.add(col, "virus", "ウイルス届出");
                    if damage {
                        summary.add(col, "virus_infected", "うち感染被害あり");
                    }
                }
                ReportForm::UnauthorizedAccess => {
                    summary.add(col, "unauthorized_access", "不正アクセス届出");
                    if damage {
                        summary.add(col, "unauthorized_access_damage", "うち被害あり");
                    }
                }
            }
        }
        summary.add(col, "incidents", "インシデント件数");
        let unauthorized = inc.forms.contains(&ReportForm::UnauthorizedAccess);
        // An unauthorized-access report of the incident says there was damage (so 原因別's
        // count is at most 不正アクセス届出's うち被害あり).
        let damaged =
            inc.records.iter().any(|r| r.form == ReportForm::UnauthorizedAccess && r.has_damage == Some(true));
        if unauthorized {
            for t in &inc.attack_types {
                by_attack.add(col, t.key(), t.label_ja());
                by_attack.totals[col] += 1;
            }
        }
        // 原因別 over the unauthorized-access incidents with damage only, as IPA counts it.
        if damaged {
            by_cause.totals[col] += 1;
            let mut cause_buckets: Vec<CauseBucket> = inc.causes.iter().filter_map(|c| c.ipa_bucket()).collect();
            cause_buckets.sort();
            cause_buckets.dedup();
            for b in cause_buckets {
                let (k, l) = cause_bucket_label(b);
                by_cause.add(col, k, l);
            }
        }
        if inc.assets.is_empty() {
            by_host.add(col, AffectedAsset::Unknown.key(), AffectedAsset::Unknown.label_ja());
        }
        for a in &inc.assets {
            by_host.add(col, a.key(), a.label_ja());
        }
        // 被害なし（未遂） only for an incident no report of which says there was damage (the
        // reader takes the row at its word: at most the incidents without damage).
        let any_damage = inc.records.iter().any(|r| r.has_damage == Some(true));
        for d in inc.damages.iter().filter(|d| !(any_damage && **d == DamageCategory::None)) {
            by_damage.add(col, d.key(), d.label_ja());
        }
        let primary = inc.causes.first().copied().unwrap_or(CauseCategory::Unknown);
        by_category.add(col, primary.key(), primary.label_ja());
        for t in &inc.techniques {
            let name = todokede_analyse::technique_name(t);
            by_technique.add(col, t, &if name.is_empty() { t.clone() } else { format!("{t} {name}") });
        }
        let kind = inc.first.reporter_kind.map(|k| (k.key(), k.label_ja())).unwrap_or(("unknown", "不明"));
        by_reporter.add(col, kind.0, kind.1);
        let d = inc.first.received_on;
        by_month.add(
            col,
            &format!("{}-{:02}", d.year(), d.month() as u8),
            &format!("{}年{}月", d.year(), d.month() as u8),
        );
    }
    // The summary's "total" is the incident count.
    summary.totals = summary.counts.get("incidents").cloned().unwrap_or_else(|| vec![0; cols]);

    // The virus side (DOMAIN.md §3.1), per report as IPA counts since 2019: 感染被害あり and
    // 検知のみ, per month, the families of the infections, the detections.
    let months_of =
        |p: &Period| p.months().iter().map(|(y, m)| (format!("{y}-{m:02}"), format!("{y}年{m}月"))).collect::<Vec<_>>();
    let mut virus = Counter::new(keyed(&[("infected", "感染被害あり"), ("detected_only", "検知のみ")]), cols);
    let mut virus_month = Counter::new(months_of(&period), cols);
    let mut virus_month_infected = Counter::new(months_of(&period), cols);
    let mut virus_family_table = Counter::new(
        keyed(&[
            ("emotet", "Emotet"),
            ("ransomware", "ランサムウェア"),
            ("worm", "ワーム"),
            ("stealer", "情報窃取型"),
            ("other", "その他"),
            ("unknown", "不明"),
        ]),
        cols,
    );
    let mut detections = vec![0u64; cols];
    for r in records.iter().filter(|r| r.form == ReportForm::Virus) {
        let Some(col) = col_of(r.received_on) else { continue };
        let infected = r.has_damage == Some(true);
        let d = r.received_on;
        let month = (format!("{}-{:02}", d.year(), d.month() as u8), format!("{}年{}月", d.year(), d.month() as u8));
        virus.totals[col] += 1;
        virus_month.totals[col] += 1;
        virus.add(
            col,
            if infected { "infected" } else { "detected_only" },
            if infected { "感染被害あり" } else { "検知のみ" },
        );
        virus_month.add(col, &month.0, &month.1);
        if infected {
            virus_month_infected.totals[col] += 1;
            virus_family_table.totals[col] += 1;
            virus_month_infected.add(col, &month.0, &month.1);
            let (k, l) = virus_family(r.virus.as_ref().and_then(|v| v.name.as_deref()));
            virus_family_table.add(col, k, l);
        }
        detections[col] += r.virus.as_ref().and_then(|v| v.detections).map_or(1, |n| u64::from(n.max(1)));
    }
    let detections_table = Table {
        key: "virus_detections".into(),
        title: "ウイルス等検出数".into(),
        partitions_total: false,
        rows: vec![Row {
            key: "detections".into(),
            label: "検出数（届出に記載された件数の合計）".into(),
            cells: detections.iter().copied().map(Cell::Count).collect(),
        }],
        total: detections.iter().copied().map(Cell::Count).collect(),
    };

    let mut tables = vec![
        summary.table("summary", "届出件数", false, true),
        by_attack.table("attack_type", "攻撃行為（手口）別（不正アクセス、行為の数）", true, false),
        by_cause.table("cause", "原因別（不正アクセス、被害ありのみ）", false, true),
        by_damage.table("damage", "被害内容別", false, false),
        by_category.table("category", "分類別（主たる原因）", true, false),
        by_technique.table("technique", "ATT&CK テクニック別", false, false),
        by_host.table("host_kind", "電算機の種別（被害対象）", false, false),
        by_reporter.table("reporter_kind", "届出者種別", true, false),
        by_month.table("month", "月別", true, true),
        virus.table("virus", "ウイルス届出件数（感染被害の有無）", true, true),
        virus_month.table("virus_month", "ウイルス届出件数（月別）", true, true),
        virus_month_infected.table("virus_month_infected", "ウイルス届出のうち感染被害あり（月別）", true, true),
        virus_family_table.table("virus_family", "主なウイルス被害の内訳（感染被害ありの届出）", true, false),
        detections_table,
    ];
    // The virus side only where there is virus data (a period of the other form only has none);
    // its monthly tables only when the period itself has virus reports.
    if !records.iter().any(|r| r.form == ReportForm::Virus && col_of(r.received_on).is_some()) {
        tables.retain(|t| !t.key.starts_with("virus"));
    }
    if !records.iter().any(|r| r.form == ReportForm::Virus && col_of(r.received_on) == Some(0)) {
        tables.retain(|t| !t.key.starts_with("virus_month"));
    }
    // 電算機の種別 only where a report named the machine hit: a table of 不明 alone (the seeds
    // name none) says nothing.
    if !tables.iter().any(|t| t.key == "host_kind" && t.rows.iter().any(|r| r.key != AffectedAsset::Unknown.key())) {
        tables.retain(|t| t.key != "host_kind");
    }
    for t in &mut tables {
        suppress(t, threshold);
    }
    let mut stats = Statistics {
        period: period.to_string(),
        period_label: period.label_ja(),
        columns: periods.iter().map(|p| p.to_string()).collect(),
        threshold,
        reports_received,
        reports_confirmed: records.iter().filter(|r| col_of(r.received_on) == Some(0)).count() as u64,
        tables,
        has_data: periods.iter().map(|p| records.iter().any(|r| r.received_on <= p.bounds().1)).collect(),
        claims: vec![],
        released: vec![],
    };
    // Complementary suppression across every table of a column together (the same count
    // appears in several tables). Each previous period's column is protected with its own
    // months, as that period's own statistics are, so two publications together give away
    // nothing either alone does not.
    crate::audit::protect(&mut stats);
    // Months of the previous periods are not this period's months: only the first column.
    for month in stats.tables.iter_mut().filter(|t| MONTHLY.contains(&t.key.as_str())) {
        let own: Vec<String> = period.months().iter().map(|(y, m)| format!("{y}-{m:02}")).collect();
        month.rows.retain(|r| own.contains(&r.key));
        for r in &mut month.rows {
            r.cells.truncate(1);
        }
        month.total.truncate(1);
    }
    stats
}

/// Primary suppression: every count in 1..threshold becomes "<threshold" (zero is shown: it
/// identifies nobody). Complementary suppression, per column of a table whose rows partition
/// the total: if exactly one cell is suppressed while the total is shown, the smallest other
/// non-zero cell is hidden ("x") too, so the value cannot be recovered by subtraction. What
/// holds across tables is [`crate::audit::protect`]'s.
pub fn suppress(table: &mut Table, threshold: u64) {
    let small = |n: u64| n > 0 && n < threshold;
    for c in table.total.iter_mut() {
        if matches!(c, Cell::Count(n) if small(*n)) {
            *c = Cell::Suppressed;
        }
    }
    let columns = table.total.len();
    for col in 0..columns {
        for r in &mut table.rows {
            if matches!(r.cells.get(col), Some(Cell::Count(n)) if small(*n)) {
                r.cells[col] = Cell::Suppressed;
            }
        }
        if !table.partitions_total || table.total[col].is_withheld() {
            continue;
        }
        let suppressed = table.rows.iter().filter(|r| r.cells.get(col).is_some_and(|c| c.is_withheld())).count();
        if suppressed == 1 {
            let next = table
                .rows
                .iter_mut()
                .filter(|r| matches!(r.cells.get(col), Some(Cell::Count(n)) if *n > 0))
                .min_by_key(|r| r.cells[col].count());
            match next {
                Some(r) => r.cells[col] = Cell::Hidden,
                // Nothing else to hide behind: the total would give the cell away.
                None => table.total[col] = Cell::Hidden,
            }
        }
    }
}

/// One CSV field: quoted when it must be, and never a formula — a field that a spreadsheet
/// would evaluate (`=`, `+`, `-`, `@`, tab, carriage return first) gets a leading `'` (OWASP's
/// CSV injection advice).
pub fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{v}") } else { v.to_owned() };
    if v.contains([',', '"', '\n', '\r']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v }
}

/// What the CSV's last line says of its empty cells (the page's "—").
pub const NO_RECORD_NOTE: &str = "空欄：システムにその期の届出の記録がない（0 件ではない）";

/// CSV: one line per table row, the columns' cells as published (suppressed as `<N`). A period
/// the system has no record of is an empty cell, not 0 (the page's "—"), and a last `note` line
/// says so.
pub fn to_csv(s: &Statistics) -> String {
    let columns: Vec<String> = s.columns.iter().map(|c| csv_field(c)).collect();
    let quote = csv_field;
    let mut out = format!("table,row,label,{}\n", columns.join(","));
    let recorded = |i: usize| s.has_data.get(i) != Some(&false);
    for t in &s.tables {
        let mut line = |key: &str, label: &str, cells: &[Cell]| {
            let cells: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| if recorded(i) { csv_field(&c.display(s.threshold)) } else { String::new() })
                .collect();
            out.push_str(&format!("{},{},{},{}\n", t.key, quote(key), quote(label), cells.join(",")));
        };
        for r in &t.rows {
            line(&r.key, &r.label, &r.cells);
        }
        line("total", "合計", &t.total);
    }
    if (0..s.columns.len()).any(|i| !recorded(i)) {
        out.push_str(&format!("note,no_record,{},{}\n", quote(NO_RECORD_NOTE), vec![""; s.columns.len()].join(",")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    /// Issue 17, finding 12: no cell of a CSV export is a spreadsheet formula.
    #[test]
    fn csv_fields_are_never_formulas() {
        assert_eq!(csv_field("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("-2+3"), "'-2+3");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("\tx"), "'\tx");
        assert_eq!(csv_field("<3"), "<3");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("教育機関"), "教育機関");
    }

    /// Issue 16, item 7 (DOMAIN.md §3.2), the unauthorized-access side as IPA counts it:
    /// 攻撃行為別 counts acts (several per incident; its 合計 is the acts, not the incidents),
    /// 原因別 only the incidents with damage, 電算機の種別 the machines hit (不明 when none is
    /// named; one incident may name several: 複数計上).
    #[test]
    fn acts_causes_of_damage_and_the_machines_hit_are_counted_as_ipa_counts_them() {
        let d = date!(2019 - 08 - 01);
        let mut a = rec("A", "A", d, &[CauseCategory::MissingAccessControl], ReporterKind::Company);
        a.attack_types = vec![AttackType::Intrusion, AttackType::SteppingStone];
        a.assets = vec![AffectedAsset::ServerWeb];
        let mut b = rec("B", "B", d, &[CauseCategory::UnpatchedSoftware], ReporterKind::Company);
        b.has_damage = Some(false);
        let mut c = rec("C", "C", d, &[CauseCategory::MissingAccessControl], ReporterKind::Company);
        c.attack_types = vec![AttackType::Impersonation];
        c.assets = vec![AffectedAsset::ServerDatabase, AffectedAsset::ServerWeb];
        // A second report of incident A: its acts are A's, not counted again.
        let mut a2 = rec("A2", "A", d, &[CauseCategory::MissingAccessControl], ReporterKind::Company);
        a2.attack_types = vec![AttackType::Intrusion];
        let s = compute(&[a, a2, b, c], 4, Period::parse("2019H2").unwrap(), 1);
        let table = |k: &str| s.tables.iter().find(|t| t.key == k).unwrap();
        let cell = |t: &str, r: &str| table(t).rows.iter().find(|x| x.key == r).map(|x| x.cells[0]);
        assert_eq!(table("attack_type").total[0], Cell::Count(4), "acts, not the 3 incidents");
        assert_eq!(cell("attack_type", "intrusion"), Some(Cell::Count(2)), "A (twice) and B");
        assert_eq!(cell("attack_type", "stepping_stone"), Some(Cell::Count(1)));
        assert_eq!(cell("attack_type", "impersonation"), Some(Cell::Count(1)));
        assert!(table("attack_type").partitions_total && !table("attack_type").is_multi_valued());
        assert_eq!(table("cause").total[0], Cell::Count(2), "B had no damage");
        assert_eq!(cell("cause", "old_version_unpatched"), Some(Cell::Count(0)), "B's cause is not counted");
        assert_eq!(cell("cause", "misconfiguration"), Some(Cell::Count(2)));
        assert_eq!(cell("host_kind", "server_web"), Some(Cell::Count(2)));
        assert_eq!(cell("host_kind", "server_database"), Some(Cell::Count(1)));
        assert_eq!(cell("host_kind", "unknown"), Some(Cell::Count(1)), "B names no machine");
        assert_eq!(table("host_kind").total[0], Cell::Count(3));
        assert!(table("host_kind").is_multi_valued() && table("cause").is_multi_valued());
        // No report names its machine: no table of 不明 alone.
        let none = compute(&[rec("D", "D", d, &[], ReporterKind::Company)], 1, Period::parse("2019H2").unwrap(), 1);
        assert!(!none.tables.iter().any(|t| t.key == "host_kind"));
    }

    fn rec(n: &str, incident: &str, d: Date, causes: &[CauseCategory], kind: ReporterKind) -> CaseRecord {
        CaseRecord {
            report: n.into(),
            incident: incident.into(),
            received_on: d,
            form: ReportForm::UnauthorizedAccess,
            reporter_kind: Some(kind),
            has_damage: Some(true),
            attack_types: vec![AttackType::Intrusion],
            causes: causes.to_vec(),
            damages: vec![DamageCategory::DataDestructionExtortion],
            techniques: vec!["T1485".into()],
            virus: None,
            assets: vec![],
        }
    }

    fn cell(s: &Statistics, table: &str, row: &str, col: usize) -> Cell {
        let t = s.tables.iter().find(|t| t.key == table).unwrap();
        if row == "total" {
            return t.total[col];
        }
        t.rows.iter().find(|r| r.key == row).map(|r| r.cells[col]).unwrap_or(Cell::Count(0))
    }

    #[test]
    fn incidents_count_once_and_small_cells_are_suppressed_with_a_complement() {
        use CauseCategory::*;
        use ReporterKind::*;
        let mut rs = vec![];
        // 2019H2: 10 companies (2 reports of incident A), 4 local governments, 1 school.
        for i in 0..10 {
            rs.push(rec(&format!("C{i}"), &format!("C{i}"), date!(2019 - 08 - 01), &[MissingAccessControl], Company));
        }
        rs.push(rec("C0b", "C0", date!(2019 - 09 - 03), &[WeakCredentials], Company));
        for i in 0..4 {
            rs.push(rec(
                &format!("L{i}"),
                &format!("L{i}"),
                date!(2019 - 10 - 01),
                &[UnpatchedSoftware],
                LocalGovernment,
            ));
        }
        rs.push(rec("E0", "E0", date!(2019 - 12 - 24), &[Phishing], Educational));
        // 2019H1: 3 incidents; 2018H2: 1.
        for i in 0..3 {
            rs.push(rec(&format!("P{i}"), &format!("P{i}"), date!(2019 - 02 - 01), &[MissingAccessControl], Company));
        }
        rs.push(rec("Q0", "Q0", date!(2018 - 11 - 01), &[Unknown], Medical));
        // Outside every column.
        rs.push(rec("X0", "X0", date!(2017 - 01 - 01), &[Unknown], Company));

        let s = compute(&rs, 17, Period::parse("2019H2").unwrap(), 3);
        assert_eq!(s.columns, ["2019H2", "2019H1", "2018H2"]);
        // 16 reports, 15 incidents (C0 and C0b are one).
        assert_eq!(cell(&s, "summary", "reports", 0), Cell::Count(16));
        assert_eq!(cell(&s, "summary", "incidents", 0), Cell::Count(15));
        assert_eq!(cell(&s, "summary", "incidents", 1), Cell::Count(3));
        // 2018H2 has a single incident: suppressed everywhere, the total too.
        assert_eq!(cell(&s, "summary", "incidents", 2), Cell::Suppressed);
        // The merged incident C0 counts its union of causes: credentials (1) + misconfiguration (10).
        assert_eq!(cell(&s, "cause", "misconfiguration", 0), Cell::Count(10));
        assert_eq!(cell(&s, "cause", "credential_management", 0), Cell::Suppressed);
        // Reporter kind partitions the total: school (1) is suppressed, and so must be the next
        // smallest, local government (4), else 15 - 10 - 4 = 1 gives the school away.
        assert_eq!(cell(&s, "reporter_kind", "company", 0), Cell::Count(10));
        assert_eq!(cell(&s, "reporter_kind", "educational", 0), Cell::Suppressed);
        assert_eq!(cell(&s, "reporter_kind", "local_government", 0), Cell::Hidden);
        assert_eq!(cell(&s, "reporter_kind", "total", 0), Cell::Count(15));
        // Months: Aug 10, Oct 4, Dec 1 (+ complementary on Oct), Jul/Sep/Nov 0 shown as 0.
        assert_eq!(cell(&s, "month", "2019-08", 0), Cell::Count(10));
        assert_eq!(cell(&s, "month", "2019-12", 0), Cell::Suppressed);
        assert_eq!(cell(&s, "month", "2019-10", 0), Cell::Hidden);
        assert_eq!(cell(&s, "month", "2019-09", 0), Cell::Count(0));
        assert_eq!(s.reports_confirmed, 16);
        let csv = to_csv(&s);
        assert!(csv.contains("reporter_kind,educational,教育機関,<3,0,0\n"), "{csv}");
        assert!(csv.contains("summary,incidents,インシデント件数,15,3,<3\n"), "{csv}");
    }

    #[test]
    fn a_lone_small_cell_with_nothing_to_hide_behind_hides_the_total() {
        let mut t = Table {
            key: "x".into(),
            title: "x".into(),
            partitions_total: true,
            rows: vec![
                Row { key: "a".into(), label: "a".into(), cells: vec![Cell::Count(2)] },
                Row { key: "b".into(), label: "b".into(), cells: vec![Cell::Count(0)] },
            ],
            total: vec![Cell::Count(5)],
        };
        suppress(&mut t, 3);
        assert_eq!(t.rows[0].cells[0], Cell::Suppressed);
        assert_eq!(t.total[0], Cell::Hidden);
    }
}
