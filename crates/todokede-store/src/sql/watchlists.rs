//! Analysts' indicator lists (watch and warning lists): the lists, their entries by source file,
//! and the hits — which indexed indicator of which report matches which entry. Compiled into
//! each backend (`#[path]` from `sqlite.rs` and `postgres.rs`).
//!
//! Matching is SQL over the index, three ways: exact (kind and value), IPv4 addresses inside an
//! entry's range (`ipv4_lo..=ipv4_hi`), and domains at or below an entry's domain (the reversed
//! labels between `rev_domain` and `rev_domain_end`, an index range as in the indicator search).
//! The same statements run for one report (its index is written) and for one list (imported).

use super::Store;
use super::rows::*;
use crate::{StoreError, model::*};
use sqlx::Row as _;
use time::OffsetDateTime;
use todokede_domain::*;

/// The hit-writing statements, for the rows of `report_indicators i` × `watchlist_entries e`
/// that `$1` selects (`WHERE` given by the caller's macro) with `$2` the time now. Only
/// correlatable indicators (not internal or context values) hit.
macro_rules! hit_statements {
    ($exact_from:literal, $ipv4_from:literal, $domain_from:literal, $filter:literal) => {
        [
            concat!(
                "INSERT INTO watchlist_hits (report_id, entry_id, list_id, indicator_kind, indicator_value)
                 SELECT i.report_id, e.id, e.list_id, i.kind, i.value ",
                $exact_from,
                " WHERE ",
                $filter,
                " AND i.common = 0 AND (e.valid_until IS NULL OR e.valid_until > $2) ON CONFLICT DO NOTHING"
            ),
            concat!(
                "INSERT INTO watchlist_hits (report_id, entry_id, list_id, indicator_kind, indicator_value)
                 SELECT i.report_id, e.id, e.list_id, i.kind, i.value ",
                $ipv4_from,
                " WHERE ",
                $filter,
                " AND i.ipv4 IS NOT NULL AND e.ipv4_lo IS NOT NULL AND i.common = 0
                 AND (e.valid_until IS NULL OR e.valid_until > $2) ON CONFLICT DO NOTHING"
            ),
            concat!(
                "INSERT INTO watchlist_hits (report_id, entry_id, list_id, indicator_kind, indicator_value)
                 SELECT i.report_id, e.id, e.list_id, i.kind, i.value ",
                $domain_from,
                " WHERE ",
                $filter,
                " AND i.rev_domain IS NOT NULL AND e.rev_domain IS NOT NULL AND i.common = 0
                 AND (e.valid_until IS NULL OR e.valid_until > $2) ON CONFLICT DO NOTHING"
            ),
        ]
    };
}

/// For one report's index: its indicators drive the join.
const REPORT_HITS: [&str; 3] = hit_statements!(
    "FROM report_indicators i JOIN watchlist_entries e ON e.value = i.value AND e.kind = i.kind",
    "FROM report_indicators i JOIN watchlist_entries e ON i.ipv4 >= e.ipv4_lo AND i.ipv4 <= e.ipv4_hi",
    "FROM report_indicators i JOIN watchlist_entries e ON i.rev_domain >= e.rev_domain AND i.rev_domain < e.rev_domain_end",
    "i.report_id = $1"
);

/// For one list: its entries drive the join (each an index lookup or range in the index).
const LIST_HITS: [&str; 3] = hit_statements!(
    "FROM watchlist_entries e JOIN report_indicators i ON i.value = e.value AND i.kind = e.kind",
    "FROM watchlist_entries e JOIN report_indicators i ON i.ipv4 >= e.ipv4_lo AND i.ipv4 <= e.ipv4_hi",
    "FROM watchlist_entries e JOIN report_indicators i ON i.rev_domain >= e.rev_domain AND i.rev_domain < e.rev_domain_end",
    "e.list_id = $1"
);

/// Write the hits of report `id` (its indicators just indexed), in the index's transaction.
pub(super) async fn write_report_hits(
    tx: &mut sqlx::Transaction<'_, super::Db>,
    id: ReportId,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM watchlist_hits WHERE report_id = $1").bind(id.0).execute(&mut **tx).await?;
    let now = OffsetDateTime::now_utc();
    for sql in REPORT_HITS {
        sqlx::query(sql).bind(id.0).bind(ts(now)).execute(&mut **tx).await?;
    }
    Ok(())
}

