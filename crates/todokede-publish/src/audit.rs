//! The suppression audit: what a reader can work out from everything published for a period,
//! over the joint model of the period's reports, not table by table.
//!
//! # The promise
//! A cell printed "<N" (N the threshold) tells the reader that its count is one of 1, …, N−1
//! (zero is printed as 0). The publication keeps its promise (「公表する全ての表を合わせても逆算
//! できない」) when, for every such cell, **each** of the values 1, …, N−1 is the cell's value in
//! some non-negative integer assignment of the period's reports to their atomic classes that is
//! consistent with everything the publication prints: every cell of every statistics table and
//! chart (a count is itself, "<N" is 1…N−1, "x" is at least N), every total, the 表2-1 rows and
//! the counts the body text states. An audit [`Finding`] is a "<N" cell for which some value of
//! 1…N−1 is impossible — the reader can narrow it down (to one value, or away from one).
//!
//! # The joint model
//! The reader's variables are the period's incidents and reports split into atomic classes by
//! the dimensions that link the tables: the report form (ウイルス / 不正アクセス), whether it
//! reports damage (被害あり / なし・不明) and, for the period's own column, the month it was
//! received. Every published count is a linear function of those classes or a row of a table
//! over one of their sums:
//! - 届出件数 = Σ reports; ウイルス届出 = Σ virus reports, うち感染被害あり its damaged ones;
//!   不正アクセス届出 and うち被害あり likewise; インシデント件数 = Σ incidents (reports and
//!   incidents are the same classes when the two counts printed are equal, else linked only by
//!   their totals);
//! - ウイルス届出件数: 感染被害あり / 検知のみ = the virus classes with / without damage;
//!   月別, ウイルス届出（月別）, うち感染被害あり（月別） = the classes of each month;
//! - 被害内容別's 被害なし（未遂） is at most the incidents without damage; 原因別's total (the
//!   damaged incidents) at most the damaged incidents and the damaged unauthorized-access reports;
//! - the single-valued tables (分類別, 届出者種別) partition the incidents, 主なウイルス被害の内訳
//!   the damaged virus reports, 攻撃行為別's rows its acts (each row at most the incidents);
//!   a multi-valued table's row (複数計上) is at most its total, and 電算機の種別's rows add up
//!   to at least it (an incident that names no machine is 不明);
//! - what the body states ([`Claim`]): 表2-1's rows by month, by the group (分類) they stand in
//!   and by reporter kind — lower bounds, exact when 表2-1 lists every report of the period —
//!   and the counts the text prints.
//!
//! For each "<N" cell the audit finds the least and the greatest value it takes over the
//! model's non-negative integer solutions (an integer program per bound, microlp's branch and
//! bound); with N = 3 the two bounds are the whole question (is 1 possible, is 2). [`protect`] hides further cells ("x") until there are no findings; a cell
//! that the body alone pins (表2-1 lists every case of the month) cannot be protected by the
//! tables: it is printed as its number and named in the page's note ([`Statistics::released`]).

use crate::stats::{Cell, MONTHLY, Statistics};
use microlp::{ComparisonOp, OptimizationDirection, Problem};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A variable of the reader's model: a cell of one column, that column's incident count, or
/// an atomic class of its reports (or incidents).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Var {
    Total,
    Cell {
        table: String,
        row: String,
    },
    /// Incidents (or, `reports`, reports) of one form, damage status and month (index into
    /// the period's months; 0 for a column without months).
    Class {
        virus: bool,
        damaged: bool,
        month: usize,
        reports: bool,
    },
}

/// A count the publication states outside the statistics tables, for the period's column:
/// the sum of `rows` of `table` is `value` (`exact`) or at least `value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub table: String,
    pub rows: Vec<String>,
    pub exact: bool,
    pub value: u64,
    /// Where it is printed (表2-1, a chapter), for the finding's message.
    pub source: String,
}

#[derive(Debug, Clone)]
struct Linear {
    terms: Vec<(usize, i64)>,
    /// Σ coef·x = rhs (or ≤ rhs).
    eq: bool,
    rhs: i64,
}

/// A suppressed cell whose value can be narrowed down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub column: usize,
    pub var: Var,
    /// The values consistent with everything published (a subset of 1..threshold−1).
    pub feasible: Vec<i64>,
}

