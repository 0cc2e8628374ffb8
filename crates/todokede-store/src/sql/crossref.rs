//! Across reports: the index (indicators, signatures, clusters, facets, search text) and its queries.
//! Compiled into each backend (`#[path]` from `sqlite.rs` and `postgres.rs`): `Store` is that
//! backend's store, `dialect` its few statements that differ.

use super::rows::*;
use super::{Store, dialect};
use crate::{StoreError, model::*};
use sqlx::Row as _;
use time::OffsetDateTime;
use todokede_domain::*;

impl Store {
    /// Replace what the cross-report features know about a report, in one transaction.
    pub(crate) async fn index_report(&self, id: ReportId, ix: &ReportIndex) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for sql in [
            "DELETE FROM report_indicators WHERE report_id = $1",
            "DELETE FROM lsh_bands WHERE report_id = $1",
            "DELETE FROM text_signatures WHERE report_id = $1",
            "DELETE FROM report_facets WHERE report_id = $1",
            dialect::SEARCH_DELETE_SQL,
        ] {
            sqlx::query(sql).bind(id.0).execute(&mut *tx).await?;
        }
        write_index(&mut tx, id, ix).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reports whose texts share an LSH band key with `keys` (other than `id`), the newest 10
    /// per band (a band shared by thousands says little; the signatures decide), with their
    /// signatures and clusters, each report once.
    pub(crate) async fn lsh_candidates(&self, id: ReportId, keys: &[i64]) -> Result<Vec<LshCandidate>, StoreError> {
        let mut seen: std::collections::BTreeSet<i64> = Default::default();
        let mut out = vec![];
        for k in keys {
            let rows = sqlx::query("SELECT b.report_id, s.signature, COALESCE(c.cluster_id, b.report_id)
                                    FROM (SELECT DISTINCT report_id FROM lsh_bands WHERE band_key = $1 AND report_id <> $2 ORDER BY report_id DESC LIMIT 10) b
                                    JOIN text_signatures s ON s.report_id = b.report_id
                                    LEFT JOIN report_clusters c ON c.report_id = b.report_id
                                    ORDER BY b.report_id DESC, s.part")
                .bind(k).bind(id.0).fetch_all(&self.pool).await?;
            let mut fresh = std::collections::BTreeSet::new();
            for r in rows {
                let rid: i64 = r.try_get(0)?;
                if seen.contains(&rid) {
                    continue;
                }
                fresh.insert(rid);
                out.push(LshCandidate {
                    report: ReportId(rid),
                    signature: r.try_get(1)?,
                    cluster: ReportId(r.try_get(2)?),
                });
            }
            seen.extend(fresh);
        }
        Ok(out)
    }

    /// Other reports sharing a correlatable indicator value with `id` (not internal, context or
    /// on a warning list); values in more than `cap` reports are too common to mean anything and
    /// are left out. Bounded work: each value is counted only up to cap + 1.
    pub(crate) async fn correlations(&self, id: ReportId, cap: i64) -> Result<Vec<Correlation>, StoreError> {
        let mine = sqlx::query(
            // A value on a warning list (known benign or noise) links nothing, as a built-in one.
            "SELECT i.kind, i.value FROM report_indicators i WHERE i.report_id = $1 AND i.common = 0
             AND NOT EXISTS (SELECT 1 FROM watchlist_hits h JOIN watchlists w ON w.id = h.list_id
                             WHERE h.report_id = i.report_id AND h.indicator_kind = i.kind AND h.indicator_value = i.value
                               AND w.kind = 'warning')
             ORDER BY i.kind, i.value",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await?;
        let mut out = vec![];
        for m in mine {
            let (kind, value): (String, String) = (m.try_get(0)?, m.try_get(1)?);
            let rows = sqlx::query("SELECT i.report_id, r.tracking_number FROM report_indicators i JOIN reports r ON r.id = i.report_id
                                    WHERE i.value = $1 AND i.kind = $2 AND i.report_id <> $3 ORDER BY i.report_id DESC LIMIT $4")
                .bind(&value).bind(&kind).bind(id.0).bind(cap + 1).fetch_all(&self.pool).await?;
            if rows.len() as i64 > cap - 1 {
                continue; // with this report, more than `cap`: noise
            }
            for r in rows {
                out.push(Correlation {
                    report: ReportId(r.try_get(0)?),
                    tracking_number: tracking(&r.try_get::<String, _>(1)?)?,
                    kind: kind.clone(),
                    value: value.clone(),
                });
            }
        }
        out.sort_by(|a, b| b.report.0.cmp(&a.report.0).then(a.kind.cmp(&b.kind)).then(a.value.cmp(&b.value)));
        Ok(out)
    }

    /// Reports mentioning an indicator, newest first, with the matching values.
    pub(crate) async fn reports_by_indicator(
        &self,
        q: &IndicatorQuery,
        limit: i64,
    ) -> Result<Vec<(ReportSummary, String, String, bool)>, StoreError> {
        let rows = match q {
            IndicatorQuery::Exact(v) => sqlx::query(concat!("SELECT ", summary_columns!(), ", i.kind, i.value, i.common
                                                     FROM report_indicators i JOIN reports r ON r.id = i.report_id WHERE i.value = $1 ORDER BY i.report_id DESC LIMIT $2"))
                .bind(v).bind(limit).fetch_all(&self.pool).await?,
            IndicatorQuery::Ipv4Range(lo, hi) => sqlx::query(concat!("SELECT ", summary_columns!(), ", i.kind, i.value, i.common
                                                     FROM (SELECT report_id, kind, value, common FROM report_indicators WHERE ipv4 >= $1 AND ipv4 <= $2 LIMIT 500) i
                                                     JOIN reports r ON r.id = i.report_id ORDER BY r.id DESC, i.kind, i.value LIMIT $3"))
                .bind(lo).bind(hi).bind(limit).fetch_all(&self.pool).await?,
            IndicatorQuery::DomainTree(rev) => sqlx::query(concat!("SELECT ", summary_columns!(), ", i.kind, i.value, i.common
                                                     FROM (SELECT report_id, kind, value, common FROM report_indicators WHERE rev_domain >= $1 AND rev_domain < $2 LIMIT 500) i
                                                     JOIN reports r ON r.id = i.report_id ORDER BY r.id DESC, i.kind, i.value LIMIT $3"))
                // Every string with the prefix sorts in [prefix, prefix + U+FFFF): an index range, no LIKE.
                .bind(rev).bind(format!("{rev}\u{ffff}")).bind(limit).fetch_all(&self.pool).await?,
        };
        rows.iter()
            .map(|r| {
                Ok((summary_from_row(r)?, r.try_get("kind")?, r.try_get("value")?, r.try_get::<i64, _>("common")? != 0))
            })
            .collect()
    }

    /// Full-text search (all terms, substrings, Japanese included) with the queue's filters.
    pub(crate) async fn search(&self, q: &SearchQuery) -> Result<Vec<ReportSummary>, StoreError> {
        let (fts, likes) = dialect::search_terms(&q.terms);
        let f = &q.filter;
        let rows = sqlx::query(dialect::search_sql(fts.is_some(), !likes.is_empty()))
            .bind(fts)
            .bind(likes.first())
            .bind(likes.get(1))
            .bind(likes.get(2))
            .bind(likes.get(3))
            .bind(f.state.map(|s| s.key()))
            .bind(f.reporter_kind.map(|s| s.key()))
            .bind(f.received_from.map(ts))
            .bind(f.received_before.map(ts))
            .bind(f.primary_cause.map(|c| format!("cause.{}", c.key())))
            .bind(if f.limit > 0 { f.limit } else { 50 })
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(summary_from_row).collect()
    }

    pub(crate) async fn cluster_of(&self, id: ReportId) -> Result<Option<(ReportId, f64)>, StoreError> {
        let r = sqlx::query("SELECT cluster_id, similarity FROM report_clusters WHERE report_id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        r.map(|r| Ok((ReportId(r.try_get(0)?), r.try_get(1)?))).transpose()
    }

    pub(crate) async fn cluster_members(&self, cluster: ReportId) -> Result<Vec<ReportSummary>, StoreError> {
        let rows = sqlx::query(concat!("SELECT ", summary_columns!(), "
                                FROM report_clusters c JOIN reports r ON r.id = c.report_id WHERE c.cluster_id = $1 ORDER BY r.id LIMIT 500"))
            .bind(cluster.0).fetch_all(&self.pool).await?;
        rows.iter().map(summary_from_row).collect()
    }

    /// Clusters with more than one report, largest first.
    pub(crate) async fn clusters(&self, limit: i64) -> Result<Vec<ClusterSummary>, StoreError> {
        let rows = sqlx::query("SELECT c.cluster_id, r.tracking_number, COUNT(*) AS n, MAX(m.received_at) AS latest FROM report_clusters c
                                JOIN reports r ON r.id = c.cluster_id JOIN reports m ON m.id = c.report_id
                                GROUP BY c.cluster_id, r.tracking_number HAVING COUNT(*) > 1 ORDER BY n DESC, latest DESC, c.cluster_id LIMIT $1")
            .bind(limit).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(ClusterSummary {
                    cluster: ReportId(r.try_get(0)?),
                    tracking_number: tracking(&r.try_get::<String, _>(1)?)?,
                    members: r.try_get(2)?,
                    latest: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Number of reports per facet received in [from, to).
    pub(crate) async fn facet_counts(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT f.facet, COUNT(*) FROM report_facets f JOIN reports r ON r.id = f.report_id WHERE r.received_at >= $1 AND r.received_at < $2 GROUP BY f.facet ORDER BY f.facet")
            .bind(ts(from)).bind(ts(to)).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// Reports with a facet received in [from, to), newest first.
    pub(crate) async fn reports_with_facet(
        &self,
        facet: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<ReportSummary>, StoreError> {
        let rows = sqlx::query(concat!("SELECT ", summary_columns!(), "
                                FROM report_facets f JOIN reports r ON r.id = f.report_id WHERE f.facet = $1 AND r.received_at >= $2 AND r.received_at < $3 ORDER BY r.received_at DESC, r.id DESC LIMIT $4"))
            .bind(facet).bind(ts(from)).bind(ts(to)).bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(summary_from_row).collect()
    }
}
