//! Across reports: what the analysis indexes about each report (indicators, near-duplicate
//! signatures, trend facets, searchable text), how a new report joins a cluster, how a search
//! query is read (an IP, a CIDR range, a domain, a hash, or words), and the surge alerts of the
//! analysts' dashboard. Shared by the background analysis, the CLI and the web UI.

use crate::AppError;
use time::OffsetDateTime;
use todokede_analyse::AnalysisRecord;
use todokede_analyse::similarity;
use todokede_analyse::trends::{Series, Surge, surges};
use todokede_domain::*;
use todokede_store::{IndexedIndicator, IndicatorQuery, MAX_SEARCH_CHARS, ReportIndex, Store};

/// A value seen in more reports than this is noise for correlation (a scanner everyone sees).
pub const CORRELATION_CAP: i64 = 50;
/// Text attachments larger than this are not indexed.
const MAX_TEXT_ATTACHMENT: u64 = 1 << 20;

/// Label of a facet for people, in their language ("データ消去・脅迫" / "Data destruction and
/// extortion", "正規アカウントの悪用（T1078）" / "Valid Accounts (T1078)", "指標：IPv4 アドレス").
pub fn facet_label(facet: &str, lang: Language) -> String {
    let (kind, key) = facet.split_once('.').unwrap_or(("", facet));
    match kind {
        "cause" => CauseCategory::parse(key).map(|c| c.label(lang).to_owned()).unwrap_or_else(|_| key.to_owned()),
        "damage" => DamageCategory::parse(key).map(|c| c.label(lang).to_owned()).unwrap_or_else(|_| key.to_owned()),
        "technique" => {
            let name = todokede_analyse::technique_name_in(key, lang);
            match (name.is_empty(), lang) {
                (true, _) => key.to_owned(),
                (false, Language::Ja) => format!("{name}（{key}）"),
                (false, Language::En) => format!("{name} ({key})"),
            }
        }
        "indicator" => {
            let what = todokede_analyse::IndicatorType::ALL.iter().find(|t| t.key() == key).map(|t| t.label(lang));
            format!("{}{}", lang.pick("指標：", "Indicator: "), what.unwrap_or(key))
        }
        _ => facet.to_owned(),
    }
}

fn indicators_of(analysis: &AnalysisRecord) -> Vec<IndexedIndicator> {
    let mut out = vec![];
    for (map, common) in [(&analysis.indicators, false), (&analysis.internal, true)] {
        for (kind, values) in map {
            for v in values {
                out.push(IndexedIndicator { kind: kind.key().to_owned(), value: v.clone(), common });
            }
        }
    }
    for c in &analysis.context {
        if let Some(kind) = c.kind {
            out.push(IndexedIndicator { kind: kind.key().to_owned(), value: c.value.clone(), common: true });
        }
    }
    // Sources found in attached logs (brute-force origins, webshell clients) correlate too.
    for e in &analysis.evidence {
        for f in &e.findings {
            for s in &f.sources {
                if let Ok(ip) = s.parse::<std::net::IpAddr>() {
                    let kind = if ip.is_ipv4() { "ipv4" } else { "ipv6" };
                    let common = todokede_analyse::warninglists::lists().ip(ip).is_some()
                        || match ip {
                            std::net::IpAddr::V4(v4) => v4.is_private() || v4.is_loopback(),
                            std::net::IpAddr::V6(v6) => v6.is_loopback(),
                        };
                    out.push(IndexedIndicator { kind: kind.into(), value: s.to_owned(), common });
                }
            }
        }
    }
    out.sort_by(|a, b| (&a.kind, &a.value).cmp(&(&b.kind, &b.value)));
    out.dedup_by(|a, b| a.kind == b.kind && a.value == b.value);
    out
}