struct Model {
    vars: Vec<Var>,
    lo: Vec<i64>,
    hi: Vec<i64>,
    cons: Vec<Linear>,
    index: BTreeMap<Var, usize>,
}

const BIG: i64 = 1 << 40;

/// Which atomic classes (form is virus, damaged, month) a printed count sums.
type ClassFilter<'a> = dyn Fn(bool, bool, usize) -> bool + 'a;

impl Model {
    fn var(&mut self, v: Var) -> usize {
        if let Some(i) = self.index.get(&v) {
            return *i;
        }
        self.vars.push(v.clone());
        self.lo.push(0);
        self.hi.push(BIG);
        self.index.insert(v, self.vars.len() - 1);
        self.vars.len() - 1
    }
    fn tighten(&mut self, i: usize, (lo, hi): (i64, i64)) {
        self.lo[i] = self.lo[i].max(lo);
        self.hi[i] = self.hi[i].min(hi);
    }
    /// Σ lhs = Σ rhs.
    fn equal(&mut self, lhs: &[usize], rhs: &[usize]) {
        self.relate(lhs, rhs, true);
    }
    /// Σ lhs ≤ Σ rhs.
    fn at_most(&mut self, lhs: &[usize], rhs: &[usize]) {
        self.relate(lhs, rhs, false);
    }
    fn relate(&mut self, lhs: &[usize], rhs: &[usize], eq: bool) {
        let mut terms: BTreeMap<usize, i64> = BTreeMap::new();
        for i in lhs {
            *terms.entry(*i).or_default() += 1;
        }
        for i in rhs {
            *terms.entry(*i).or_default() -= 1;
        }
        let terms: Vec<(usize, i64)> = terms.into_iter().filter(|(_, a)| *a != 0).collect();
        if !terms.is_empty() {
            self.cons.push(Linear { terms, eq, rhs: 0 });
        }
    }
}

fn bounds(c: Cell, threshold: u64) -> (i64, i64) {
    match c {
        Cell::Count(n) => (n as i64, n as i64),
        Cell::Suppressed => (1, threshold as i64 - 1),
        Cell::Hidden => (threshold as i64, BIG),
    }
}

/// Tables whose rows each count an incident at most once and together every incident once.
const PARTITIONS: &[&str] = &["category", "reporter_kind", "month"];

fn cell(table: &str, row: &str) -> Var {
    Var::Cell { table: table.to_owned(), row: row.to_owned() }
}

/// The reader's variable behind a published cell: the same count printed in two tables is one
/// variable (うち感染被害あり in 届出件数 and in the virus table), and a virus table's 合計 is
/// the virus count, not the incident count.
pub fn var_of(table: &str, row: Option<&str>) -> Var {
    match (table, row) {
        ("virus", Some("infected")) => cell("summary", "virus_infected"),
        ("virus" | "virus_month", None) => cell("summary", "virus"),
        ("virus_month_infected" | "virus_family", None) => cell("summary", "virus_infected"),
        ("virus_detections", _) => cell("virus_detections", "detections"),
        // Their 合計 is not the incident count: the acts, the incidents with damage.
        ("attack_type", None) => cell("attack_type", "acts"),
        ("cause", None) => cell("cause", "with_damage"),
        ("summary", Some("incidents")) | (_, None) => Var::Total,
        (t, Some(r)) => cell(t, r),
    }
}

/// The period's months as the monthly tables key them.
fn month_keys(s: &Statistics, col: usize) -> Vec<String> {
    let has_months = col == 0 && s.tables.iter().any(|t| MONTHLY.contains(&t.key.as_str()));
    match todokede_domain::Period::parse(&s.period) {
        Ok(p) if has_months => p.months().iter().map(|(y, m)| format!("{y}-{m:02}")).collect(),
        _ => vec![],
    }
}

