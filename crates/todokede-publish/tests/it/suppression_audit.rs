//! Suppression audited, not assumed: for every "<3" cell of a period's published statistics,
//! the values consistent with everything published for the period (all tables together, their
//! totals, the 届出件数 = ウイルス届出 + 不正アクセス届出 partition, the multi-valued tables'
//! bounds) must be the whole 1..2. On the seeds' 2019H1 and 2019H2 and on a generated period
//! of 10,000 reports; a period's statistics agree with the same period's column in the next
//! period's; charts draw no number for a withheld cell.

use crate::common;

use todokede_domain::{
    AffectedAsset, AttackType, CauseCategory, ClosedEnum, DamageCategory, Period, ReportForm, ReporterKind,
};
use todokede_publish::audit::{Var, audit};
use todokede_publish::stats::{self, CaseRecord, Cell, Row, Statistics, Table, VirusRecord};

fn seed_records() -> Vec<CaseRecord> {
    common::seed_cases().into_iter().map(|c| c.record).collect()
}

fn assert_audit_passes(s: &Statistics) {
    let findings = audit(s);
    assert!(findings.is_empty(), "{}: suppressed cells narrowed down: {findings:#?}", s.period);
}

#[test]
fn the_audit_finds_the_cell_2019h1_gave_away() {
    // What 2019H1 published before: 届出件数 12, 不正アクセス届出 11, ウイルス届出 "<3".
    let row = |k: &str, c: Cell| Row { key: k.into(), label: k.into(), cells: vec![c] };
    let s = Statistics {
        period: "2019H1".into(),
        period_label: String::new(),
        columns: vec!["2019H1".into()],
        threshold: 3,
        reports_received: 12,
        reports_confirmed: 12,
        has_data: vec![true],
        tables: vec![Table {
            key: "summary".into(),
            title: "届出件数".into(),
            partitions_total: false,
            rows: vec![
                row("reports", Cell::Count(12)),
                row("incidents", Cell::Count(12)),
                row("virus", Cell::Suppressed),
                row("unauthorized_access", Cell::Count(11)),
            ],
            total: vec![Cell::Count(12)],
        }],
    };
    let f = audit(&s);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].var, Var::Cell { table: "summary".into(), row: "virus".into() });
    assert_eq!(f[0].feasible, [1]);
}

#[test]
fn the_seed_periods_pass_the_audit_and_agree_with_each_other() {
    let records = seed_records();
    let h1 = stats::compute(&records, 12, Period::parse("2019H1").unwrap(), 3);
    let h2 = stats::compute(&records, 18, Period::parse("2019H2").unwrap(), 3);
    assert_audit_passes(&h1);
    assert_audit_passes(&h2);
    // The virus row no longer gives itself away: 12 − 11 is not published.
    let summary = h1.tables.iter().find(|t| t.key == "summary").unwrap();
    let cell = |k: &str| summary.rows.iter().find(|r| r.key == k).unwrap().cells[0];
    assert_eq!(cell("virus"), Cell::Suppressed);
    assert!(cell("unauthorized_access").is_withheld(), "{:?}", summary.rows);
    // …and 届出件数 stays published (two other cells hide it instead).
    assert_eq!(cell("reports"), Cell::Count(12));
    // 2019H1 as its own period and as 2019H2's previous column: the same cells, so the two
    // publications together give away nothing.
    for t in h2.tables.iter().filter(|t| !stats::MONTHLY.contains(&t.key.as_str())) {
        let own = h1.tables.iter().find(|x| x.key == t.key).unwrap();
        for r in &t.rows {
            let mine = own.rows.iter().find(|x| x.key == r.key).map(|x| x.cells[0]).unwrap_or(Cell::Count(0));
            assert_eq!(r.cells[1], mine, "{}.{}", t.key, r.key);
        }
        assert_eq!(t.total[1], own.total[0], "{} total", t.key);
    }
}

