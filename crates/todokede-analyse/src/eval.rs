//! Measuring the classification on labelled cases (`todokede eval`): per dimension precision,
//! recall and F1, primary cause top-1/top-3 and how often no cause was suggested, 被害の有無
//! accuracy where the text states it, a confusion matrix of primary causes — Japanese and
//! English apart.

use crate::classify::Classification;
use crate::corpus::LabelledCase;
use std::collections::BTreeMap;
use std::fmt::Write;
use todokede_domain::ClosedEnum;

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl Counts {
    pub fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
    pub fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }
    fn add(&mut self, o: Counts) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
    }
}

/// The figures for one group of cases (a language, or all).
#[derive(Debug, Default, Clone)]
pub struct Figures {
    pub cases: usize,
    /// Cases whose text states a cause.
    pub with_cause: usize,
    pub top1: usize,
    pub top3: usize,
    /// Cases that state a cause but got none suggested.
    pub no_cause: usize,
    pub causes: BTreeMap<String, Counts>,
    pub damages: BTreeMap<String, Counts>,
    pub attack_types: BTreeMap<String, Counts>,
    /// Cases whose text states 被害の有無, and how many of them came out right.
    pub has_damage_stated: usize,
    pub has_damage_right: usize,
    /// (expected first cause, suggested first cause) → count.
    pub confusion: BTreeMap<(String, String), usize>,
    /// One line per wrong primary cause (id: expected → got).
    pub misses: Vec<String>,
}

impl Figures {
    pub fn micro(table: &BTreeMap<String, Counts>) -> Counts {
        let mut c = Counts::default();
        for v in table.values() {
            c.add(*v);
        }
        c
    }
    pub fn top1_rate(&self) -> f64 {
        self.top1 as f64 / self.with_cause.max(1) as f64
    }
    pub fn top3_rate(&self) -> f64 {
        self.top3 as f64 / self.with_cause.max(1) as f64
    }
    pub fn no_cause_rate(&self) -> f64 {
        self.no_cause as f64 / self.with_cause.max(1) as f64
    }
    pub fn has_damage_rate(&self) -> f64 {
        self.has_damage_right as f64 / self.has_damage_stated.max(1) as f64
    }
}

fn tally<T: ClosedEnum + PartialEq>(table: &mut BTreeMap<String, Counts>, expected: &[T], got: &[T]) {
    for e in expected {
        let c = table.entry(e.key().to_owned()).or_default();
        if got.contains(e) { c.tp += 1 } else { c.fn_ += 1 }
    }
    for g in got.iter().filter(|g| !expected.contains(g)) {
        table.entry(g.key().to_owned()).or_default().fp += 1;
    }
}

/// Figures per language (`ja`, `en`), for `all`, and for the real texts alone (`real`: not
/// written for the project — the incident texts, the seeds, analysts' confirmations).
pub fn evaluate(cases: &[(LabelledCase, Classification)]) -> BTreeMap<String, Figures> {
    let mut out: BTreeMap<String, Figures> = BTreeMap::new();
    for (case, got) in cases {
        let real = (!case.written).then_some("real");
        for group in [Some(case.lang.as_str()), Some("all"), real].into_iter().flatten() {
            let f = out.entry(group.to_owned()).or_default();
            f.cases += 1;
            let suggested: Vec<_> = got.causes.iter().map(|d| d.value).collect();
            if let Some(expected) = case.causes.as_ref().filter(|c| !c.is_empty()) {
                f.with_cause += 1;
                let first = suggested.first().copied();
                match first {
                    None => f.no_cause += 1,
                    Some(s) if expected.contains(&s) => f.top1 += 1,
                    Some(s) => f.misses.push(format!(
                        "{}: expected {} got {} ({})",
                        case.id,
                        expected.iter().map(|c| c.key()).collect::<Vec<_>>().join("|"),
                        s.key(),
                        suggested.iter().map(|c| c.key()).collect::<Vec<_>>().join(",")
                    )),
                }
                if suggested.iter().take(3).any(|s| expected.contains(s)) {
                    f.top3 += 1;
                }
                let got_key = first.map(|c| c.key()).unwrap_or("(none)");
                let exp_key = first.filter(|s| expected.contains(s)).unwrap_or(expected[0]).key();
                *f.confusion.entry((exp_key.to_owned(), got_key.to_owned())).or_default() += 1;
                // Cause precision/recall over what was confidently suggested.
                let confident: Vec<_> = got.causes.iter().filter(|d| !d.needs_review).map(|d| d.value).collect();
                tally(&mut f.causes, expected, &confident);
            }
            if let Some(expected) = &case.damages {
                // Decided values only: a 要確認 candidate is not a suggestion.
                let got: Vec<_> = got.damages.iter().filter(|d| !d.needs_review).map(|d| d.value).collect();
                tally(&mut f.damages, expected, &got);
            }
            if let Some(expected) = &case.attack_types {
                let got: Vec<_> = got.attack_types.iter().filter(|d| !d.needs_review).map(|d| d.value).collect();
                tally(&mut f.attack_types, expected, &got);
            }
            if let Some(Some(h)) = case.has_damage {
                f.has_damage_stated += 1;
                if got.has_damage == Some(h) {
                    f.has_damage_right += 1;
                }
            }
        }
    }
    out
}

/// The report `todokede eval` prints.
pub fn render(title: &str, figures: &BTreeMap<String, Figures>, verbose: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {title}");
    let _ = writeln!(
        s,
        "{:<5} {:>5} | primary cause: top-1  top-3  none | causes P/R | damages P/R/F1 | attack types P/R/F1 | 被害の有無",
        "lang", "cases"
    );
    for (lang, f) in figures {
        let (c, d, a) = (Figures::micro(&f.causes), Figures::micro(&f.damages), Figures::micro(&f.attack_types));
        let _ = writeln!(
            s,
            "{lang:<5} {:>5} | {:>3}/{:<3} {:>5.1}% {:>5.1}% {:>4.1}% | {:.2}/{:.2} | {:.2}/{:.2}/{:.2} | {:.2}/{:.2}/{:.2} | {:.1}% of {}",
            f.cases,
            f.top1,
            f.with_cause,
            100.0 * f.top1_rate(),
            100.0 * f.top3_rate(),
            100.0 * f.no_cause_rate(),
            c.precision(),
            c.recall(),
            d.precision(),
            d.recall(),
            d.f1(),
            a.precision(),
            a.recall(),
            a.f1(),
            100.0 * f.has_damage_rate(),
            f.has_damage_stated
        );
    }
    if let Some(all) = figures.get("all") {
        for (name, table) in [("cause", &all.causes), ("damage", &all.damages), ("attack type", &all.attack_types)] {
            let _ = writeln!(s, "\n{name:<28} precision recall  f1   (tp fp fn)");
            for (k, c) in table {
                let _ = writeln!(
                    s,
                    "  {k:<26} {:>6.2} {:>6.2} {:>5.2}  ({} {} {})",
                    c.precision(),
                    c.recall(),
                    c.f1(),
                    c.tp,
                    c.fp,
                    c.fn_
                );
            }
        }
        let _ = writeln!(s, "\nprimary cause confusion (expected → suggested: count)");
        for ((e, g), n) in &all.confusion {
            if e != g {
                let _ = writeln!(s, "  {e:<26} → {g:<26} {n}");
            }
        }
        if verbose {
            let _ = writeln!(s, "\nwrong primary causes");
            for m in &all.misses {
                let _ = writeln!(s, "  {m}");
            }
        }
    }
    s
}