/// The columns of an entry (`e`) with its importer's address (`u`).
macro_rules! entry_columns {
    () => {
        "e.id, e.kind, e.value, e.source_file, e.source_id, e.imported_at, u.email AS imported_by, e.valid_until"
    };
}

fn entry_from_row(r: &<super::Db as sqlx::Database>::Row) -> Result<WatchlistEntry, StoreError> {
    Ok(WatchlistEntry {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        value: r.try_get("value")?,
        source_file: r.try_get("source_file")?,
        source_id: r.try_get("source_id")?,
        imported_at: r.try_get("imported_at")?,
        imported_by: r.try_get("imported_by")?,
        valid_until: r.try_get("valid_until")?,
    })
}

fn hit_from_row(r: &<super::Db as sqlx::Database>::Row) -> Result<WatchHit, StoreError> {
    Ok(WatchHit {
        list: r.try_get("list")?,
        list_kind: parse_key(&r.try_get::<String, _>("list_kind")?)?,
        entry: entry_from_row(r)?,
        indicator_kind: r.try_get("indicator_kind")?,
        indicator_value: r.try_get("indicator_value")?,
    })
}

/// The numbers an entry is matched by: an IPv4 address or range, a domain's label range.
fn match_keys(kind: &str, value: &str) -> (Option<i64>, Option<i64>, Option<String>, Option<String>) {
    match kind {
        "ipv4" => match value.parse::<std::net::Ipv4Addr>() {
            Ok(a) => (Some(u32::from(a) as i64), Some(u32::from(a) as i64), None, None),
            Err(_) => (None, None, None, None),
        },
        "cidr" => {
            let parsed = value
                .split_once('/')
                .and_then(|(a, b)| Some((a.parse::<std::net::Ipv4Addr>().ok()?, b.parse::<u32>().ok()?)))
                .filter(|(_, bits)| *bits <= 32);
            match parsed {
                Some((a, bits)) => {
                    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
                    let lo = u32::from(a) & mask;
                    (Some(lo as i64), Some((lo | !mask) as i64), None, None)
                }
                None => (None, None, None, None),
            }
        }
        "domain" => {
            let rev = reversed_domain(value);
            let end = format!("{rev}\u{ffff}");
            (None, None, Some(rev), Some(end))
        }
        _ => (None, None, None, None),
    }
}

/// A list (`w`) with its last importer's address (`u`) and its counts.
macro_rules! list_select {
    () => {
        "SELECT w.id, w.name, w.kind, w.description, w.tlp, w.created_at, w.updated_at, u.email AS updated_by,
             (SELECT COUNT(*) FROM watchlist_entries e WHERE e.list_id = w.id) AS entries,
             (SELECT COUNT(DISTINCT e.source_file) FROM watchlist_entries e WHERE e.list_id = w.id) AS sources,
             (SELECT COUNT(DISTINCT h.report_id) FROM watchlist_hits h WHERE h.list_id = w.id) AS reports_hit
         FROM watchlists w LEFT JOIN users u ON u.id = w.updated_by"
    };
}

/// An entry (`e`) of a list (`w`) as a [`WatchHit`] of itself (what a search shows).
macro_rules! match_select {
    () => {
        concat!(
            "SELECT w.name AS list, w.kind AS list_kind, e.kind AS indicator_kind, e.value AS indicator_value, ",
            entry_columns!(),
            " FROM watchlist_entries e JOIN watchlists w ON w.id = e.list_id LEFT JOIN users u ON u.id = e.imported_by WHERE "
        )
    };
}

fn list_from_row(r: &<super::Db as sqlx::Database>::Row) -> Result<Watchlist, StoreError> {
    Ok(Watchlist {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: parse_key(&r.try_get::<String, _>("kind")?)?,
        description: r.try_get("description")?,
        tlp: r.try_get("tlp")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        updated_by: r.try_get("updated_by")?,
        entries: r.try_get("entries")?,
        sources: r.try_get("sources")?,
        reports_hit: r.try_get("reports_hit")?,
    })
}

impl Store {
    /// Every list, by name.
    pub(crate) async fn watchlists(&self) -> Result<Vec<Watchlist>, StoreError> {
        let rows = sqlx::query(concat!(list_select!(), " ORDER BY w.name, w.id")).fetch_all(&self.pool).await?;
        rows.iter().map(list_from_row).collect()
    }

    pub(crate) async fn watchlist(&self, name: &str) -> Result<Option<Watchlist>, StoreError> {
        let row =
            sqlx::query(concat!(list_select!(), " WHERE w.name = $1")).bind(name).fetch_optional(&self.pool).await?;
        row.as_ref().map(list_from_row).transpose()
    }

