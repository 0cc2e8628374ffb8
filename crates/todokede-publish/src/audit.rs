//! The suppression audit: what a reader can work out from everything published for a period.
//! The reader knows the tables' relations — a table's 合計 is the period's incident count
//! (攻撃行為別's is its acts, 原因別's the incidents with damage, at most the incidents and the
//! unauthorized-access reports with damage), 届出件数 is ウイルス届出 plus 不正アクセス届出, the
//! single-valued tables (分類別, 届出者種別, 月別) partition the total, 攻撃行為別's rows its
//! acts (each row at most the incident count), a row of a multi-valued table (原因別, 被害内容別,
//! ATT&CK, 電算機の種別) is at most its total, a "うち" row at most its parent — and the cells'
//! published bounds: a count is itself, "<3" is 1 or 2 (zero is shown), "x" (complementary
//! suppression) is at least the threshold. For each "<N" cell the audit finds every value
//! consistent with all of it (an exact integer feasibility search with bounds propagation) and
//! reports the cells whose range is narrower than 1..N−1. [`protect`] adds complementary
//! suppression until there are none, across all tables of a column together.

use crate::stats::{Cell, Statistics};
use std::collections::BTreeMap;

/// A variable of the reader's model: a cell of one column, or that column's incident count.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Var {
    Total,
    Cell { table: String, row: String },
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
}

const BIG: i64 = 1 << 40;

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

fn model(s: &Statistics, col: usize) -> Model {
    let mut m = Model { vars: vec![Var::Total], lo: vec![0], hi: vec![BIG], cons: vec![] };
    let mut index: BTreeMap<Var, usize> = BTreeMap::new();
    index.insert(Var::Total, 0);
    let mut var = |m: &mut Model, v: Var| -> usize {
        *index.entry(v.clone()).or_insert_with(|| {
            m.vars.push(v);
            m.lo.push(0);
            m.hi.push(BIG);
            m.vars.len() - 1
        })
    };
    let tighten = |m: &mut Model, i: usize, (lo, hi): (i64, i64)| {
        m.lo[i] = m.lo[i].max(lo);
        m.hi[i] = m.hi[i].min(hi);
    };
    let mut summary_rows: BTreeMap<String, usize> = BTreeMap::new();
    for t in &s.tables {
        let Some(total) = t.total.get(col) else { continue };
        let total_var = var(&mut m, var_of(&t.key, None));
        tighten(&mut m, total_var, bounds(*total, s.threshold));
        let mut rows = vec![];
        for r in &t.rows {
            let Some(c) = r.cells.get(col) else { continue };
            let i = var(&mut m, var_of(&t.key, Some(&r.key)));
            tighten(&mut m, i, bounds(*c, s.threshold));
            rows.push((r.key.as_str(), i));
        }
        let row = |k: &str| rows.iter().find(|(rk, _)| *rk == k).map(|(_, i)| *i);
        let partitions = PARTITIONS.contains(&t.key.as_str())
            || (t.key.starts_with("virus") && t.key != "virus_detections" && t.partitions_total);
        if partitions || t.key == "attack_type" {
            let mut terms: Vec<(usize, i64)> = rows.iter().map(|(_, i)| (*i, 1)).collect();
            terms.push((total_var, -1));
            m.cons.push(Linear { terms, eq: true, rhs: 0 });
            // An incident has each kind of act once: a row is at most the incident count.
            if t.key == "attack_type" {
                for (_, i) in &rows {
                    m.cons.push(Linear { terms: vec![(*i, 1), (0, -1)], eq: false, rhs: 0 });
                }
            }
        } else if t.key == "summary" {
            for (k, i) in &rows {
                summary_rows.insert((*k).to_owned(), *i);
            }
            if let (Some(r), Some(v), Some(u)) = (row("reports"), row("virus"), row("unauthorized_access")) {
                m.cons.push(Linear { terms: vec![(v, 1), (u, 1), (r, -1)], eq: true, rhs: 0 });
                m.cons.push(Linear { terms: vec![(0, 1), (r, -1)], eq: false, rhs: 0 });
            }
            for (part, whole) in [("virus_infected", "virus"), ("unauthorized_access_damage", "unauthorized_access")] {
                if let (Some(p), Some(w)) = (row(part), row(whole)) {
                    m.cons.push(Linear { terms: vec![(p, 1), (w, -1)], eq: false, rhs: 0 });
                }
            }
        } else if t.key == "virus_detections" {
            // Every virus report is at least one detection.
            let v = var(&mut m, cell("summary", "virus"));
            m.cons.push(Linear { terms: vec![(v, 1), (total_var, -1)], eq: false, rhs: 0 });
        } else {
            for (_, i) in &rows {
                m.cons.push(Linear { terms: vec![(*i, 1), (total_var, -1)], eq: false, rhs: 0 });
            }
            // 原因別's incidents with damage: at most all incidents, and at most the
            // unauthorized-access reports with damage (an incident is one report or more).
            if t.key == "cause" {
                m.cons.push(Linear { terms: vec![(total_var, 1), (0, -1)], eq: false, rhs: 0 });
                let damaged = var(&mut m, cell("summary", "unauthorized_access_damage"));
                m.cons.push(Linear { terms: vec![(total_var, 1), (damaged, -1)], eq: false, rhs: 0 });
            }
        }
    }
    m
}