/// The reader's model of column `col`. With `only`, the published cells other than `only`
/// are left free: what the definitions and the body's claims alone allow for it.
fn model(s: &Statistics, col: usize, only: Option<&Var>) -> Model {
    let mut m = Model { vars: vec![], lo: vec![], hi: vec![], cons: vec![], index: BTreeMap::new() };
    let total = m.var(Var::Total);
    let published = |t: &str, r: Option<&str>| -> Option<Cell> {
        let table = s.tables.iter().find(|x| x.key == t)?;
        match r {
            None => table.total.get(col).copied(),
            Some(r) => table.rows.iter().find(|x| x.key == r).and_then(|x| x.cells.get(col).copied()),
        }
    };
    let has = |t: &str| s.tables.iter().any(|x| x.key == t && x.total.len() > col);
    // Reports and incidents are the same classes when the two printed counts are equal.
    let same = only.is_none()
        && matches!(
            (published("summary", Some("reports")), published("summary", Some("incidents"))),
            (Some(Cell::Count(a)), Some(Cell::Count(b))) if a == b
        );
    let months = month_keys(s, col);
    let nm = months.len().max(1);
    let class = |m: &mut Model, virus: bool, damaged: bool, month: usize, reports: bool| -> usize {
        if reports && same {
            return m.var(Var::Class { virus, damaged, month, reports: false });
        }
        m.var(Var::Class { virus, damaged, month, reports })
    };
    // Every class, then the sums the tables print.
    let mut incidents = vec![];
    let mut reports = vec![];
    for virus in [false, true] {
        for damaged in [false, true] {
            for month in 0..nm {
                incidents.push(((virus, damaged, month), class(&mut m, virus, damaged, month, false)));
                reports.push(((virus, damaged, month), class(&mut m, virus, damaged, month, true)));
            }
        }
    }
    let sum = |of: &[((bool, bool, usize), usize)], f: &ClassFilter<'_>| -> Vec<usize> {
        of.iter().filter(|((v, d, mo), _)| f(*v, *d, *mo)).map(|(_, i)| *i).collect()
    };
    let all_i = sum(&incidents, &|_, _, _| true);
    let all_r = sum(&reports, &|_, _, _| true);
    m.equal(&[total], &all_i);
    let n_reports = m.var(cell("summary", "reports"));
    m.equal(&[n_reports], &all_r);
    if !same {
        // An incident is in the classes of its first report's form and month, and is damaged
        // when one of its reports is: its first report is in its form and month, and undamaged
        // when it is; a damaged one has a damaged report.
        m.at_most(&[total], &[n_reports]);
        for virus in [false, true] {
            for month in 0..nm {
                let f = |v: bool, _: bool, mo: usize| v == virus && mo == month;
                let g = |v: bool, d: bool, mo: usize| v == virus && !d && mo == month;
                let (i, r) = (sum(&incidents, &f), sum(&reports, &f));
                m.at_most(&i, &r);
                let (i, r) = (sum(&incidents, &g), sum(&reports, &g));
                m.at_most(&i, &r);
            }
        }
        let (i, r) = (sum(&incidents, &|_, d, _| d), sum(&reports, &|_, d, _| d));
        m.at_most(&i, &r);
    }
    if has("summary") {
        let defs: [(&str, &ClassFilter<'_>); 4] = [
            ("virus", &|v, _, _| v),
            ("virus_infected", &|v, d, _| v && d),
            ("unauthorized_access", &|v, _, _| !v),
            ("unauthorized_access_damage", &|v, d, _| !v && d),
        ];
        for (row, f) in defs {
            let x = m.var(cell("summary", row));
            let classes = sum(&reports, f);
            m.equal(&[x], &classes);
        }
    }
    if has("virus") {
        let x = m.var(cell("virus", "detected_only"));
        let classes = sum(&reports, &|v, d, _| v && !d);
        m.equal(&[x], &classes);
    }
    for (k, key) in months.iter().enumerate() {
        if has("month") {
            let x = m.var(cell("month", key));
            let classes = sum(&incidents, &|_, _, mo| mo == k);
            m.equal(&[x], &classes);
        }
        if has("virus_month") {
            let x = m.var(cell("virus_month", key));
            let classes = sum(&reports, &|v, _, mo| v && mo == k);
            m.equal(&[x], &classes);
        }
        if has("virus_month_infected") {
            let x = m.var(cell("virus_month_infected", key));
            let classes = sum(&reports, &|v, d, mo| v && d && mo == k);
            m.equal(&[x], &classes);
        }
    }
    let undamaged = sum(&incidents, &|_, d, _| !d);
    let damaged = sum(&incidents, &|_, d, _| d);
    for t in &s.tables {
        let Some(t_total) = t.total.get(col) else { continue };
        let total_var = m.var(var_of(&t.key, None));
        if only.is_none_or(|o| *o == m.vars[total_var]) {
            m.tighten(total_var, bounds(*t_total, s.threshold));
        }
        let mut rows = vec![];
        for r in &t.rows {
            let Some(c) = r.cells.get(col) else { continue };
            let i = m.var(var_of(&t.key, Some(&r.key)));
            if only.is_none_or(|o| *o == m.vars[i]) {
                m.tighten(i, bounds(*c, s.threshold));
            }
            rows.push((r.key.as_str(), i));
        }
        let row_vars: Vec<usize> = rows.iter().map(|(_, i)| *i).collect();
        match t.key.as_str() {
            "summary" | "virus" | "virus_month" | "virus_month_infected" => {}
            k if PARTITIONS.contains(&k) => m.equal(&row_vars, &[total_var]),
            "virus_family" => m.equal(&row_vars, &[total_var]),
            "virus_detections" => {
                // Every virus report is at least one detection.
                let v = m.var(cell("summary", "virus"));
                m.at_most(&[v], &[total_var]);
            }
            "attack_type" => {
                m.equal(&row_vars, &[total_var]);
                // An incident has each kind of act once: a row is at most the incident count.
                for i in &row_vars {
                    m.at_most(&[*i], &[total]);
                }
            }
            key => {
                for i in &row_vars {
                    m.at_most(&[*i], &[total_var]);
                }
                if key == "host_kind" {
                    // Every incident names a machine or counts as 不明.
                    m.at_most(&[total_var], &row_vars);
                }
                if key == "damage"
                    && let Some((_, none)) = rows.iter().find(|(k, _)| *k == "none")
                {
                    m.at_most(&[*none], &undamaged);
                }
                if key == "cause" {
                    // 原因別's incidents with damage: at most the damaged incidents, and at most
                    // the unauthorized-access reports with damage.
                    m.at_most(&[total_var], &damaged);
                    let ua = m.var(cell("summary", "unauthorized_access_damage"));
                    m.at_most(&[total_var], &[ua]);
                }
            }
        }
    }
    if col == 0 {
        for c in &s.claims {
            let vars: Vec<usize> = c.rows.iter().map(|r| m.var(var_of(&c.table, Some(r)))).collect();
            let k = m.var(Var::Cell { table: "_claim".into(), row: format!("{}:{}", c.source, c.rows.join("+")) });
            m.tighten(k, (c.value as i64, if c.exact { c.value as i64 } else { BIG }));
            m.equal(&[k], &vars);
        }
    }
    m
}