    /// A list's entries by kind and value, at most `limit`.
    pub(crate) async fn watchlist_entries(&self, list_id: i64, limit: i64) -> Result<Vec<WatchlistEntry>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            entry_columns!(),
            " FROM watchlist_entries e LEFT JOIN users u ON u.id = e.imported_by
             WHERE e.list_id = $1 ORDER BY e.kind, e.value, e.source_file, e.id LIMIT $2"
        ))
        .bind(list_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Import into a list (created if new; a list of the other kind is `Duplicate`): each
    /// source's rows replace what the same file gave before, then the list's hits are written
    /// again over every indexed report. One transaction, audited `watchlist.import`.
    pub(crate) async fn import_watchlist(
        &self,
        import: &WatchlistImport,
        by: Option<UserId>,
    ) -> Result<WatchlistImported, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO watchlists (name, kind, description, tlp, created_at, updated_at, updated_by)
             VALUES ($1, $2, COALESCE($3, ''), $4, $5, $5, $6)
             ON CONFLICT (name) DO UPDATE SET description = COALESCE($3, watchlists.description),
                 tlp = COALESCE($4, watchlists.tlp), updated_at = $5, updated_by = $6
             RETURNING id, kind",
        )
        .bind(&import.name)
        .bind(import.kind.key())
        .bind(import.description.as_deref())
        .bind(import.tlp.as_deref())
        .bind(ts(now))
        .bind(by.map(|u| u.0))
        .fetch_one(&mut *tx)
        .await?;
        let list_id: i64 = row.try_get(0)?;
        let kind: WatchlistKind = parse_key(&row.try_get::<String, _>(1)?)?;
        if kind != import.kind {
            return Err(StoreError::Duplicate(format!("{} ({})", import.name, kind.key())));
        }
        sqlx::query("DELETE FROM watchlist_hits WHERE list_id = $1").bind(list_id).execute(&mut *tx).await?;
        let (mut replaced, mut inserted) = (0, 0);
        for (file, entries) in &import.sources {
            replaced += sqlx::query("DELETE FROM watchlist_entries WHERE list_id = $1 AND source_file = $2")
                .bind(list_id)
                .bind(file)
                .execute(&mut *tx)
                .await?
                .rows_affected() as i64;
            for e in entries {
                let (lo, hi, rev, rev_end) = match_keys(&e.kind, &e.value);
                inserted += sqlx::query(
                    "INSERT INTO watchlist_entries (list_id, kind, value, ipv4_lo, ipv4_hi, rev_domain, rev_domain_end,
                         source_file, source_id, imported_at, imported_by, valid_until)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                     ON CONFLICT (list_id, source_file, kind, value) DO NOTHING",
                )
                .bind(list_id)
                .bind(&e.kind)
                .bind(&e.value)
                .bind(lo)
                .bind(hi)
                .bind(rev)
                .bind(rev_end)
                .bind(file)
                .bind(&e.source_id)
                .bind(ts(now))
                .bind(by.map(|u| u.0))
                .bind(e.valid_until.map(ts))
                .execute(&mut *tx)
                .await?
                .rows_affected() as i64;
            }
        }
        for sql in LIST_HITS {
            sqlx::query(sql).bind(list_id).bind(ts(now)).execute(&mut *tx).await?;
        }
        let counts = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM watchlist_entries WHERE list_id = $1),
                    (SELECT COUNT(DISTINCT report_id) FROM watchlist_hits WHERE list_id = $1)",
        )
        .bind(list_id)
        .fetch_one(&mut *tx)
        .await?;
        let (entries, reports_hit): (i64, i64) = (counts.try_get(0)?, counts.try_get(1)?);
        let files: Vec<&str> = import.sources.iter().map(|(f, _)| f.as_str()).collect();
        let detail = format!(
            "{} {}: {} ({inserted} entries, {replaced} replaced; {entries} in the list, {reports_hit} reports hit)",
            import.kind.key(),
            import.name,
            files.join(", ")
        );
        audit_in(&mut tx, by, "watchlist.import", Some(&import.name), Some(&detail)).await?;
        tx.commit().await?;
        Ok(WatchlistImported { list_id, replaced, inserted, entries, reports_hit })
    }

    /// Remove a list with its entries and hits; audited `watchlist.remove`. False: no such list.
    pub(crate) async fn remove_watchlist(&self, name: &str, by: Option<UserId>) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let Some(row) =
            sqlx::query("SELECT id, kind FROM watchlists WHERE name = $1").bind(name).fetch_optional(&mut *tx).await?
        else {
            return Ok(false);
        };
        let (id, kind): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
        for sql in [
            "DELETE FROM watchlist_hits WHERE list_id = $1",
            "DELETE FROM watchlist_entries WHERE list_id = $1",
            "DELETE FROM watchlists WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        audit_in(&mut tx, by, "watchlist.remove", Some(name), Some(&kind)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A report's hits on every list (watch lists first), by list, then indicator.
    pub(crate) async fn watch_hits(&self, report: ReportId) -> Result<Vec<WatchHit>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT w.name AS list, w.kind AS list_kind, h.indicator_kind, h.indicator_value, ",
            entry_columns!(),
            " FROM watchlist_hits h JOIN watchlists w ON w.id = h.list_id JOIN watchlist_entries e ON e.id = h.entry_id
             LEFT JOIN users u ON u.id = e.imported_by
             WHERE h.report_id = $1 ORDER BY w.kind DESC, w.name, h.indicator_kind, h.indicator_value, e.id"
        ))
        .bind(report.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(hit_from_row).collect()
    }

    /// The entries (still valid at `now`) that a searched indicator falls under: the value
    /// itself, an IPv4 range holding the address (or overlapping the searched range), a domain at
    /// or above the searched one.
    pub(crate) async fn watchlist_matches(
        &self,
        q: &IndicatorQuery,
        now: OffsetDateTime,
    ) -> Result<Vec<WatchHit>, StoreError> {
        let mut rows = vec![];
        match q {
            IndicatorQuery::Exact(v) => {
                let ip = v.parse::<std::net::Ipv4Addr>().ok().map(|a| u32::from(a) as i64);
                let sql = concat!(
                    match_select!(),
                    "(e.value = $1 OR ($2 IS NOT NULL AND e.ipv4_lo <= $2 AND e.ipv4_hi >= $2))
                     AND (e.valid_until IS NULL OR e.valid_until > $3)"
                );
                rows.extend(sqlx::query(sql).bind(v).bind(ip).bind(ts(now)).fetch_all(&self.pool).await?);
            }
            IndicatorQuery::Ipv4Range(lo, hi) => {
                let sql = concat!(
                    match_select!(),
                    "e.ipv4_lo <= $2 AND e.ipv4_hi >= $1 AND (e.valid_until IS NULL OR e.valid_until > $3)"
                );
                rows.extend(sqlx::query(sql).bind(lo).bind(hi).bind(ts(now)).fetch_all(&self.pool).await?);
            }
            IndicatorQuery::DomainTree(rev) => {
                // The searched domain with what is under it, and each of its parents: `jp.`, `jp.co.`, ….
                let sql = concat!(
                    match_select!(),
                    "(e.rev_domain = $1 OR ($2 = 1 AND e.rev_domain > $1 AND e.rev_domain < $4))
                     AND (e.valid_until IS NULL OR e.valid_until > $3)"
                );
                let mut prefix = String::new();
                for label in rev.trim_end_matches('.').split('.') {
                    prefix.push_str(label);
                    prefix.push('.');
                    let whole = (prefix.len() == rev.len()) as i64;
                    rows.extend(
                        sqlx::query(sql)
                            .bind(&prefix)
                            .bind(whole)
                            .bind(ts(now))
                            .bind(format!("{prefix}\u{ffff}"))
                            .fetch_all(&self.pool)
                            .await?,
                    );
                }
            }
        }
        let mut out: Vec<WatchHit> = rows.iter().map(hit_from_row).collect::<Result<_, _>>()?;
        // Watch lists first (as `watch_hits`), then by list and value.
        out.sort_by(|a, b| {
            (std::cmp::Reverse(a.list_kind.key()), &a.list, &a.entry.kind, &a.entry.value, a.entry.id).cmp(&(
                std::cmp::Reverse(b.list_kind.key()),
                &b.list,
                &b.entry.kind,
                &b.entry.value,
                b.entry.id,
            ))
        });
        out.dedup_by_key(|h| h.entry.id);
        Ok(out)
    }

    /// Drop the hits of entries past their `valid_until` (the housekeeping); how many.
    pub(crate) async fn expire_watch_hits(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "DELETE FROM watchlist_hits WHERE entry_id IN (SELECT id FROM watchlist_entries WHERE valid_until <= $1)",
        )
        .bind(ts(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n)
    }
}