/// Bounds propagation to a fixpoint; false when some domain empties.
fn propagate(cons: &[Linear], lo: &mut [i64], hi: &mut [i64]) -> bool {
    for _ in 0..200 {
        let mut changed = false;
        for c in cons {
            // min and max of Σ coef·x.
            let (mut smin, mut smax) = (0i64, 0i64);
            for (i, a) in &c.terms {
                let (x, y) = (a * lo[*i], a * hi[*i]);
                smin += x.min(y);
                smax += x.max(y);
            }
            if smin > c.rhs || (c.eq && smax < c.rhs) {
                return false;
            }
            for (i, a) in &c.terms {
                let (x, y) = (a * lo[*i], a * hi[*i]);
                let (tmin, tmax) = (x.min(y), x.max(y));
                let rest_min = smin - tmin;
                let rest_max = smax - tmax;
                // a·x ≤ rhs − rest_min; for equalities also a·x ≥ rhs − rest_max.
                let upper = c.rhs - rest_min;
                let lower = if c.eq { c.rhs - rest_max } else { i64::MIN / 4 };
                let (nlo, nhi) = if *a > 0 {
                    (div_ceil(lower, *a), div_floor(upper, *a))
                } else {
                    (div_ceil(upper, *a), div_floor(lower, *a))
                };
                if nlo > lo[*i] {
                    lo[*i] = nlo;
                    changed = true;
                }
                if nhi < hi[*i] {
                    hi[*i] = nhi;
                    changed = true;
                }
                if lo[*i] > hi[*i] {
                    return false;
                }
            }
        }
        if !changed {
            return true;
        }
    }
    true
}

fn div_floor(a: i64, b: i64) -> i64 {
    let q = a / b;
    if (a % b != 0) && ((a < 0) != (b < 0)) { q - 1 } else { q }
}

fn div_ceil(a: i64, b: i64) -> i64 {
    -div_floor(-a, b)
}

/// Is there an integer solution within the bounds? Propagation, then branching on the
/// narrowest open domain (enumerating small ones, halving large ones).
fn feasible(cons: &[Linear], lo: &mut [i64], hi: &mut [i64], depth: usize) -> bool {
    if !propagate(cons, lo, hi) {
        return false;
    }
    let open = (0..lo.len()).filter(|i| lo[*i] < hi[*i]).min_by_key(|i| hi[*i] - lo[*i]);
    let Some(i) = open else { return true };
    if depth > 200 {
        // Give up as "feasible" only for the large (complementary) domains: bounded search.
        return true;
    }
    let ranges: Vec<(i64, i64)> = if hi[i] - lo[i] < 8 {
        (lo[i]..=hi[i]).map(|v| (v, v)).collect()
    } else {
        let mid = lo[i] + (hi[i] - lo[i]) / 2;
        vec![(lo[i], mid), (mid + 1, hi[i])]
    };
    for (a, b) in ranges {
        let (mut l, mut h) = (lo.to_vec(), hi.to_vec());
        l[i] = a;
        h[i] = b;
        if feasible(cons, &mut l, &mut h, depth + 1) {
            return true;
        }
    }
    false
}