/// The least and the greatest value variable `i` takes over the non-negative integer
/// solutions of model `m` (microlp's branch and bound; where it runs out of time, the LP
/// relaxation's range, rounded inwards — a relaxation the reader could only narrow further, so
/// the audit stays strict about what it can prove). None when nothing is consistent.
fn range(m: &Model, i: usize) -> Option<(i64, i64)> {
    let solve = |direction: OptimizationDirection, integer: bool| -> Option<f64> {
        let mut p = Problem::new(direction);
        let vars: Vec<microlp::Variable> = (0..m.vars.len())
            .map(|j| {
                let obj = if j == i { 1.0 } else { 0.0 };
                if integer {
                    let clamp = |x: i64| x.clamp(0, i64::from(i32::MAX)) as i32;
                    p.add_integer_var(obj, (clamp(m.lo[j]), clamp(m.hi[j])))
                } else {
                    let hi = if m.hi[j] >= BIG { f64::INFINITY } else { m.hi[j] as f64 };
                    p.add_var(obj, (m.lo[j] as f64, hi))
                }
            })
            .collect();
        for c in &m.cons {
            let terms: Vec<(microlp::Variable, f64)> = c.terms.iter().map(|(j, a)| (vars[*j], *a as f64)).collect();
            p.add_constraint(terms.as_slice(), if c.eq { ComparisonOp::Eq } else { ComparisonOp::Le }, c.rhs as f64);
        }
        if integer {
            p.set_time_limit(std::time::Duration::from_millis(500));
        }
        match p.solve() {
            Ok(microlp::SolveOutcome::Solution(s)) => Some(s.var_value(vars[i])),
            _ => None,
        }
    };
    let bound = |direction: OptimizationDirection| -> Option<f64> {
        solve(direction, true).or_else(|| solve(direction, false))
    };
    let lo = bound(OptimizationDirection::Minimize)?;
    let hi = bound(OptimizationDirection::Maximize).unwrap_or(BIG as f64);
    let (lo, hi) = ((lo - 1e-6).ceil() as i64, (hi + 1e-6).floor() as i64);
    (lo <= hi).then_some((lo, hi))
}

