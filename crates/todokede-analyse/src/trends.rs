//! Surge detection: is this period's count of a category, technique or indicator type a
//! significant rise against the previous periods?
//!
//! Method: the baseline λ is the mean count of the previous periods, floored at
//! [`BASELINE_FLOOR`] so a first appearance is not infinitely surprising. Under "nothing
//! changed" the count is Poisson(λ); a surge is a count of at least [`MIN_COUNT`] whose upper
//! tail probability P(X ≥ count | λ) is below [`ALPHA`]. With two previous periods of 0 this
//! flags 4 or more (p = 0.0018) but not 3 (p = 0.014) — the seeds' DB-wipe technique (4, after
//! 0 and 0) is a surge.

pub const ALPHA: f64 = 0.01;
pub const MIN_COUNT: u64 = 3;
pub const BASELINE_FLOOR: f64 = 0.5;

/// Counts of one key: the current period first, then the previous periods, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub key: String,
    pub label: String,
    pub counts: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Surge {
    pub key: String,
    pub label: String,
    pub current: u64,
    pub previous: Vec<u64>,
    pub baseline: f64,
    pub p_value: f64,
}

/// P(X ≥ k) for X ~ Poisson(λ), summed in a numerically stable way.
pub fn poisson_upper_tail(k: u64, lambda: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    // 1 - P(X ≤ k-1), the terms built iteratively from e^-λ.
    let mut term = (-lambda).exp();
    let mut cdf = term;
    for i in 1..k {
        term *= lambda / i as f64;
        cdf += term;
    }
    (1.0 - cdf).max(0.0)
}

/// The current count of a series against its baseline, significant or not (`None` without
/// previous periods).
pub fn assess(s: &Series) -> Option<Surge> {
    let (&current, previous) = s.counts.split_first()?;
    if previous.is_empty() {
        return None;
    }
    let baseline = (previous.iter().sum::<u64>() as f64 / previous.len() as f64).max(BASELINE_FLOOR);
    Some(Surge {
        key: s.key.clone(),
        label: s.label.clone(),
        current,
        previous: previous.to_vec(),
        baseline,
        p_value: poisson_upper_tail(current, baseline),
    })
}

/// The series whose current count is a significant rise, most significant first.
pub fn surges(series: &[Series]) -> Vec<Surge> {
    let mut out: Vec<Surge> =
        series.iter().filter_map(assess).filter(|a| a.current >= MIN_COUNT && a.p_value < ALPHA).collect();
    out.sort_by(|a, b| a.p_value.total_cmp(&b.p_value).then(a.key.cmp(&b.key)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(key: &str, counts: &[u64]) -> Series {
        Series { key: key.into(), label: key.into(), counts: counts.to_vec() }
    }

    #[test]
    fn tail_probabilities_match_hand_computation() {
        // P(X ≥ 4 | 0.5) = 1 - e^-0.5 (1 + 0.5 + 0.125 + 0.0208333)
        let expected = 1.0 - (-0.5f64).exp() * (1.0 + 0.5 + 0.125 + 0.5f64.powi(3) / 6.0);
        assert!((poisson_upper_tail(4, 0.5) - expected).abs() < 1e-12);
        assert_eq!(poisson_upper_tail(0, 3.0), 1.0);
        assert!((poisson_upper_tail(1, 2.0) - (1.0 - (-2.0f64).exp())).abs() < 1e-12);
    }

    #[test]
    fn the_seeds_db_wipe_rise_is_a_surge_and_steady_counts_are_not() {
        let found = surges(&[
            s("damage.data_destruction_extortion", &[4, 0, 0]),
            s("steady", &[10, 9, 11]),
            s("three_from_zero", &[3, 0, 0]),
            s("double", &[40, 20, 20]),
            s("no_history", &[9]),
        ]);
        let keys: Vec<&str> = found.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["double", "damage.data_destruction_extortion"]);
        assert!((found[1].p_value - 0.00175).abs() < 1e-4, "{}", found[1].p_value);
        assert_eq!(found[1].previous, [0, 0]);
    }
}
