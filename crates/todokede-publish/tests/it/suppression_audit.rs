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
        claims: vec![],
        released: vec![],
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

// ---------------------------------------------------------------------------------------------
// The editor's recoveries (supp16): the joint model of the period's reports, 表2-1 and the body
// text, and the charts.

/// The editor's reading of a period, written out as the editor did it and independent of the
/// audit: 届出件数 = ウイルス "<3" + 不正アクセス; うち被害あり is printed; ウイルス届出 検知のみ is
/// 0, so every virus report has damage; 被害なし（未遂） (at least 1) is then an
/// unauthorized-access report without damage. So ウイルス ≤ 届出件数 − うち被害あり − 被害なし:
/// Some(that bound) when it pins the "<3" (to 1, or to nothing at all).
fn editors_chain(s: &Statistics) -> Option<u64> {
    let c = |t: &str, r: &str| -> Option<Cell> {
        s.tables.iter().find(|x| x.key == t)?.rows.iter().find(|x| x.key == r).map(|x| x.cells[0])
    };
    if c("summary", "virus")? != Cell::Suppressed || c("virus", "detected_only")? != Cell::Count(0) {
        return None;
    }
    let reports = c("summary", "reports")?.count()?;
    let ua_damage = c("summary", "unauthorized_access_damage")?.count()?;
    let undamaged = match c("damage", "none")? {
        Cell::Count(n) => n,
        Cell::Suppressed => 1,
        Cell::Hidden => s.threshold,
    };
    let at_most = reports.saturating_sub(ua_damage + undamaged);
    (at_most < s.threshold - 1).then_some(at_most)
}

fn table_cell(s: &Statistics, t: &str, r: &str) -> Option<Cell> {
    s.tables.iter().find(|x| x.key == t)?.rows.iter().find(|x| x.key == r).map(|x| x.cells[0])
}

/// What the editor recovered from the old 2019H1 tables, cell for cell: the joint audit finds
/// ウイルス届出 = 1 (and with it 主なウイルス被害「不明」 and 被害なし（未遂）), which the old
/// table-by-table audit passed.
#[test]
fn the_joint_audit_recovers_what_the_editor_recovered_from_the_old_2019h1_tables() {
    let row = |k: &str, c: Cell| Row { key: k.into(), label: k.into(), cells: vec![c] };
    let table = |key: &str, rows: Vec<Row>, total: Cell| Table {
        key: key.into(),
        title: key.into(),
        partitions_total: false,
        rows,
        total: vec![total],
    };
    use Cell::{Count, Hidden, Suppressed};
    let s = Statistics {
        period: "2019H1".into(),
        period_label: String::new(),
        columns: vec!["2019H1".into()],
        threshold: 3,
        reports_received: 12,
        reports_confirmed: 12,
        has_data: vec![true],
        claims: vec![],
        released: vec![],
        tables: vec![
            table(
                "summary",
                vec![
                    row("reports", Count(12)),
                    row("incidents", Count(12)),
                    row("virus", Suppressed),
                    row("virus_infected", Suppressed),
                    row("unauthorized_access", Hidden),
                    row("unauthorized_access_damage", Count(10)),
                ],
                Count(12),
            ),
            table("damage", vec![row("tampering", Count(4)), row("none", Suppressed)], Count(12)),
            table("virus", vec![row("infected", Suppressed), row("detected_only", Count(0))], Suppressed),
            table("virus_family", vec![row("unknown", Suppressed)], Suppressed),
        ],
    };
    assert_eq!(editors_chain(&s), Some(1));
    let f = audit(&s);
    let pinned = |t: &str, r: &str| {
        f.iter().find(|x| x.var == Var::Cell { table: t.into(), row: r.into() }).map(|x| x.feasible.clone())
    };
    assert_eq!(pinned("summary", "virus"), Some(vec![1]), "{f:#?}");
    assert_eq!(pinned("damage", "none"), Some(vec![1]), "{f:#?}");
    assert_eq!(pinned("virus_family", "unknown"), Some(vec![1]), "{f:#?}");
}