/// The values among 1..threshold−1 that variable `i` can take in model `m`.
fn values(m: &Model, i: usize, threshold: u64) -> Vec<i64> {
    let Some((lo, hi)) = range(m, i) else { return vec![] };
    (1..threshold as i64).filter(|v| (lo..=hi).contains(v)).collect()
}

fn audit_column(s: &Statistics, col: usize) -> Vec<Finding> {
    let m = model(s, col, None);
    let mut out = vec![];
    for v in suppressed(s, col) {
        let i = m.index[&v];
        let feasible_values = values(&m, i, s.threshold);
        if feasible_values.len() < s.threshold as usize - 1 {
            out.push(Finding { column: col, var: v, feasible: feasible_values });
        }
    }
    out
}

/// The variables behind the "<N" cells of a column.
fn suppressed(s: &Statistics, col: usize) -> Vec<Var> {
    let mut out = BTreeSet::new();
    for t in &s.tables {
        if t.total.get(col) == Some(&Cell::Suppressed) {
            out.insert(var_of(&t.key, None));
        }
        for r in t.rows.iter().filter(|r| r.cells.get(col) == Some(&Cell::Suppressed)) {
            out.insert(var_of(&t.key, Some(&r.key)));
        }
    }
    out.into_iter().collect()
}

/// Every "<N" cell, in every column, whose value the published statistics (and, for the
/// period's column, the body's [`Claim`]s) pin down further.
pub fn audit(s: &Statistics) -> Vec<Finding> {
    let columns = s.tables.iter().map(|t| t.total.len()).max().unwrap_or(0);
    (0..columns).flat_map(|c| audit_column(s, c)).collect()
}

/// The label of a variable's cell, for the page's note (「月別 2019年12月」).
fn label(s: &Statistics, v: &Var) -> Option<String> {
    s.tables.iter().find_map(|t| {
        if var_of(&t.key, None) == *v {
            return Some(format!("{}（合計）", t.title));
        }
        t.rows.iter().find(|r| var_of(&t.key, Some(&r.key)) == *v).map(|r| format!("{}「{}」", t.title, r.label))
    })
}

/// The "<N" cells of the period's column that the body alone gives away (表2-1 lists every
/// case of the month, with the same classification): no suppression of the tables can keep
/// them, so they are printed as their number and named in [`Statistics::released`].
/// A complementary "x" that the body pins the same way is printed as its number too (hiding
/// it hides nothing).
fn release_pinned(s: &mut Statistics) {
    if s.claims.is_empty() {
        return;
    }
    for v in suppressed(s, 0) {
        let m = model(s, 0, Some(&v));
        let i = m.index[&v];
        if let [value] = values(&m, i, s.threshold)[..] {
            if let Some(l) = label(s, &v) {
                s.released.push(l);
            }
            set(s, 0, &v, Cell::Count(value as u64), |c| *c == Cell::Suppressed);
        }
    }
    for v in hidden(s, 0) {
        let m = model(s, 0, Some(&v));
        if let Some((lo, hi)) = range(&m, m.index[&v])
            && lo == hi
        {
            set(s, 0, &v, Cell::Count(lo as u64), |c| *c == Cell::Hidden);
        }
    }
}

/// The variables behind the "x" cells of a column.
fn hidden(s: &Statistics, col: usize) -> Vec<Var> {
    let mut out = BTreeSet::new();
    for t in &s.tables {
        if t.total.get(col) == Some(&Cell::Hidden) {
            out.insert(var_of(&t.key, None));
        }
        for r in t.rows.iter().filter(|r| r.cells.get(col) == Some(&Cell::Hidden)) {
            out.insert(var_of(&t.key, Some(&r.key)));
        }
    }
    out.into_iter().collect()
}