/// The texts of a report, each compared on its own for near-duplicates and all of them
/// analysed and searched: the description, each narrative item, each follow-up, each text
/// attachment that is not a log (a ransom note, a forwarded phishing mail).
pub async fn texts_of(store: &Store, r: &Report) -> Result<Vec<(i64, String)>, AppError> {
    let mut texts: Vec<(i64, String)> = r.content.texts().into_iter().map(|(p, t)| (p, t.to_owned())).collect();
    let mut n = 9;
    for e in &r.timeline {
        if let TimelineEntry::FollowUp { body, .. } = e {
            n += 1;
            texts.push((n, body.clone()));
        }
    }
    for (i, a) in r.all_attachments().into_iter().enumerate() {
        if a.size > MAX_TEXT_ATTACHMENT
            || !(a.content_type.starts_with("text/plain") || a.filename.to_lowercase().ends_with(".txt"))
        {
            continue;
        }
        if let Some(bytes) = store.blob(&a.sha256).await?
            && todokede_analyse::evidence::detect(&bytes).is_none()
            && let Ok(t) = String::from_utf8(bytes)
        {
            texts.push((1000 + i as i64, t));
        }
    }
    Ok(texts)
}

/// A report's texts' MinHash signatures (with their LSH band keys), and the cluster it joins:
/// that of its most similar near-duplicate at or above the threshold (ties: the older
/// cluster), else its own, with similarity 1.0.
pub async fn signatures_and_cluster(
    store: &Store,
    id: ReportId,
    texts: &[(i64, String)],
) -> Result<(Vec<(i64, Vec<u8>, Vec<i64>)>, (ReportId, f64)), AppError> {
    let mut signatures = vec![];
    let mut candidates = vec![];
    for (part, text) in texts {
        if let Some(sig) = similarity::signature(text) {
            let bands = similarity::band_keys(&sig);
            candidates.extend(
                store
                    .lsh_candidates(id, &bands)
                    .await?
                    .into_iter()
                    .filter_map(|c| Some((similarity::from_bytes(&c.signature)?, c.cluster, sig))),
            );
            signatures.push((*part, similarity::to_bytes(&sig), bands.to_vec()));
        }
    }
    let best = candidates
        .iter()
        .map(|(theirs, cluster, ours)| (similarity::similarity(ours, theirs), *cluster))
        .filter(|(s, _)| *s >= similarity::CLUSTER_THRESHOLD)
        .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.0.cmp(&a.1.0)));
    Ok((signatures, best.map(|(s, c)| (c, s)).unwrap_or((id, 1.0))))
}

/// Index a report after its analysis (`texts`: its [`texts_of`], `analysis`: its stored
/// record): correlate its indicators, cluster it with its nearest near-duplicate, record
/// its facets and text.
pub async fn index_report(
    store: &Store,
    id: ReportId,
    texts: &[(i64, String)],
    analysis: &AnalysisRecord,
) -> Result<ReportIndex, AppError> {
    let (signatures, cluster) = signatures_and_cluster(store, id, texts).await?;
    let cluster = Some(cluster);
    let classification = match store.classification(id).await? {
        Some(c) => c,
        None => analysis.suggested_classification(),
    };
    let indicators = indicators_of(analysis);
    let mut facets = classification.facets();
    facets.extend(indicators.iter().filter(|i| !i.common).map(|i| format!("indicator.{}", i.kind)));
    let mut search_body: String = texts.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join("\n");
    if search_body.chars().count() > MAX_SEARCH_CHARS {
        search_body = search_body.chars().take(MAX_SEARCH_CHARS).collect();
    }
    let index = ReportIndex { indicators, signatures, cluster, search_body, facets };
    store.index_report(id, &index).await?;
    Ok(index)
}

/// What a search box query means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKind {
    Indicator(IndicatorQuery),
    Text(Vec<String>),
}