/// 10,000 reports of 2019H2 (and earlier periods), skewed so that rare categories, reporter
/// kinds and techniques give small cells in every table.
fn generated(n: usize) -> Vec<CaseRecord> {
    struct Rng(u64);
    impl Rng {
        fn next(&mut self, m: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % m
        }
        /// Index k: the first ones common (about 2^-(k+1)), the last two rare (a few in 10,000).
        fn skew(&mut self, len: usize) -> usize {
            if len >= 4 && self.next(4000) == 0 {
                return len - 1;
            }
            if len >= 4 && self.next(1500) == 0 {
                return len - 2;
            }
            let mut k = 0;
            while k + 1 < len.saturating_sub(2).max(1) && self.next(2) == 1 {
                k += 1;
            }
            k
        }
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let causes = [
        CauseCategory::MissingAccessControl,
        CauseCategory::WeakCredentials,
        CauseCategory::CredentialReuse,
        CauseCategory::UnpatchedSoftware,
        CauseCategory::CustomCodeVulnerability,
        CauseCategory::Phishing,
        CauseCategory::ThirdParty,
        CauseCategory::Unknown,
    ];
    let kinds = [
        ReporterKind::Company,
        ReporterKind::Individual,
        ReporterKind::LocalGovernment,
        ReporterKind::Educational,
        ReporterKind::Medical,
    ];
    let damages = [
        DamageCategory::DataDestructionExtortion,
        DamageCategory::Ransomware,
        DamageCategory::InformationLeak,
        DamageCategory::SteppingStone,
        DamageCategory::AccountTakeover,
        DamageCategory::Tampering,
    ];
    let periods = [(2019, 7), (2019, 1), (2018, 7)];
    (0..n)
        .map(|i| {
            let (y, m0) = periods[if i < n * 8 / 10 {
                0
            } else if i < n * 95 / 100 {
                1
            } else {
                2
            }];
            let month = m0 + rng.skew(6) as u8;
            let day = 1 + rng.next(28) as u8;
            let primary = causes[rng.skew(causes.len())];
            let mut cs = vec![primary];
            if rng.next(4) == 0 {
                let other = causes[rng.skew(causes.len())];
                if other != primary {
                    cs.push(other);
                }
            }
            let incident = if i % 97 == 1 { format!("G{}", i - 1) } else { format!("G{i}") };
            let form = if rng.next(40) == 0 { ReportForm::Virus } else { ReportForm::UnauthorizedAccess };
            let virus = (form == ReportForm::Virus).then(|| VirusRecord {
                name: Some(
                    ["Emotet", "LockBit ransomware", "Conficker worm", "AgentTesla", "未知の添付ファイル"][rng.skew(5)]
                        .into(),
                ),
                detections: Some(1 + rng.next(30) as u32),
            });
            CaseRecord {
                report: format!("G{i}"),
                incident,
                received_on: time::Date::from_calendar_date(y, time::Month::try_from(month).unwrap(), day).unwrap(),
                form,
                reporter_kind: Some(kinds[rng.skew(kinds.len())]),
                has_damage: Some(rng.next(5) != 0),
                // One or two kinds of act, rare ones rarely (small cells in 攻撃行為別).
                attack_types: {
                    let mut acts = vec![AttackType::ALL[rng.skew(AttackType::ALL.len())]];
                    if rng.next(4) == 0 {
                        let second = AttackType::ALL[rng.skew(AttackType::ALL.len())];
                        if !acts.contains(&second) {
                            acts.push(second);
                        }
                    }
                    acts
                },
                causes: cs,
                damages: vec![damages[rng.skew(damages.len())]],
                techniques: vec![
                    ["T1110", "T1190", "T1078", "T1566", "T1485", "T1486", "T1021.004", "T1534"][rng.skew(8)]
                        .to_owned(),
                ],
                virus,
                // 電算機の種別: none given for some, rare kinds rarely.
                assets: (rng.next(6) != 0)
                    .then(|| AffectedAsset::ALL[rng.skew(AffectedAsset::ALL.len())])
                    .into_iter()
                    .collect(),
            }
        })
        .collect()
}

#[test]
fn a_generated_period_of_10000_reports_passes_the_audit() {
    let records = generated(10_000);
    let period = Period::parse("2019H2").unwrap();
    let t = std::time::Instant::now();
    let s = stats::compute(&records, 8_000, period, 3);
    eprintln!("statistics with the audited suppression for 10,000 reports: {:?}", t.elapsed());
    let withheld: usize =
        s.tables.iter().flat_map(|t| &t.rows).flat_map(|r| &r.cells).filter(|c| c.is_withheld()).count();
    let small: usize =
        s.tables.iter().flat_map(|t| &t.rows).flat_map(|r| &r.cells).filter(|c| **c == Cell::Suppressed).count();
    eprintln!("{small} cells suppressed, {} hidden as their complement", withheld - small);
    assert!(small >= 5, "the generated period has small cells to protect ({small})");
    assert_audit_passes(&s);
    let prev = stats::compute(&records, 1_500, period.previous(), 3);
    assert_audit_passes(&prev);
}

#[test]
fn charts_draw_no_number_for_a_withheld_cell() {
    let records = seed_records();
    let s = stats::compute(&records, 18, Period::parse("2019H2").unwrap(), 3);
    let category = s.tables.iter().find(|t| t.key == "category").unwrap();
    let shown = category.rows.iter().filter(|r| matches!(r.cells[0], Cell::Count(n) if n > 0)).count();
    let withheld = category.rows.iter().filter(|r| r.cells[0].is_withheld()).count();
    assert!(withheld > 0, "2019H2 has a small category");
    let svg = todokede_publish::charts::bar_chart(&s, "category", "分類別");
    // One filled bar per published count; a withheld one is only its label.
    let bars = svg.matches("fill=\"#1F5F9F\"").count();
    assert_eq!(bars, shown, "{svg}");
    assert!(svg.contains("&lt;3"), "the withheld label is drawn");
    let line = todokede_publish::charts::monthly_line(&s, "月別");
    let month = s.tables.iter().find(|t| t.key == "month").unwrap();
    let points = month.rows.iter().filter(|r| !r.cells[0].is_withheld()).count();
    assert_eq!(line.matches("<circle").count(), points, "no point for a withheld month");
}

/// Issue 16, item 7 (DOMAIN.md §3.1): the virus side of 届出状況 — ウイルス届出件数 split into
/// 感染被害あり / 検知のみ, per month (all and infected), 主なウイルス被害の内訳 by family and the
/// detections — counted per report, under the same audited suppression as every other table.
#[test]
fn the_virus_tables_count_per_report_and_pass_the_audit() {
    let keys = ["virus", "virus_month", "virus_month_infected", "virus_family", "virus_detections"];
    // 2019H1 of the seeds: one virus report (the worm of #7), infected.
    let records = seed_records();
    let h1 = stats::compute(&records, 12, Period::parse("2019H1").unwrap(), 3);
    for k in keys {
        assert!(h1.tables.iter().any(|t| t.key == k), "2019H1 lacks {k}");
    }
    let virus = h1.tables.iter().find(|t| t.key == "virus").unwrap();
    assert_eq!(virus.total[0], Cell::Suppressed, "one virus report is a small cell");
    assert_eq!(virus.rows.iter().find(|r| r.key == "detected_only").unwrap().cells[0], Cell::Count(0));
    assert_audit_passes(&h1);
    // 2019H2 has no virus report of its own; its 2019H1 column is 2019H1's.
    let h2 = stats::compute(&records, 18, Period::parse("2019H2").unwrap(), 3);
    let v2 = h2.tables.iter().find(|t| t.key == "virus").unwrap();
    assert_eq!((v2.total[0], v2.total[1]), (Cell::Count(0), Cell::Suppressed));
    assert_audit_passes(&h2);

    // The generated period: about 250 virus reports.
    let records = generated(10_000);
    let period = Period::parse("2019H2").unwrap();
    let s = stats::compute(&records, 8_000, period, 3);
    assert_audit_passes(&s);
    let t = |k: &str| s.tables.iter().find(|t| t.key == k).unwrap();
    let count = |c: Cell| c.count().unwrap_or(0);
    let virus_reports =
        records.iter().filter(|r| period.contains(r.received_on) && r.form == ReportForm::Virus).count();
    let infected = records
        .iter()
        .filter(|r| period.contains(r.received_on) && r.form == ReportForm::Virus && r.has_damage == Some(true))
        .count();
    assert!(virus_reports > 100, "{virus_reports}");
    assert_eq!(count(t("virus").total[0]), virus_reports as u64);
    assert_eq!(count(t("virus_month").total[0]), virus_reports as u64);
    assert_eq!(count(t("virus_family").total[0]), infected as u64);
    let summary = t("summary");
    let cell = |k: &str| summary.rows.iter().find(|r| r.key == k).unwrap().cells[0];
    assert_eq!(count(cell("virus")), virus_reports as u64);
    // 検出数: the reports' own counts summed.
    let detections: u64 = records
        .iter()
        .filter(|r| period.contains(r.received_on) && r.form == ReportForm::Virus)
        .map(|r| u64::from(r.virus.as_ref().unwrap().detections.unwrap()))
        .sum();
    assert_eq!(t("virus_detections").rows[0].cells[0], Cell::Count(detections));
    // The families IPA names, Emotet first; months only of the period itself.
    assert_eq!(t("virus_family").rows[0].label, "Emotet");
    assert!(t("virus_month").rows.iter().all(|r| r.cells.len() == 1 && r.key.starts_with("2019-")));
    // A lone small family in the infected partition is protected across tables.
    let small = t("virus_family").rows.iter().filter(|r| r.cells[0] == Cell::Suppressed).count();
    eprintln!("virus families suppressed: {small}");
}