/// 2019H1 of the seeds as the README publishes it (classify --labels: 2019H1-06 is the one
/// report without damage): neither the editor's chain nor anything else narrows a "<3", in the
/// statistics alone and in the publication (表2-1 lists all 12 reports).
#[test]
fn the_seeds_2019h1_publication_keeps_its_promise() {
    let records = seed_records();
    let h1 = stats::compute(&records, 12, Period::parse("2019H1").unwrap(), 3);
    assert_eq!(editors_chain(&h1), None, "{:#?}", h1.tables);
    assert_audit_passes(&h1);
    let doc = common::draft("2019H1", &[], vec![]);
    let s = &doc.statistics;
    assert!(!s.claims.is_empty(), "表2-1's rows are claims of the audit");
    assert_eq!(editors_chain(s), None);
    assert_audit_passes(s);
    // 表2-1 lists every report: its rows tell every count of the period (an editor counted
    // 攻撃行為 from the rows' texts, 原因別 from 分類別), so the period's column is printed
    // whole and the note says why — never a "<3" the page cannot keep.
    every_cell_of_the_period_is_a_number(s);
    let note = stats::suppression_note(s);
    assert!(
        note.contains("表 2-1 にすべて掲げており") && note.contains("今期の値は 3 件未満も秘匿せずに示す"),
        "{note}"
    );
    assert!(note.contains("1〜2 件のいずれであるかを逆算できない"), "{note}");
}

/// 2019H2 of the seeds (supp16 (b)): 2-1-5 said 「被害が 1 件」 where the appendix showed "<3"
/// for フィッシング, and 表2-1 (every report with its 届出日) gave away the months and the
/// reporter kinds printed "<3"/"x". Now each count the body prints agrees with its cell, and
/// the publication with its 表2-1 passes the audit.
#[test]
fn the_seeds_2019h2_body_text_and_table_2_1_give_nothing_away() {
    let doc = common::draft("2019H2", &["damage.data_destruction_extortion"], common::featured_2019h2());
    let s = &doc.statistics;
    assert_audit_passes(s);
    every_cell_of_the_period_is_a_number(s);
    for t in ["month", "reporter_kind", "category"] {
        let tb = s.tables.iter().find(|x| x.key == t).unwrap();
        assert!(tb.rows.iter().all(|r| r.cells[0] != Cell::Suppressed), "{t}: {:?}", tb.rows);
    }
    // Every group's stated count is its 分類別 cell as printed (or no number at all).
    let count = regex::Regex::new(r"が (\d+) 件届け出られ").unwrap();
    for g in &doc.groups {
        let text: String = g.points.iter().map(|p| p.body.text.clone()).collect();
        let cell = table_cell(s, "category", &g.key);
        let stated = count.captures(&text).map(|c| c[1].to_owned());
        match (cell, stated) {
            (Some(Cell::Count(n)), Some(k)) => assert_eq!(n.to_string(), k, "{}: {text}", g.key),
            (Some(c), Some(k)) if c.is_withheld() => panic!("{}: the text says {k} 件, the table {c:?}", g.key),
            _ => {}
        }
    }
    let phishing = doc.groups.iter().find(|g| g.key == "phishing").unwrap();
    let text: String = phishing.points.iter().map(|p| p.body.text.clone()).collect();
    assert_eq!(table_cell(s, "category", "phishing"), Some(Cell::Count(1)), "表2-1 shows the one case");
    assert!(text.contains("1 件"), "{text}");
    let svg = todokede_publish::charts::bar_chart(s, "category", "分類別");
    assert!(!svg.contains("&lt;3"), "the chart agrees with the table and the text");
}