fn audit_column(s: &Statistics, col: usize) -> Vec<Finding> {
    let m = model(s, col);
    let mut out = vec![];
    for (i, v) in m.vars.iter().enumerate() {
        if !is_suppressed(s, col, v) {
            continue;
        }
        let feasible_values: Vec<i64> = (1..s.threshold as i64)
            .filter(|x| {
                let (mut lo, mut hi) = (m.lo.clone(), m.hi.clone());
                lo[i] = *x;
                hi[i] = *x;
                feasible(&m.cons, &mut lo, &mut hi, 0)
            })
            .collect();
        if feasible_values.len() < s.threshold as usize - 1 {
            out.push(Finding { column: col, var: v.clone(), feasible: feasible_values });
        }
    }
    out
}

fn is_suppressed(s: &Statistics, col: usize, v: &Var) -> bool {
    s.tables.iter().any(|t| {
        (var_of(&t.key, None) == *v && t.total.get(col) == Some(&Cell::Suppressed))
            || t.rows.iter().any(|r| var_of(&t.key, Some(&r.key)) == *v && r.cells.get(col) == Some(&Cell::Suppressed))
    })
}

/// Every "<N" cell, in every column, whose value the published statistics pin down further.
pub fn audit(s: &Statistics) -> Vec<Finding> {
    let columns = s.tables.iter().map(|t| t.total.len()).max().unwrap_or(0);
    (0..columns).flat_map(|c| audit_column(s, c)).collect()
}

/// Complementary suppression across all tables of each column: while the audit narrows a "<N"
/// cell, hide ("x") one more published cell. The first candidate whose hiding frees the cell
/// wins — cells sharing a relation with it first, the smallest first; when no single cell frees
/// it, the smallest that shares a relation with it is hidden and the audit runs again. 届出件数
/// and the incident count are hidden only when nothing else is left.
pub fn protect(s: &mut Statistics) {
    let columns = s.tables.iter().map(|t| t.total.len()).max().unwrap_or(0);
    for col in 0..columns {
        for _ in 0..64 {
            let findings = audit_column(s, col);
            let Some(f) = findings.first() else { break };
            let m = model(s, col);
            let Some(target) = m.vars.iter().position(|v| *v == f.var) else { break };
            let neighbours = |of: &[usize]| -> Vec<usize> {
                m.cons
                    .iter()
                    .filter(|c| c.terms.iter().any(|(i, _)| of.contains(i)))
                    .flat_map(|c| c.terms.iter().map(|(i, _)| *i))
                    .collect()
            };
            let direct = neighbours(&[target]);
            // Two relations away: 不正アクセス届出's うち被害あり bounds 不正アクセス届出, which with
            // 届出件数 gives ウイルス届出 away.
            let second = neighbours(&direct);
            let headline = |v: &Var| match v {
                Var::Total => true,
                Var::Cell { table, row } => table == "summary" && (row == "reports" || row == "incidents"),
            };
            let mut candidates: Vec<usize> =
                (0..m.vars.len()).filter(|i| m.lo[*i] == m.hi[*i] && m.lo[*i] > 0).collect();
            candidates.sort_by_key(|i| (headline(&m.vars[*i]), !direct.contains(i), m.lo[*i], m.vars[*i].clone()));
            let frees = |v: &Var| {
                let mut trial = s.clone();
                hide(&mut trial, col, v);
                !audit_column(&trial, col).iter().any(|g| g.var == f.var)
            };
            // 届出件数 and the incident count stay published while two other cells will do.
            let (headlines, others): (Vec<usize>, Vec<usize>) = candidates.iter().partition(|i| headline(&m.vars[**i]));
            let pick = others
                .iter()
                .find(|i| frees(&m.vars[**i]))
                .or_else(|| others.iter().find(|i| direct.contains(i)))
                .or_else(|| others.iter().find(|i| second.contains(i)))
                .or_else(|| headlines.iter().find(|i| frees(&m.vars[**i])))
                .or_else(|| headlines.first());
            match pick {
                Some(i) => hide(s, col, &m.vars[*i]),
                None => break,
            }
        }
    }
}

/// Hide every published cell that is `v`, in every table.
fn hide(s: &mut Statistics, col: usize, v: &Var) {
    for t in &mut s.tables {
        if var_of(&t.key, None) == *v
            && let Some(c) = t.total.get_mut(col).filter(|c| matches!(c, Cell::Count(_)))
        {
            *c = Cell::Hidden;
        }
        let key = t.key.clone();
        for r in t.rows.iter_mut().filter(|r| var_of(&key, Some(&r.key)) == *v) {
            if let Some(c) = r.cells.get_mut(col).filter(|c| matches!(c, Cell::Count(_))) {
                *c = Cell::Hidden;
            }
        }
    }
}