/// Complementary suppression across all tables of each column: while the audit narrows a "<N"
/// cell, hide ("x") one more published cell. The first candidate whose hiding frees the cell
/// wins — cells sharing a relation with it first, the smallest first; when no single cell frees
/// it, the smallest that shares a relation with it is hidden and the audit runs again. 届出件数
/// and the incident count are hidden only when nothing else is left. With the body's claims,
/// the cells they alone give away are printed first (see [`release_pinned`]).
pub fn protect(s: &mut Statistics) {
    release_pinned(s);
    let columns = s.tables.iter().map(|t| t.total.len()).max().unwrap_or(0);
    for col in 0..columns {
        for _ in 0..64 {
            let findings = audit_column(s, col);
            let Some(f) = findings.first() else { break };
            let m = model(s, col, None);
            let Some(&target) = m.index.get(&f.var) else { break };
            let neighbours = |of: &BTreeSet<usize>| -> BTreeSet<usize> {
                m.cons
                    .iter()
                    .filter(|c| c.terms.iter().any(|(i, _)| of.contains(i)))
                    .flat_map(|c| c.terms.iter().map(|(i, _)| *i))
                    .collect()
            };
            // The cells a relation (through the atomic classes) ties to the target: one, two,
            // three relations away.
            let mut near = vec![BTreeSet::from([target])];
            for _ in 0..4 {
                let next = neighbours(near.last().expect("non-empty"));
                near.push(next);
            }
            let distance = |i: usize| near.iter().position(|n| n.contains(&i)).unwrap_or(near.len());
            let headline = |v: &Var| match v {
                Var::Total => true,
                Var::Cell { table, row } => table == "summary" && (row == "reports" || row == "incidents"),
                Var::Class { .. } => false,
            };
            let shown = published_counts(s, col);
            let mut candidates: Vec<usize> = (0..m.vars.len()).filter(|i| shown.contains(&m.vars[*i])).collect();
            candidates.sort_by_key(|i| (headline(&m.vars[*i]), distance(*i), m.lo[*i], m.vars[*i].clone()));
            let frees = |v: &Var| {
                let mut trial = s.clone();
                hide(&mut trial, col, v);
                let m = model(&trial, col, None);
                values(&m, m.index[&f.var], s.threshold).len() == s.threshold as usize - 1
            };
            // 届出件数 and the incident count stay published while two other cells will do.
            let (headlines, others): (Vec<usize>, Vec<usize>) = candidates.iter().partition(|i| headline(&m.vars[**i]));
            let pick = others
                .iter()
                .find(|i| frees(&m.vars[**i]))
                .or_else(|| others.iter().find(|i| distance(**i) < near.len()))
                .or_else(|| headlines.iter().find(|i| frees(&m.vars[**i])))
                .or_else(|| headlines.first());
            match pick {
                Some(i) => hide(s, col, &m.vars[*i]),
                None => break,
            }
        }
    }
}

/// The variables of a column printed as a number other than 0.
fn published_counts(s: &Statistics, col: usize) -> BTreeSet<Var> {
    let mut out = BTreeSet::new();
    for t in &s.tables {
        if matches!(t.total.get(col), Some(Cell::Count(n)) if *n > 0) {
            out.insert(var_of(&t.key, None));
        }
        for r in &t.rows {
            if matches!(r.cells.get(col), Some(Cell::Count(n)) if *n > 0) {
                out.insert(var_of(&t.key, Some(&r.key)));
            }
        }
    }
    out
}

/// Hide every published cell that is `v`, in every table.
fn hide(s: &mut Statistics, col: usize, v: &Var) {
    set(s, col, v, Cell::Hidden, |c| matches!(c, Cell::Count(_)));
}

fn set(s: &mut Statistics, col: usize, v: &Var, to: Cell, when: impl Fn(&Cell) -> bool) {
    for t in &mut s.tables {
        if var_of(&t.key, None) == *v
            && let Some(c) = t.total.get_mut(col).filter(|c| when(c))
        {
            *c = to;
        }
        let key = t.key.clone();
        for r in t.rows.iter_mut().filter(|r| var_of(&key, Some(&r.key)) == *v) {
            if let Some(c) = r.cells.get_mut(col).filter(|c| when(c)) {
                *c = to;
            }
        }
    }
}