/// 10,000 reports of 2019H2 in which every report but one had damage and only one was a virus
/// report: the editor's chain would pin ウイルス届出 "<3" to 1; the published statistics keep it.
#[test]
fn a_generated_period_of_10000_reports_resists_the_editors_chain() {
    let period = Period::parse("2019H2").unwrap();
    let mut records = generated(10_000);
    let mut virus_left = 1;
    let mut undamaged_left = 1;
    for r in records.iter_mut().filter(|r| period.contains(r.received_on)) {
        r.has_damage = Some(true);
        r.damages.retain(|d| *d != DamageCategory::None);
        if r.form == ReportForm::Virus {
            if virus_left > 0 {
                virus_left -= 1;
            } else {
                r.form = ReportForm::UnauthorizedAccess;
                r.virus = None;
            }
        } else if undamaged_left > 0 && r.incident == r.report {
            undamaged_left -= 1;
            r.has_damage = Some(false);
            r.damages = vec![DamageCategory::None];
        }
    }
    let s = stats::compute(&records, 8_000, period, 3);
    assert_eq!(table_cell(&s, "summary", "virus"), Some(Cell::Suppressed));
    assert_eq!(editors_chain(&s), None, "{:?}", s.tables.iter().find(|t| t.key == "summary"));
    assert_audit_passes(&s);
}

fn generated_cases(records: &[CaseRecord]) -> Vec<todokede_publish::document::CaseInput> {
    records
        .iter()
        .map(|r| todokede_publish::document::CaseInput {
            record: r.clone(),
            description: "ウェブサーバに不正アクセスされ、データベースの内容を消去された。".into(),
            discovery: None,
            damage: None,
            cause: None,
            response: None,
            virus: None,
            known: todokede_publish::KnownIdentifiers { reporter_label: "届出者".into(), ..Default::default() },
            evidence: vec![],
        })
        .collect()
}

/// The generated period's publication: a trend of a rare damage ("<3" in the appendix) is told
/// without its count, and the statistics with 表2-1's sample pass the audit.
#[test]
fn a_generated_period_of_10000_reports_prints_no_count_the_appendix_withholds() {
    let period = Period::parse("2019H2").unwrap();
    let records = generated(10_000);
    let s = stats::compute(&records, 8_000, period, 3);
    let damage = s.tables.iter().find(|t| t.key == "damage").unwrap();
    let rare = damage.rows.iter().find(|r| r.cells[0] == Cell::Suppressed).expect("a rare damage").key.clone();
    let truth =
        records.iter().filter(|r| period.contains(r.received_on) && r.damages.iter().any(|d| d.key() == rare)).count();
    let cases = generated_cases(&records);
    let choices = todokede_publish::document::DraftChoices {
        featured: vec![],
        notable: vec![format!("damage.{rare}")],
        keep: Default::default(),
        listed: vec![],
    };
    let doc = todokede_publish::document::generate(period, &cases, &records, &choices, s);
    assert_audit_passes(&doc.statistics);
    let chapter = doc.technique_chapters.first().expect("the trend chapter");
    let intro: String = chapter.paragraphs.iter().map(|t| t.text.clone()).collect();
    assert!(!intro.contains(&format!("{truth} 件")), "{intro}");
    assert!(intro.contains("3 件未満"), "{intro}");
}