/// An IPv4 address or CIDR range, a hash, an e-mail address, a URL, a BTC address or a domain
/// (with its subdomains) is an indicator search; anything else is words (all must occur).
pub fn parse_search(q: &str) -> SearchKind {
    let q = q.trim();
    let refanged = q.replace("[.]", ".").replace("(.)", ".").replace("hxxp", "http");
    if !refanged.contains(char::is_whitespace) && !refanged.is_empty() {
        if let Some((addr, bits)) = refanged.split_once('/')
            && let (Ok(a), Ok(bits)) = (addr.parse::<std::net::Ipv4Addr>(), bits.parse::<u32>())
            && bits <= 32
        {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            let lo = u32::from(a) & mask;
            return SearchKind::Indicator(IndicatorQuery::Ipv4Range(lo as i64, (lo | !mask) as i64));
        }
        if refanged.parse::<std::net::IpAddr>().is_ok() || refanged.contains('@') || refanged.contains("://") {
            return SearchKind::Indicator(IndicatorQuery::Exact(refanged));
        }
        let hex = refanged.chars().all(|c| c.is_ascii_hexdigit());
        if hex && matches!(refanged.len(), 32 | 40 | 64) {
            return SearchKind::Indicator(IndicatorQuery::Exact(refanged.to_lowercase()));
        }
        let domain_like = refanged.contains('.')
            && refanged.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            && refanged
                .rsplit('.')
                .next()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if domain_like {
            let mut labels: Vec<String> = refanged.trim_end_matches('.').split('.').map(str::to_lowercase).collect();
            labels.reverse();
            return SearchKind::Indicator(IndicatorQuery::DomainTree(format!("{}.", labels.join("."))));
        }
        let btc = (refanged.starts_with("bc1") || refanged.starts_with('1') || refanged.starts_with('3'))
            && (26..=62).contains(&refanged.len())
            && refanged.chars().all(|c| c.is_ascii_alphanumeric());
        if btc && !refanged.chars().all(|c| c.is_ascii_digit()) {
            return SearchKind::Indicator(IndicatorQuery::Exact(refanged));
        }
    }
    SearchKind::Text(q.split_whitespace().map(str::to_owned).take(4).collect())
}

/// [start 00:00 JST, end+1 00:00 JST) of a period.
pub fn period_span(p: Period) -> (OffsetDateTime, OffsetDateTime) {
    let (a, b) = p.bounds();
    let midnight = |d: time::Date| d.midnight().assume_offset(time::macros::offset!(+9));
    (midnight(a), midnight(b.next_day().expect("date in range")))
}

/// The half-year containing `t` (JST).
pub fn current_half(t: OffsetDateTime) -> Period {
    let d = t.to_offset(time::macros::offset!(+9)).date();
    Period::Half(d.year(), if (d.month() as u8) <= 6 { 1 } else { 2 })
}

/// Surge alerts for `period` against the two before it, from every report's facets (confirmed
/// classification when there is one, else the automatic analysis).
pub async fn trend_alerts(store: &Store, period: Period) -> Result<Vec<Surge>, AppError> {
    let periods = [period, period.previous(), period.previous().previous()];
    let mut counts: std::collections::BTreeMap<String, [u64; 3]> = Default::default();
    for (i, p) in periods.iter().enumerate() {
        let (from, to) = period_span(*p);
        for (facet, n) in store.facet_counts(from, to).await? {
            counts.entry(facet).or_default()[i] = n as u64;
        }
    }
    let series: Vec<Series> = counts
        .into_iter()
        .map(|(key, c)| Series { label: facet_label(&key, Language::Ja), key, counts: c.to_vec() })
        .collect();
    Ok(surges(&series))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_read_as_indicators_or_words() {
        assert_eq!(parse_search("198.51.100.7"), SearchKind::Indicator(IndicatorQuery::Exact("198.51.100.7".into())));
        assert_eq!(parse_search("198.51.100[.]7"), SearchKind::Indicator(IndicatorQuery::Exact("198.51.100.7".into())));
        assert_eq!(
            parse_search("198.51.100.0/24"),
            SearchKind::Indicator(IndicatorQuery::Ipv4Range(3325256704, 3325256959))
        );
        assert_eq!(
            parse_search("Example.CO.jp"),
            SearchKind::Indicator(IndicatorQuery::DomainTree("jp.co.example.".into()))
        );
        assert_eq!(parse_search(&"A".repeat(64)), SearchKind::Indicator(IndicatorQuery::Exact("a".repeat(64))));
        assert_eq!(
            parse_search("1Kz6v4B5CawcnL8jrUvHsvzQv5Yq4fbsSv"),
            SearchKind::Indicator(IndicatorQuery::Exact("1Kz6v4B5CawcnL8jrUvHsvzQv5Yq4fbsSv".into()))
        );
        assert_eq!(parse_search("脅迫文 phpMyAdmin"), SearchKind::Text(vec!["脅迫文".into(), "phpMyAdmin".into()]));
        assert_eq!(parse_search("3306"), SearchKind::Text(vec!["3306".into()]));
    }
}
