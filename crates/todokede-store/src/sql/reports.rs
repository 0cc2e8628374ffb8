//! One report and the queue: reading, listing, states, the timeline, assignment, links, blobs, integrity.
//! Compiled into each backend (`#[path]` from `sqlite.rs` and `postgres.rs`): `Store` is that
//! backend's store, `dialect` its few statements that differ.

use super::rows::*;
use super::{Store, dialect};
use crate::{StoreError, codec, model::*};
use sqlx::Row as _;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use todokede_domain::*;

impl Store {
    pub(crate) async fn report(&self, id: ReportId) -> Result<Option<Report>, StoreError> {
        let Some(row) = sqlx::query("SELECT tracking_number, state, channel, received_at, content_json, assignee, intake_notes, version FROM reports WHERE id = $1")
            .bind(id.0).fetch_optional(&self.pool).await? else { return Ok(None) };
        let mut attachments_by_entry: BTreeMap<Option<i64>, Vec<AttachmentMeta>> = BTreeMap::new();
        for a in sqlx::query("SELECT timeline_id, sha256, filename, content_type, size FROM attachments WHERE report_id = $1 ORDER BY id")
            .bind(id.0).fetch_all(&self.pool).await?
        {
            attachments_by_entry.entry(a.try_get("timeline_id")?).or_default().push(AttachmentMeta {
                sha256: a.try_get("sha256")?,
                filename: a.try_get("filename")?,
                content_type: a.try_get("content_type")?,
                size: a.try_get::<i64, _>("size")? as u64,
            });
        }
        let mut timeline = Vec::new();
        for t in sqlx::query(
            "SELECT t.id, t.kind, t.body, t.from_state, t.to_state, t.user_id, t.target_user_id, o.tracking_number AS other, t.at
             FROM timeline t LEFT JOIN reports o ON o.id = t.other_report_id WHERE t.report_id = $1 ORDER BY t.id",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await?
        {
            let at: OffsetDateTime = t.try_get("at")?;
            let by = t.try_get::<Option<i64>, _>("user_id")?.map(UserId);
            let body = t.try_get::<Option<String>, _>("body")?.unwrap_or_default();
            let kind: String = t.try_get("kind")?;
            let missing_user = || StoreError::Corrupt("timeline entry without user".into());
            timeline.push(match kind.as_str() {
                "state" => TimelineEntry::StateChanged {
                    from: parse_key(&t.try_get::<String, _>("from_state")?)?,
                    to: parse_key(&t.try_get::<String, _>("to_state")?)?,
                    // Without a user: the system moved it (the reporter answered).
                    by: by.map(Actor::Analyst).unwrap_or(Actor::System),
                    at,
                },
                "follow_up" => TimelineEntry::FollowUp {
                    body,
                    attachments: attachments_by_entry.remove(&Some(t.try_get("id")?)).unwrap_or_default(),
                    at,
                },
                "note" => TimelineEntry::Note { body, by: by.ok_or_else(missing_user)?, at },
                "reply" => TimelineEntry::Reply { body, by: by.ok_or_else(missing_user)?, at },
                "assign" => TimelineEntry::Assigned {
                    to: t.try_get::<Option<i64>, _>("target_user_id")?.map(UserId),
                    by: by.ok_or_else(missing_user)?,
                    at,
                },
                "classify" => TimelineEntry::Classified {
                    primary_cause: (!body.is_empty()).then(|| parse_key(&body)).transpose()?,
                    by: by.ok_or_else(missing_user)?,
                    at,
                },
                "link" => TimelineEntry::Linked {
                    other: tracking(
                        &t.try_get::<Option<String>, _>("other")?
                            .ok_or_else(|| StoreError::Corrupt("link without report".into()))?,
                    )?,
                    by: by.ok_or_else(missing_user)?,
                    at,
                },
                other => return Err(StoreError::Corrupt(format!("timeline kind {other}"))),
            });
        }
        Ok(Some(Report {
            id,
            tracking_number: tracking(&row.try_get::<String, _>("tracking_number")?)?,
            state: parse_key(&row.try_get::<String, _>("state")?)?,
            channel: parse_key(&row.try_get::<String, _>("channel")?)?,
            received_at: row.try_get("received_at")?,
            content: codec::decode_content(&row.try_get::<String, _>("content_json")?)?,
            attachments: attachments_by_entry.remove(&None).unwrap_or_default(),
            assignee: row.try_get::<Option<i64>, _>("assignee")?.map(UserId),
            timeline,
            intake_notes: serde_json::from_str(&row.try_get::<String, _>("intake_notes")?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            version: row.try_get("version")?,
        }))
    }

    pub(crate) async fn list_reports(&self, f: &ReportFilter) -> Result<Vec<ReportSummary>, StoreError> {
        // $14: overdue only; $15..$18: the SLA cut-offs of received, triage, in_progress,
        // waiting_on_reporter (a state without a clock has NULL, so it is never overdue).
        macro_rules! filtered {
            () => {
                concat!(
                    "SELECT ",
                    summary_columns!(),
                    " FROM reports r
             WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR form = $2) AND ($3 IS NULL OR reporter_kind = $3)
               AND ($4 IS NULL OR received_at >= $4) AND ($5 IS NULL OR received_at < $5)
               AND ($8 IS NULL OR EXISTS (SELECT 1 FROM analyses a WHERE a.report_id = r.id AND a.primary_cause = $8))
               AND ($9 IS NULL OR assignee = $9)
               AND ($10 IS NULL OR r.answered_at IS NOT NULL)
               AND ($11 IS NULL OR NOT EXISTS (SELECT 1 FROM classifications c WHERE c.report_id = r.id))
               AND ($19 IS NULL OR EXISTS (SELECT 1 FROM watchlist_hits wh JOIN watchlists wl ON wl.id = wh.list_id WHERE wh.report_id = r.id AND wl.kind = 'watch'))
               AND ($14 IS NULL OR ",
                    overdue!(),
                    ")"
                )
            };
        }
        // An imported report has no clock until an analyst changes its state (its received
        // date is history, not this desk's: `Settings::clock_start` in todokede-app).
        macro_rules! overdue {
            () => {
                concat!(
                    "((r.channel <> 'import' OR EXISTS (SELECT 1 FROM timeline tc WHERE tc.report_id = r.id AND tc.kind = 'state')) AND ((r.state = 'received' AND ",
                    state_since!(),
                    " < $15) OR (r.state = 'triage' AND ",
                    state_since!(),
                    " < $16) OR (r.state = 'in_progress' AND ",
                    state_since!(),
                    " < $17) OR (r.state = 'waiting_on_reporter' AND ",
                    state_since!(),
                    " < $18)))"
                )
            };
        }
        let sql = if f.overdue_first {
            concat!(
                filtered!(),
                " ORDER BY CASE WHEN ",
                overdue!(),
                " THEN 0 ELSE 1 END, state_since, id LIMIT $6 OFFSET $7"
            )
        } else if f.newest_first {
            concat!(
                filtered!(),
                " AND ($12 IS NULL OR received_at < $12 OR (received_at = $12 AND id < $13))
             ORDER BY received_at DESC, id DESC LIMIT $6 OFFSET $7"
            )
        } else {
            concat!(
                filtered!(),
                " AND ($12 IS NULL OR received_at > $12 OR (received_at = $12 AND id > $13))
             ORDER BY received_at, id LIMIT $6 OFFSET $7"
            )
        };
        let rows = sqlx::query(sql)
            .bind(f.state.map(|s| s.key()))
            .bind(f.form.map(|s| s.key()))
            .bind(f.reporter_kind.map(|s| s.key()))
            .bind(f.received_from.map(ts))
            .bind(f.received_before.map(ts))
            .bind(if f.limit > 0 { f.limit } else { 50 })
            .bind(f.offset.max(0))
            .bind(f.primary_cause.map(|c| c.key()))
            .bind(f.assignee.map(|u| u.0))
            .bind(f.answered.then_some(true))
            .bind(f.unconfirmed.then_some(true))
            .bind(f.after.map(|(t, _)| ts(t)))
            .bind(f.after.map(|(_, id)| id.0))
            .bind(f.overdue.then_some(true))
            .bind(f.sla.received.map(ts))
            .bind(f.sla.triage.map(ts))
            .bind(f.sla.in_progress.map(ts))
            .bind(f.sla.waiting_on_reporter.map(ts))
            .bind(f.watch_hit.then_some(true))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(summary_from_row).collect()
    }

    pub(crate) async fn report_clock(&self, id: ReportId) -> Result<ReportClock, StoreError> {
        let r = sqlx::query(concat!(
            "SELECT ",
            state_since!(),
            " AS state_since, r.answered_at FROM reports r WHERE r.id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(ReportClock { state_since: r.try_get("state_since")?, answered_at: r.try_get("answered_at")? })
    }

    pub(crate) async fn count_by_state(&self) -> Result<Vec<(ReportState, i64)>, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM reports GROUP BY state").fetch_all(&self.pool).await?;
        let mut counts: Vec<(ReportState, i64)> = ReportState::ALL.iter().map(|s| (*s, 0)).collect();
        for r in rows {
            let s: ReportState = parse_key(&r.try_get::<String, _>("state")?)?;
            if let Some(c) = counts.iter_mut().find(|(k, _)| *k == s) {
                c.1 = r.try_get("n")?;
            }
        }
        Ok(counts)
    }

    /// The queue's flags as counts: (answered and waiting for an analyst, without a confirmed
    /// classification).
    pub(crate) async fn count_flags(&self) -> Result<(i64, i64), StoreError> {
        let r = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM reports WHERE answered_at IS NOT NULL),
                    (SELECT COUNT(*) FROM reports r WHERE NOT EXISTS (SELECT 1 FROM classifications c WHERE c.report_id = r.id))",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((r.try_get(0)?, r.try_get(1)?))
    }

    pub(crate) async fn all_report_ids(&self) -> Result<Vec<ReportId>, StoreError> {
        let rows = sqlx::query("SELECT id FROM reports ORDER BY id").fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(ReportId(r.try_get(0)?))).collect()
    }

    pub(crate) async fn transition(
        &self,
        id: ReportId,
        to: ReportState,
        by: UserId,
        if_version: Option<i64>,
    ) -> Result<ReportState, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.begin_write().await?;
        bump_version(&mut tx, id.0, if_version).await?;
        let from: String = sqlx::query("SELECT state FROM reports WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?
            .try_get(0)?;
        let from: ReportState = parse_key(&from)?;
        let to = from.transition(to)?;
        // Compare-and-set: a concurrent transition by another analyst makes this one fail.
        // The analyst acted: the report no longer waits for one (`answered_at`).
        let changed = sqlx::query("UPDATE reports SET state = $1, answered_at = NULL WHERE id = $2 AND state = $3")
            .bind(to.key())
            .bind(id.0)
            .bind(from.key())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed != 1 {
            return Err(StoreError::InvalidTransition(InvalidTransition { from, to }));
        }
        sqlx::query("INSERT INTO timeline (report_id, kind, from_state, to_state, user_id, at) VALUES ($1, 'state', $2, $3, $4, $5)")
            .bind(id.0).bind(from.key()).bind(to.key()).bind(by.0).bind(ts(now)).execute(&mut *tx).await?;
        audit_in(&mut tx, Some(by), "report.transition", Some(&id.0.to_string()), Some(&format!("{from} -> {to}")))
            .await?;
        tx.commit().await?;
        Ok(to)
    }

    pub(crate) async fn add_timeline(
        &self,
        id: ReportId,
        kind: TimelineKind,
        body: &str,
        by: Option<UserId>,
        attachments: &[Attachment],
        if_version: Option<i64>,
    ) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.begin_write().await?;
        bump_version(&mut tx, id.0, if_version).await?;
        let entry: i64 = sqlx::query(
            "INSERT INTO timeline (report_id, kind, body, user_id, at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(id.0)
        .bind(kind.key())
        .bind(body)
        .bind(by.map(|u| u.0))
        .bind(ts(now))
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        insert_attachments(&mut tx, id.0, Some(entry), attachments).await?;
        if kind == TimelineKind::FollowUp {
            // New information from the reporter is analysed again, and waits for an analyst.
            enqueue_job(&mut tx, JobKind::Analyse, id.0, now).await?;
            reporter_answered(&mut tx, id.0, now).await?;
        } else if by.is_some() {
            analyst_acted(&mut tx, id.0).await?;
        }
        if let Some(by) = by {
            audit_in(&mut tx, Some(by), &format!("report.{}", kind.key()), Some(&id.0.to_string()), None).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A 続報 that arrives through a channel that may deliver twice (mail): stored once per
    /// dedup key. Returns false when it was already stored.
    pub(crate) async fn add_follow_up_once(
        &self,
        id: ReportId,
        body: &str,
        attachments: &[Attachment],
        key: &DedupKey,
    ) -> Result<bool, StoreError> {
        let now = OffsetDateTime::now_utc();
        // The follow-up's identity: its text and files, not the raw message (kept as
        // message/rfc822), whose Received lines differ between two deliveries of one mail.
        let identity = {
            use sha2::Digest as _;
            let mut h = sha2::Sha256::new();
            h.update(body.as_bytes());
            for a in attachments.iter().filter(|a| a.content_type != "message/rfc822") {
                h.update(b"\0attachment\0");
                h.update(sha2::Sha256::digest(&a.bytes));
            }
            hex::encode(h.finalize())
        };
        let mut tx = self.begin_write().await?;
        let claim = |key: String| {
            sqlx::query("INSERT INTO dedup_keys (key, report_id, request_sha256, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING RETURNING key")
                .bind(key).bind(id.0).bind(identity.clone()).bind(ts(now))
        };
        let mut collision = None;
        if claim(key.storage_key()).fetch_optional(&mut *tx).await?.is_none() {
            let stored: String = sqlx::query("SELECT request_sha256 FROM dedup_keys WHERE key = $1")
                .bind(key.storage_key())
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            // '' : stored before identities were kept — taken as the same mail, as it was then.
            if stored.is_empty() || stored == identity {
                return Ok(false);
            }
            // A different message under a Message-ID already seen: kept under a key of its
            // content, and flagged.
            let derived = format!("{}#{identity}", key.storage_key());
            if claim(derived.clone()).fetch_optional(&mut *tx).await?.is_none() {
                return Ok(false);
            }
            collision = Some(derived);
        }
        bump_version(&mut tx, id.0, None).await?;
        let entry: i64 = sqlx::query(
            "INSERT INTO timeline (report_id, kind, body, at) VALUES ($1, 'follow_up', $2, $3) RETURNING id",
        )
        .bind(id.0)
        .bind(body)
        .bind(ts(now))
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        insert_attachments(&mut tx, id.0, Some(entry), attachments).await?;
        sqlx::query(dialect::SEARCH_APPEND_SQL).bind(id.0).bind(format!("\n{body}")).execute(&mut *tx).await?;
        if let Some(derived) = &collision {
            audit_in(&mut tx, None, "mail.message_id_collision", Some(&id.0.to_string()), Some(derived)).await?;
        }
        enqueue_job(&mut tx, JobKind::Analyse, id.0, now).await?;
        reporter_answered(&mut tx, id.0, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub(crate) async fn assign(
        &self,
        id: ReportId,
        to: Option<UserId>,
        by: UserId,
        if_version: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        bump_version(&mut tx, id.0, if_version).await?;
        let n = sqlx::query("UPDATE reports SET assignee = $1 WHERE id = $2")
            .bind(to.map(|u| u.0))
            .bind(id.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "INSERT INTO timeline (report_id, kind, user_id, target_user_id, at) VALUES ($1, 'assign', $2, $3, $4)",
        )
        .bind(id.0)
        .bind(by.0)
        .bind(to.map(|u| u.0))
        .bind(ts(OffsetDateTime::now_utc()))
        .execute(&mut *tx)
        .await?;
        audit_in(
            &mut tx,
            Some(by),
            "report.assign",
            Some(&id.0.to_string()),
            Some(&to.map(|u| u.0.to_string()).unwrap_or_else(|| "nobody".into())),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Link two reports (stored once, as the ordered pair).
    pub(crate) async fn link_reports(
        &self,
        a: ReportId,
        b: ReportId,
        by: UserId,
        if_version: Option<i64>,
    ) -> Result<(), StoreError> {
        let (x, y) = if a.0 < b.0 { (a.0, b.0) } else { (b.0, a.0) };
        let now = OffsetDateTime::now_utc();
        let mut tx = self.begin_write().await?;
        bump_version(&mut tx, a.0, if_version).await?;
        bump_version(&mut tx, b.0, None).await?;
        let new = sqlx::query("INSERT INTO report_links (report_a, report_b, user_id, at) VALUES ($1, $2, $3, $4) ON CONFLICT (report_a, report_b) DO NOTHING")
            .bind(x).bind(y).bind(by.0).bind(ts(now)).execute(&mut *tx).await?.rows_affected() == 1;
        if new {
            // On both reports' timelines, each naming the other.
            for (on, other) in [(a.0, b.0), (b.0, a.0)] {
                sqlx::query("INSERT INTO timeline (report_id, kind, user_id, other_report_id, at) VALUES ($1, 'link', $2, $3, $4)")
                    .bind(on)
                    .bind(by.0)
                    .bind(other)
                    .bind(ts(now))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        audit_in(&mut tx, Some(by), "report.link", Some(&a.0.to_string()), Some(&b.0.to_string())).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn linked_reports(&self, id: ReportId) -> Result<Vec<TrackingNumber>, StoreError> {
        let rows = sqlx::query("SELECT r.tracking_number FROM report_links l JOIN reports r ON r.id = CASE WHEN l.report_a = $1 THEN l.report_b ELSE l.report_a END
                                WHERE l.report_a = $1 OR l.report_b = $1 ORDER BY r.id").bind(id.0).fetch_all(&self.pool).await?;
        rows.iter().map(|r| tracking(&r.try_get::<String, _>(0)?)).collect()
    }

    pub(crate) async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row =
            sqlx::query("SELECT bytes FROM blobs WHERE sha256 = $1").bind(sha256).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    pub(crate) async fn blob_head(&self, sha256: &str, len: i32) -> Result<Option<Vec<u8>>, StoreError> {
        // Parameters in the order they appear (SQLite numbers `$n` by first appearance).
        let row = sqlx::query("SELECT substr(bytes, 1, $1) FROM blobs WHERE sha256 = $2")
            .bind(len)
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    pub(crate) async fn raw_input(&self, id: ReportId) -> Result<Option<RawInput>, StoreError> {
        let row = sqlx::query(
            "SELECT r.raw_content_type, b.bytes FROM reports r JOIN blobs b ON b.sha256 = r.raw_sha256 WHERE r.id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok(RawInput { content_type: r.try_get(0)?, bytes: r.try_get(1)? })).transpose()
    }

    pub(crate) async fn check_integrity(&self) -> Result<IntegrityReport, StoreError> {
        let count = |sql: &'static str| async move {
            Ok::<i64, StoreError>(sqlx::query(sql).fetch_one(&self.pool).await?.try_get(0)?)
        };
        let mut problems = self.backend_integrity_problems().await?;
        let orphans = count(
            "SELECT COUNT(*) FROM reports r LEFT JOIN blobs b ON b.sha256 = r.raw_sha256 WHERE b.sha256 IS NULL",
        )
        .await?
            + count(
                "SELECT COUNT(*) FROM attachments a LEFT JOIN blobs b ON b.sha256 = a.sha256 WHERE b.sha256 IS NULL",
            )
            .await?;
        if orphans > 0 {
            problems.push(format!("{orphans} rows reference missing blobs"));
        }
        let dangling = count("SELECT COUNT(*) FROM dedup_keys WHERE report_id IS NULL").await?;
        if dangling > 0 {
            problems.push(format!("{dangling} dedup keys without a report"));
        }
        Ok(IntegrityReport {
            reports: count("SELECT COUNT(*) FROM reports").await?,
            dedup_keys: count("SELECT COUNT(*) FROM dedup_keys").await?,
            blobs: count("SELECT COUNT(*) FROM blobs").await?,
            problems,
        })
    }
}