/// Charts (supp16 (c)): a withheld cell is a hatched, unfilled box with its label in the text
/// colour beside it — never a bar, a point or a faint mark at a value — and a value label sits
/// clear of its point and of the axis.
#[test]
fn charts_draw_a_withheld_cell_as_a_hatched_box_and_labels_clear_of_the_axis() {
    let records = seed_records();
    let mut s = stats::compute(&records, 18, Period::parse("2019H2").unwrap(), 3);
    let month = s.tables.iter_mut().find(|t| t.key == "month").unwrap();
    // One withheld month of each kind, whatever the suppression chose.
    use Cell::{Count, Hidden, Suppressed};
    for (r, c) in month.rows.iter_mut().zip([Count(0), Suppressed, Hidden, Count(3), Count(7), Count(2)]) {
        r.cells[0] = c;
    }
    let zero = 0;
    let line = todokede_publish::charts::monthly_line(&s, "月別");
    let texts: Vec<(f64, f64, String, String)> =
        regex::Regex::new(r#"<text x="([\d.]+)" y="([\d.]+)"[^>]*?fill="(#[0-9A-Fa-f]+)"[^>]*>([^<]*)</text>"#)
            .unwrap()
            .captures_iter(&line)
            .map(|c| (c[1].parse().unwrap(), c[2].parse().unwrap(), c[3].to_uppercase(), c[4].trim().to_owned()))
            .collect();
    let circles: Vec<(f64, f64)> = regex::Regex::new(r#"<circle cx="([\d.]+)" cy="([\d.]+)""#)
        .unwrap()
        .captures_iter(&line)
        .map(|c| (c[1].parse().unwrap(), c[2].parse().unwrap()))
        .collect();
    for label in ["&lt;3", "x"] {
        let (_, _, colour, _) = texts.iter().find(|t| t.3 == label).unwrap_or_else(|| panic!("{label}: {line}"));
        assert_eq!(colour, "#222222", "{label} is drawn in the text colour");
    }
    assert_eq!(circles.len(), 4, "no point for the two withheld months");
    // The July "0": its baseline at least 6 px above its point on the axis.
    let (cx, cy) = circles[zero];
    let (_, y, _, _) = texts.iter().find(|t| t.3 == "0" && (t.0 - cx).abs() < 1.0).expect("the 0 label");
    assert!(*y <= cy - 6.0, "「0」 at y={y} touches its point on the axis at y={cy}");
    // Hatching: an unfilled box per withheld month.
    let hatches = line.matches("stroke=\"#6B7480\"").count();
    assert!(hatches >= 2 * 3, "{hatches} hatch strokes");
    let bars = todokede_publish::charts::bar_chart(&s, "category", "分類別");
    assert!(!bars.contains("#B8BFC7"), "no faint grey marks");
}

/// The charts as the PDF prints them when 表2-1 lists only the featured cases (so the appendix
/// withholds small cells): the withheld labels reach the page as text beside their hatched band
/// (target/publication/supp16-withheld-charts.pdf, pages kept for a look).
#[test]
fn the_pdf_prints_the_withheld_labels_of_the_charts() {
    if !(todokede_testkit::requires::ipaex_fonts() && todokede_testkit::requires::tool("pdftotext")) {
        return;
    }
    let cases = common::seed_cases();
    let period = Period::parse("2019H2").unwrap();
    let records: Vec<CaseRecord> = cases.iter().map(|c| c.record.clone()).collect();
    let s = stats::compute(&records, records.len() as u64, period, 3);
    let choices = todokede_publish::document::DraftChoices {
        featured: common::featured_2019h2(),
        notable: vec!["damage.data_destruction_extortion".into()],
        keep: Default::default(),
        listed: vec!["2019H2-02".into()],
    };
    let doc = todokede_publish::document::generate(period, &cases, &records, &choices, s);
    assert_audit_passes(&doc.statistics);
    let month = doc.statistics.tables.iter().find(|t| t.key == "month").unwrap();
    let withheld: Vec<String> =
        month.rows.iter().filter(|r| r.cells[0].is_withheld()).map(|r| r.cells[0].display(3)).collect();
    assert!(!withheld.is_empty(), "a withheld month: {:?}", month.rows);
    let opts = todokede_publish::render::RenderOptions { draft: false, issued: "2026年12月".into() };
    let pdf = todokede_publish::render::pdf(&doc, &opts).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/publication");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("supp16-withheld-charts.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let out = std::process::Command::new("pdftotext").args(["-layout"]).arg(&path).arg("-").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let page = text.split('\u{c}').find(|p| p.contains("図 付-2")).expect("the page of 図 付-2");
    for label in &withheld {
        assert!(page.contains(label.as_str()), "{label} is not on the chart page:\n{page}");
    }
}

/// Every cell and total of the period's own column is printed as its number (表2-1 lists
/// every report of the period); the earlier periods' columns may still withhold.
fn every_cell_of_the_period_is_a_number(s: &Statistics) {
    for t in &s.tables {
        assert!(!t.total[0].is_withheld(), "{}: total {:?}", t.key, t.total);
        for r in &t.rows {
            assert!(!r.cells[0].is_withheld(), "{} 「{}」: {:?}", t.key, r.label, r.cells);
        }
    }
}
