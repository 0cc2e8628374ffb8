// Queries shared by both backends. This file is `include!`d by `sqlite.rs` and `postgres.rs`,
// each of which defines `Db` (the sqlx database type), `Store` (its store struct with a `pool`
// field) and `begin_write` (how a write transaction starts on that backend).
//
// Placeholders are `$N`, which both SQLite and PostgreSQL accept. No SQL is ever built from
// input: optional filters use `($1 IS NULL OR col = $1)`.

use std::collections::BTreeMap;
use sqlx::Row as _;
use time::OffsetDateTime;
use todokede_domain::*;
use crate::{codec, model::*, StoreError};

fn parse_key<T: ClosedEnum>(s: &str) -> Result<T, StoreError> {
    T::parse(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn tracking(s: &str) -> Result<TrackingNumber, StoreError> {
    TrackingNumber::parse(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    pub(crate) async fn ingest_batch(&self, batch: &[Submission]) -> Result<Vec<Result<Receipt, IngestRejection>>, StoreError> {
        let now = OffsetDateTime::now_utc();
        // Claim dedup keys in a fixed order so two processes with overlapping batches cannot
        // deadlock on each other's keys (PostgreSQL).
        let mut order: Vec<usize> = (0..batch.len()).collect();
        order.sort_by_cached_key(|&i| batch[i].dedup.as_ref().map(|k| k.storage_key()));
        let mut out: Vec<Option<Result<Receipt, IngestRejection>>> = vec![None; batch.len()];
        let mut tx = self.begin_write().await?;
        for i in order {
            let sub = &batch[i];
            let request_sha = sub.fingerprint();
            let raw_sha = sub.raw.sha256_hex();
            let key = sub.dedup.as_ref().map(|k| k.storage_key());
            if let Some(key) = &key {
                let claimed = sqlx::query("INSERT INTO dedup_keys (key, request_sha256, created_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING RETURNING key")
                    .bind(key).bind(&request_sha).bind(now)
                    .fetch_optional(&mut *tx).await?;
                if claimed.is_none() {
                    let row = sqlx::query("SELECT d.report_id, d.request_sha256, d.response_secret, r.tracking_number FROM dedup_keys d JOIN reports r ON r.id = d.report_id WHERE d.key = $1")
                        .bind(key).fetch_one(&mut *tx).await?;
                    let same = row.try_get::<String, _>("request_sha256")? == request_sha
                        || !matches!(sub.dedup, Some(DedupKey::IdempotencyKey(_)));
                    out[i] = Some(if same {
                        Ok(Receipt {
                            report_id: ReportId(row.try_get("report_id")?),
                            tracking_number: tracking(&row.try_get::<String, _>("tracking_number")?)?,
                            secret: row.try_get::<Option<String>, _>("response_secret")?.map(|s| ReporterSecret::from_presented(&s)),
                            duplicate: true,
                        })
                    } else {
                        Err(IngestRejection::KeyReusedWithDifferentContent)
                    });
                    continue;
                }
            }
            put_blob(&mut tx, &raw_sha, &sub.raw.bytes).await?;
            let received_at = sub.received_at.unwrap_or(now);
            let tn = TrackingNumber::generate();
            let secret = ReporterSecret::generate();
            let c = &sub.content;
            let id: i64 = sqlx::query(
                "INSERT INTO reports (tracking_number, secret_hash, form, channel, language, state, received_at, reporter_kind, discovered_on, damage_status, description, content_json, raw_sha256, raw_content_type, intake_notes)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id")
                .bind(tn.as_compact()).bind(secret.hash().0.to_vec()).bind(c.form.key()).bind(sub.channel.key())
                .bind(c.language.key()).bind(ReportState::Received.key()).bind(received_at)
                .bind(c.reporter.kind.map(|k| k.key())).bind(c.discovered_on).bind(c.damage_status.key())
                .bind(&c.description).bind(codec::encode_content(c)).bind(&raw_sha).bind(&sub.raw.content_type)
                .bind(serde_json::to_string(&sub.intake_notes).unwrap_or_else(|_| "[]".into()))
                .fetch_one(&mut *tx).await?.try_get(0)?;
            insert_attachments(&mut tx, id, None, &sub.attachments).await?;
            if let Some(key) = &key {
                // Kept so a retry that lost the first answer gets the secret too; `prune_dedup`
                // forgets it after a day.
                sqlx::query("UPDATE dedup_keys SET report_id = $1, response_secret = $2 WHERE key = $3")
                    .bind(id).bind(secret.expose()).bind(key).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO jobs (kind, report_id, created_at) VALUES ('analyse', $1, $2)")
                .bind(id).bind(now).execute(&mut *tx).await?;
            out[i] = Some(Ok(Receipt { report_id: ReportId(id), tracking_number: tn, secret: Some(secret), duplicate: false }));
        }
        tx.commit().await?;
        Ok(out.into_iter().map(|r| r.expect("every submission answered")).collect())
    }

    pub(crate) async fn secret_hash_by_tracking(&self, tn: &TrackingNumber) -> Result<Option<(ReportId, SecretHash)>, StoreError> {
        let row = sqlx::query("SELECT id, secret_hash FROM reports WHERE tracking_number = $1")
            .bind(tn.as_compact()).fetch_optional(&self.pool).await?;
        let Some(row) = row else { return Ok(None) };
        let h: Vec<u8> = row.try_get("secret_hash")?;
        let h: [u8; 32] = h.try_into().map_err(|_| StoreError::Corrupt("secret_hash length".into()))?;
        Ok(Some((ReportId(row.try_get("id")?), SecretHash(h))))
    }

    pub(crate) async fn report(&self, id: ReportId) -> Result<Option<Report>, StoreError> {
        let Some(row) = sqlx::query("SELECT tracking_number, state, channel, received_at, content_json, assignee, intake_notes FROM reports WHERE id = $1")
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
        for t in sqlx::query("SELECT id, kind, body, from_state, to_state, user_id, at FROM timeline WHERE report_id = $1 ORDER BY id")
            .bind(id.0).fetch_all(&self.pool).await?
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
                    by: by.ok_or_else(missing_user)?,
                    at,
                },
                "follow_up" => TimelineEntry::FollowUp {
                    body,
                    attachments: attachments_by_entry.remove(&Some(t.try_get("id")?)).unwrap_or_default(),
                    at,
                },
                "note" => TimelineEntry::Note { body, by: by.ok_or_else(missing_user)?, at },
                "reply" => TimelineEntry::Reply { body, by: by.ok_or_else(missing_user)?, at },
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
            intake_notes: serde_json::from_str(&row.try_get::<String, _>("intake_notes")?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        }))
    }

    pub(crate) async fn list_reports(&self, f: &ReportFilter) -> Result<Vec<ReportSummary>, StoreError> {
        let sql = if f.newest_first {
            "SELECT id, tracking_number, form, state, channel, received_at, reporter_kind, damage_status, description FROM reports
             WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR form = $2) AND ($3 IS NULL OR reporter_kind = $3)
               AND ($4 IS NULL OR received_at >= $4) AND ($5 IS NULL OR received_at < $5)
               AND ($8 IS NULL OR EXISTS (SELECT 1 FROM analyses a WHERE a.report_id = reports.id AND a.primary_cause = $8))
               AND ($9 IS NULL OR assignee = $9)
             ORDER BY received_at DESC, id DESC LIMIT $6 OFFSET $7"
        } else {
            "SELECT id, tracking_number, form, state, channel, received_at, reporter_kind, damage_status, description FROM reports
             WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR form = $2) AND ($3 IS NULL OR reporter_kind = $3)
               AND ($4 IS NULL OR received_at >= $4) AND ($5 IS NULL OR received_at < $5)
               AND ($8 IS NULL OR EXISTS (SELECT 1 FROM analyses a WHERE a.report_id = reports.id AND a.primary_cause = $8))
               AND ($9 IS NULL OR assignee = $9)
             ORDER BY received_at, id LIMIT $6 OFFSET $7"
        };
        let rows = sqlx::query(sql)
            .bind(f.state.map(|s| s.key())).bind(f.form.map(|s| s.key())).bind(f.reporter_kind.map(|s| s.key()))
            .bind(f.received_from).bind(f.received_before)
            .bind(if f.limit > 0 { f.limit } else { 50 }).bind(f.offset.max(0))
            .bind(f.primary_cause.map(|c| c.key())).bind(f.assignee.map(|u| u.0))
            .fetch_all(&self.pool).await?;
        rows.iter().map(summary_from_row).collect()
    }

    pub(crate) async fn count_by_state(&self) -> Result<Vec<(ReportState, i64)>, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM reports GROUP BY state").fetch_all(&self.pool).await?;
        let mut counts: Vec<(ReportState, i64)> = ReportState::ALL.iter().map(|s| (*s, 0)).collect();
        for r in rows {
            let s: ReportState = parse_key(&r.try_get::<String, _>("state")?)?;
            if let Some(c) = counts.iter_mut().find(|(k, _)| *k == s) { c.1 = r.try_get("n")?; }
        }
        Ok(counts)
    }

    pub(crate) async fn all_report_ids(&self) -> Result<Vec<ReportId>, StoreError> {
        let rows = sqlx::query("SELECT id FROM reports ORDER BY id").fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(ReportId(r.try_get(0)?))).collect()
    }

    pub(crate) async fn transition(&self, id: ReportId, to: ReportState, by: UserId) -> Result<ReportState, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.begin_write().await?;
        let from: String = sqlx::query("SELECT state FROM reports WHERE id = $1").bind(id.0)
            .fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?.try_get(0)?;
        let from: ReportState = parse_key(&from)?;
        let to = from.transition(to)?;
        // Compare-and-set: a concurrent transition by another analyst makes this one fail.
        let changed = sqlx::query("UPDATE reports SET state = $1 WHERE id = $2 AND state = $3")
            .bind(to.key()).bind(id.0).bind(from.key()).execute(&mut *tx).await?.rows_affected();
        if changed != 1 {
            return Err(StoreError::InvalidTransition(InvalidTransition { from, to }));
        }
        sqlx::query("INSERT INTO timeline (report_id, kind, from_state, to_state, user_id, at) VALUES ($1, 'state', $2, $3, $4, $5)")
            .bind(id.0).bind(from.key()).bind(to.key()).bind(by.0).bind(now).execute(&mut *tx).await?;
        audit_in(&mut tx, Some(by), "report.transition", Some(&id.0.to_string()), Some(&format!("{from} -> {to}"))).await?;
        tx.commit().await?;
        Ok(to)
    }

    pub(crate) async fn add_timeline(&self, id: ReportId, kind: TimelineKind, body: &str, by: Option<UserId>, attachments: &[Attachment]) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.begin_write().await?;
        let exists = sqlx::query("SELECT 1 FROM reports WHERE id = $1").bind(id.0).fetch_optional(&mut *tx).await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        let entry: i64 = sqlx::query("INSERT INTO timeline (report_id, kind, body, user_id, at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(id.0).bind(kind.key()).bind(body).bind(by.map(|u| u.0)).bind(now)
            .fetch_one(&mut *tx).await?.try_get(0)?;
        insert_attachments(&mut tx, id.0, Some(entry), attachments).await?;
        if kind == TimelineKind::FollowUp {
            // New information from the reporter is analysed again.
            sqlx::query("INSERT INTO jobs (kind, report_id, created_at) VALUES ('analyse', $1, $2)")
                .bind(id.0).bind(now).execute(&mut *tx).await?;
        }
        if let Some(by) = by {
            audit_in(&mut tx, Some(by), &format!("report.{}", kind.key()), Some(&id.0.to_string()), None).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A 続報 that arrives through a channel that may deliver twice (mail): stored once per
    /// dedup key. Returns false when it was already stored.
    pub(crate) async fn add_follow_up_once(&self, id: ReportId, body: &str, attachments: &[Attachment], key: &DedupKey) -> Result<bool, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.begin_write().await?;
        let claimed = sqlx::query("INSERT INTO dedup_keys (key, report_id, request_sha256, created_at) VALUES ($1, $2, '', $3) ON CONFLICT (key) DO NOTHING RETURNING key")
            .bind(key.storage_key()).bind(id.0).bind(now).fetch_optional(&mut *tx).await?;
        if claimed.is_none() {
            return Ok(false);
        }
        let entry: i64 = sqlx::query("INSERT INTO timeline (report_id, kind, body, at) VALUES ($1, 'follow_up', $2, $3) RETURNING id")
            .bind(id.0).bind(body).bind(now).fetch_one(&mut *tx).await?.try_get(0)?;
        insert_attachments(&mut tx, id.0, Some(entry), attachments).await?;
        sqlx::query("INSERT INTO jobs (kind, report_id, created_at) VALUES ('analyse', $1, $2)").bind(id.0).bind(now).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The report a mail thread belongs to: a Message-ID we received (the report's own mail or
    /// a follow-up) or sent (acknowledgement, reply).
    pub(crate) async fn report_by_message_ids(&self, ids: &[String]) -> Result<Option<ReportId>, StoreError> {
        for id in ids.iter().rev() {
            let id = id.trim().trim_matches(['<', '>']);
            let row = sqlx::query("SELECT report_id FROM dedup_keys WHERE key = $1 AND report_id IS NOT NULL UNION ALL SELECT report_id FROM outbox WHERE message_id = $2")
                .bind(format!("msgid:{id}")).bind(id).fetch_optional(&self.pool).await?;
            if let Some(r) = row {
                return Ok(Some(ReportId(r.try_get(0)?)));
            }
        }
        Ok(None)
    }

    pub(crate) async fn sent_message_ids(&self, report: ReportId) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT message_id FROM outbox WHERE report_id = $1 ORDER BY id").bind(report.0).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    pub(crate) async fn enqueue_mails(&self, mails: &[NewMail]) -> Result<(), StoreError> {
        if mails.is_empty() {
            return Ok(());
        }
        let now = OffsetDateTime::now_utc();
        let mut tx = self.begin_write().await?;
        for m in mails {
            sqlx::query("INSERT INTO outbox (report_id, message_id, from_addr, to_addr, raw, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(m.report.0).bind(&m.message_id).bind(&m.from).bind(&m.to).bind(&m.raw).bind(now)
                .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn due_mail(&self, limit: i64) -> Result<Vec<QueuedMail>, StoreError> {
        let rows = sqlx::query("SELECT id, report_id, message_id, from_addr, to_addr, raw, attempts FROM outbox WHERE sent_at IS NULL AND attempts < 20 ORDER BY id LIMIT $1")
            .bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(QueuedMail {
            id: r.try_get("id")?,
            report_id: ReportId(r.try_get("report_id")?),
            message_id: r.try_get("message_id")?,
            from: r.try_get("from_addr")?,
            to: r.try_get("to_addr")?,
            raw: r.try_get("raw")?,
            attempts: r.try_get("attempts")?,
        })).collect()
    }

    pub(crate) async fn mail_outcome(&self, id: i64, error: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let q = match error {
            None => sqlx::query("UPDATE outbox SET sent_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2").bind(OffsetDateTime::now_utc()).bind(id),
            Some(e) => sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1 WHERE id = $2").bind(e).bind(id),
        };
        q.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Record the analyst's classification; every dimension that differs from the automatic
    /// one is kept as an override. Returns the overridden dimensions.
    pub(crate) async fn confirm_classification(&self, id: ReportId, by: UserId, confirmed: &Classification, automatic: &Classification) -> Result<Vec<&'static str>, StoreError> {
        let now = OffsetDateTime::now_utc();
        let c = classification_json(confirmed);
        let a = classification_json(automatic);
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO classifications (report_id, confirmed_by, confirmed_at, causes, damages, attack_types, techniques, has_damage) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (report_id) DO UPDATE SET confirmed_by = excluded.confirmed_by, confirmed_at = excluded.confirmed_at, causes = excluded.causes,
                     damages = excluded.damages, attack_types = excluded.attack_types, techniques = excluded.techniques, has_damage = excluded.has_damage")
            .bind(id.0).bind(by.0).bind(now).bind(&c[0]).bind(&c[1]).bind(&c[2]).bind(&c[3]).bind(&c[4])
            .execute(&mut *tx).await?;
        let diff = confirmed.differences(automatic);
        for dim in &diff {
            let i = ["causes", "damages", "attack_types", "techniques", "has_damage"].iter().position(|d| d == dim).unwrap();
            sqlx::query("INSERT INTO classification_overrides (report_id, user_id, at, dimension, automatic, confirmed) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(id.0).bind(by.0).bind(now).bind(*dim).bind(a[i].clone().unwrap_or_default()).bind(c[i].clone().unwrap_or_default())
                .execute(&mut *tx).await?;
        }
        // The trend facets follow the confirmed classification.
        sqlx::query("DELETE FROM report_facets WHERE report_id = $1 AND (facet LIKE 'cause.%' OR facet LIKE 'damage.%' OR facet LIKE 'technique.%')").bind(id.0).execute(&mut *tx).await?;
        for f in confirmed.facets() {
            sqlx::query("INSERT INTO report_facets (report_id, facet) VALUES ($1, $2) ON CONFLICT DO NOTHING").bind(id.0).bind(f).execute(&mut *tx).await?;
        }
        audit_in(&mut tx, Some(by), "report.classify", Some(&id.0.to_string()), Some(&format!("overrides: {}", diff.join(",")))).await?;
        tx.commit().await?;
        Ok(diff)
    }

    pub(crate) async fn classification(&self, id: ReportId) -> Result<Option<Classification>, StoreError> {
        let Some(r) = sqlx::query("SELECT causes, damages, attack_types, techniques, has_damage FROM classifications WHERE report_id = $1")
            .bind(id.0).fetch_optional(&self.pool).await? else { return Ok(None) };
        Ok(Some(classification_from_row(&r)?))
    }

    /// Reports received in [from, to) that an analyst classified, oldest first.
    pub(crate) async fn confirmed_cases(&self, from: OffsetDateTime, to: OffsetDateTime) -> Result<Vec<ConfirmedCase>, StoreError> {
        let rows = sqlx::query("SELECT r.id, r.tracking_number, r.received_at, r.content_json, c.causes, c.damages, c.attack_types, c.techniques, c.has_damage
                                FROM reports r JOIN classifications c ON c.report_id = r.id
                                WHERE r.received_at >= $1 AND r.received_at < $2 ORDER BY r.received_at, r.id")
            .bind(from).bind(to).fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let classification = classification_from_row(&r)?;
            out.push(ConfirmedCase {
                id: ReportId(r.try_get("id")?),
                tracking_number: tracking(&r.try_get::<String, _>("tracking_number")?)?,
                received_at: r.try_get("received_at")?,
                content: codec::decode_content(&r.try_get::<String, _>("content_json")?)?,
                classification,
            });
        }
        Ok(out)
    }

    pub(crate) async fn count_received(&self, from: OffsetDateTime, to: OffsetDateTime) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM reports WHERE received_at >= $1 AND received_at < $2").bind(from).bind(to).fetch_one(&self.pool).await?.try_get(0)?)
    }

    /// Every analyst-confirmed link, as (report, report).
    pub(crate) async fn all_links(&self) -> Result<Vec<(ReportId, ReportId)>, StoreError> {
        let rows = sqlx::query("SELECT report_a, report_b FROM report_links").fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((ReportId(r.try_get(0)?), ReportId(r.try_get(1)?)))).collect()
    }

    /// Save a new version of a period's document; returns its version number.
    pub(crate) async fn save_publication(&self, period: &str, document_json: &str, by: UserId, change_note: &str) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let version: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) + 1 FROM publications WHERE period = $1").bind(period).fetch_one(&mut *tx).await?.try_get(0)?;
        sqlx::query("INSERT INTO publications (period, version, document_json, created_by, created_at, change_note) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(period).bind(version).bind(document_json).bind(by.0).bind(OffsetDateTime::now_utc()).bind(change_note)
            .execute(&mut *tx).await?;
        audit_in(&mut tx, Some(by), "publication.save", Some(period), Some(&format!("version {version}: {change_note}"))).await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Versions of a period, newest first (the documents included).
    pub(crate) async fn publication_versions(&self, period: &str) -> Result<Vec<PublicationVersion>, StoreError> {
        let rows = sqlx::query("SELECT period, version, document_json, created_by, created_at, change_note, approved_by, approved_at FROM publications WHERE period = $1 ORDER BY version DESC")
            .bind(period).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(PublicationVersion {
                    period: r.try_get("period")?,
                    version: r.try_get("version")?,
                    document_json: r.try_get("document_json")?,
                    created_by: UserId(r.try_get("created_by")?),
                    created_at: r.try_get("created_at")?,
                    change_note: r.try_get("change_note")?,
                    approved_by: r.try_get::<Option<i64>, _>("approved_by")?.map(UserId),
                    approved_at: r.try_get("approved_at")?,
                })
            })
            .collect()
    }

    /// Approve one version (the latest approved one is what gets published).
    pub(crate) async fn approve_publication(&self, period: &str, version: i64, by: UserId) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE publications SET approved_by = $1, approved_at = $2 WHERE period = $3 AND version = $4 AND approved_at IS NULL")
            .bind(by.0).bind(OffsetDateTime::now_utc()).bind(period).bind(version).execute(&mut *tx).await?.rows_affected() == 1;
        if done {
            audit_in(&mut tx, Some(by), "publication.approve", Some(period), Some(&format!("version {version}"))).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// Replace what the cross-report features know about a report, in one transaction.
    pub(crate) async fn index_report(&self, id: ReportId, ix: &ReportIndex) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for sql in ["DELETE FROM report_indicators WHERE report_id = $1", "DELETE FROM lsh_bands WHERE report_id = $1", "DELETE FROM text_signatures WHERE report_id = $1", "DELETE FROM report_facets WHERE report_id = $1", SEARCH_DELETE_SQL] {
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
                                    LEFT JOIN report_clusters c ON c.report_id = b.report_id")
                .bind(k).bind(id.0).fetch_all(&self.pool).await?;
            let mut fresh = std::collections::BTreeSet::new();
            for r in rows {
                let rid: i64 = r.try_get(0)?;
                if seen.contains(&rid) {
                    continue;
                }
                fresh.insert(rid);
                out.push(LshCandidate { report: ReportId(rid), signature: r.try_get(1)?, cluster: ReportId(r.try_get(2)?) });
            }
            seen.extend(fresh);
        }
        Ok(out)
    }

    /// Other reports sharing a correlatable indicator value with `id`; values in more than
    /// `cap` reports are too common to mean anything and are left out. Bounded work: each value
    /// is counted only up to cap + 1.
    pub(crate) async fn correlations(&self, id: ReportId, cap: i64) -> Result<Vec<Correlation>, StoreError> {
        let mine = sqlx::query("SELECT kind, value FROM report_indicators WHERE report_id = $1 AND common = 0 ORDER BY kind, value").bind(id.0).fetch_all(&self.pool).await?;
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
                out.push(Correlation { report: ReportId(r.try_get(0)?), tracking_number: tracking(&r.try_get::<String, _>(1)?)?, kind: kind.clone(), value: value.clone() });
            }
        }
        out.sort_by(|a, b| b.report.0.cmp(&a.report.0).then(a.kind.cmp(&b.kind)).then(a.value.cmp(&b.value)));
        Ok(out)
    }

    /// Reports mentioning an indicator, newest first, with the matching values.
    pub(crate) async fn reports_by_indicator(&self, q: &IndicatorQuery, limit: i64) -> Result<Vec<(ReportSummary, String, String, bool)>, StoreError> {
        let rows = match q {
            IndicatorQuery::Exact(v) => sqlx::query("SELECT r.id, r.tracking_number, r.form, r.state, r.channel, r.received_at, r.reporter_kind, r.damage_status, r.description, i.kind, i.value, i.common
                                                     FROM report_indicators i JOIN reports r ON r.id = i.report_id WHERE i.value = $1 ORDER BY i.report_id DESC LIMIT $2")
                .bind(v).bind(limit).fetch_all(&self.pool).await?,
            IndicatorQuery::Ipv4Range(lo, hi) => sqlx::query("SELECT r.id, r.tracking_number, r.form, r.state, r.channel, r.received_at, r.reporter_kind, r.damage_status, r.description, i.kind, i.value, i.common
                                                     FROM (SELECT report_id, kind, value, common FROM report_indicators WHERE ipv4 >= $1 AND ipv4 <= $2 LIMIT 500) i
                                                     JOIN reports r ON r.id = i.report_id ORDER BY r.id DESC LIMIT $3")
                .bind(lo).bind(hi).bind(limit).fetch_all(&self.pool).await?,
            IndicatorQuery::DomainTree(rev) => sqlx::query("SELECT r.id, r.tracking_number, r.form, r.state, r.channel, r.received_at, r.reporter_kind, r.damage_status, r.description, i.kind, i.value, i.common
                                                     FROM (SELECT report_id, kind, value, common FROM report_indicators WHERE rev_domain >= $1 AND rev_domain < $2 LIMIT 500) i
                                                     JOIN reports r ON r.id = i.report_id ORDER BY r.id DESC LIMIT $3")
                // Every string with the prefix sorts in [prefix, prefix + U+FFFF): an index range, no LIKE.
                .bind(rev).bind(format!("{rev}\u{ffff}")).bind(limit).fetch_all(&self.pool).await?,
        };
        rows.iter().map(|r| Ok((summary_from_row(r)?, r.try_get("kind")?, r.try_get("value")?, r.try_get::<i64, _>("common")? != 0))).collect()
    }

    /// Full-text search (all terms, substrings, Japanese included) with the queue's filters.
    pub(crate) async fn search(&self, q: &SearchQuery) -> Result<Vec<ReportSummary>, StoreError> {
        let (fts, likes) = search_terms(&q.terms);
        let f = &q.filter;
        let rows = sqlx::query(search_sql(fts.is_some(), !likes.is_empty()))
            .bind(fts).bind(likes.first()).bind(likes.get(1)).bind(likes.get(2)).bind(likes.get(3))
            .bind(f.state.map(|s| s.key())).bind(f.reporter_kind.map(|s| s.key()))
            .bind(f.received_from).bind(f.received_before)
            .bind(f.primary_cause.map(|c| format!("cause.{}", c.key())))
            .bind(if f.limit > 0 { f.limit } else { 50 })
            .fetch_all(&self.pool).await?;
        rows.iter().map(summary_from_row).collect()
    }

    pub(crate) async fn cluster_of(&self, id: ReportId) -> Result<Option<(ReportId, f64)>, StoreError> {
        let r = sqlx::query("SELECT cluster_id, similarity FROM report_clusters WHERE report_id = $1").bind(id.0).fetch_optional(&self.pool).await?;
        r.map(|r| Ok((ReportId(r.try_get(0)?), r.try_get(1)?))).transpose()
    }

    pub(crate) async fn cluster_members(&self, cluster: ReportId) -> Result<Vec<ReportSummary>, StoreError> {
        let rows = sqlx::query("SELECT r.id, r.tracking_number, r.form, r.state, r.channel, r.received_at, r.reporter_kind, r.damage_status, r.description
                                FROM report_clusters c JOIN reports r ON r.id = c.report_id WHERE c.cluster_id = $1 ORDER BY r.id LIMIT 500")
            .bind(cluster.0).fetch_all(&self.pool).await?;
        rows.iter().map(summary_from_row).collect()
    }

    /// Clusters with more than one report, largest first.
    pub(crate) async fn clusters(&self, limit: i64) -> Result<Vec<ClusterSummary>, StoreError> {
        let rows = sqlx::query("SELECT c.cluster_id, r.tracking_number, COUNT(*) AS n, MAX(m.received_at) AS latest FROM report_clusters c
                                JOIN reports r ON r.id = c.cluster_id JOIN reports m ON m.id = c.report_id
                                GROUP BY c.cluster_id, r.tracking_number HAVING COUNT(*) > 1 ORDER BY n DESC, latest DESC LIMIT $1")
            .bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(ClusterSummary { cluster: ReportId(r.try_get(0)?), tracking_number: tracking(&r.try_get::<String, _>(1)?)?, members: r.try_get(2)?, latest: r.try_get(3)? })).collect()
    }

    /// Number of reports per facet received in [from, to).
    pub(crate) async fn facet_counts(&self, from: OffsetDateTime, to: OffsetDateTime) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT f.facet, COUNT(*) FROM report_facets f JOIN reports r ON r.id = f.report_id WHERE r.received_at >= $1 AND r.received_at < $2 GROUP BY f.facet")
            .bind(from).bind(to).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// Reports with a facet received in [from, to), newest first.
    pub(crate) async fn reports_with_facet(&self, facet: &str, from: OffsetDateTime, to: OffsetDateTime, limit: i64) -> Result<Vec<ReportSummary>, StoreError> {
        let rows = sqlx::query("SELECT r.id, r.tracking_number, r.form, r.state, r.channel, r.received_at, r.reporter_kind, r.damage_status, r.description
                                FROM report_facets f JOIN reports r ON r.id = f.report_id WHERE f.facet = $1 AND r.received_at >= $2 AND r.received_at < $3 ORDER BY r.received_at DESC LIMIT $4")
            .bind(facet).bind(from).bind(to).bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(summary_from_row).collect()
    }

    /// Store generated reports with their cross-report index in one transaction (benchmarks:
    /// intake and analysis have their own). Returns the new ids.
    pub(crate) async fn bulk_load(&self, reports: &[BulkReport]) -> Result<Vec<ReportId>, StoreError> {
        let raw = b"{}";
        let raw_sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(raw));
        let mut tx = self.begin_write().await?;
        put_blob(&mut tx, &raw_sha, raw).await?;
        let mut ids = Vec::with_capacity(reports.len());
        for r in reports {
            let content = ReportContent::new(ReportForm::UnauthorizedAccess, Language::Ja, r.description.clone());
            let id: i64 = sqlx::query(
                "INSERT INTO reports (tracking_number, secret_hash, form, channel, language, state, received_at, reporter_kind, discovered_on, damage_status, description, content_json, raw_sha256, raw_content_type, intake_notes)
                 VALUES ($1, $2, 'unauthorized_access', 'import', 'ja', 'received', $3, $4, NULL, 'unknown', $5, $6, $7, 'application/json', '[]') RETURNING id")
                .bind(TrackingNumber::generate().as_compact()).bind(vec![0u8; 32]).bind(r.received_at).bind(r.reporter_kind.map(|k| k.key()))
                .bind(&r.description).bind(codec::encode_content(&content)).bind(&raw_sha)
                .fetch_one(&mut *tx).await?.try_get(0)?;
            write_index(&mut tx, ReportId(id), &r.index).await?;
            ids.push(ReportId(id));
        }
        tx.commit().await?;
        Ok(ids)
    }

    pub(crate) async fn override_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT dimension, COUNT(*) AS n FROM classification_overrides GROUP BY dimension ORDER BY dimension").fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    pub(crate) async fn create_session(&self, token_hash: &str, who: &SessionSubject, csrf: &str, lifetime: time::Duration) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc();
        let (kind, user, report) = match who {
            SessionSubject::Analyst(u) => ("analyst", Some(u.0), None),
            SessionSubject::Reporter(r) => ("reporter", None, Some(r.0)),
        };
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(now).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO sessions (token_hash, kind, user_id, report_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(token_hash).bind(kind).bind(user).bind(report).bind(csrf).bind(now).bind(now + lifetime)
            .execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn session(&self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query("SELECT kind, user_id, report_id, csrf, expires_at FROM sessions WHERE token_hash = $1")
            .bind(token_hash).fetch_optional(&self.pool).await?;
        let Some(r) = row else { return Ok(None) };
        let expires: OffsetDateTime = r.try_get("expires_at")?;
        if expires < OffsetDateTime::now_utc() {
            return Ok(None);
        }
        let kind: String = r.try_get("kind")?;
        let subject = if kind == "analyst" {
            SessionSubject::Analyst(UserId(r.try_get::<Option<i64>, _>("user_id")?.ok_or_else(|| StoreError::Corrupt("session".into()))?))
        } else {
            SessionSubject::Reporter(ReportId(r.try_get::<Option<i64>, _>("report_id")?.ok_or_else(|| StoreError::Corrupt("session".into()))?))
        };
        Ok(Some(Session { subject, csrf: r.try_get("csrf")? }))
    }

    pub(crate) async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT id, email, role, password_hash, disabled FROM users WHERE id = $1").bind(id.0).fetch_optional(&self.pool).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub(crate) async fn assign(&self, id: ReportId, to: Option<UserId>, by: UserId) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE reports SET assignee = $1 WHERE id = $2").bind(to.map(|u| u.0)).bind(id.0).execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        audit_in(&mut tx, Some(by), "report.assign", Some(&id.0.to_string()), Some(&to.map(|u| u.0.to_string()).unwrap_or_else(|| "nobody".into()))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Link two reports (stored once, as the ordered pair).
    pub(crate) async fn link_reports(&self, a: ReportId, b: ReportId, by: UserId) -> Result<(), StoreError> {
        let (x, y) = if a.0 < b.0 { (a.0, b.0) } else { (b.0, a.0) };
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO report_links (report_a, report_b, user_id, at) VALUES ($1, $2, $3, $4) ON CONFLICT (report_a, report_b) DO NOTHING")
            .bind(x).bind(y).bind(by.0).bind(OffsetDateTime::now_utc()).execute(&mut *tx).await?;
        audit_in(&mut tx, Some(by), "report.link", Some(&a.0.to_string()), Some(&b.0.to_string())).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn linked_reports(&self, id: ReportId) -> Result<Vec<TrackingNumber>, StoreError> {
        let rows = sqlx::query("SELECT r.tracking_number FROM report_links l JOIN reports r ON r.id = CASE WHEN l.report_a = $1 THEN l.report_b ELSE l.report_a END
                                WHERE l.report_a = $1 OR l.report_b = $1 ORDER BY r.id").bind(id.0).fetch_all(&self.pool).await?;
        rows.iter().map(|r| tracking(&r.try_get::<String, _>(0)?)).collect()
    }

    pub(crate) async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query("SELECT id, email, role, password_hash, disabled FROM users ORDER BY id").fetch_all(&self.pool).await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Disable (or enable) an account; disabling ends all its sessions at once.
    pub(crate) async fn set_user_disabled(&self, id: UserId, disabled: bool, by: UserId) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2").bind(disabled).bind(id.0).execute(&mut *tx).await?;
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id.0).execute(&mut *tx).await?;
        }
        audit_in(&mut tx, Some(by), if disabled { "user.disable" } else { "user.enable" }, Some(&id.0.to_string()), None).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn totp(&self, id: UserId) -> Result<(Option<String>, i64), StoreError> {
        let r = sqlx::query("SELECT totp_secret, totp_last_step FROM users WHERE id = $1").bind(id.0).fetch_one(&self.pool).await?;
        Ok((r.try_get(0)?, r.try_get(1)?))
    }

    pub(crate) async fn set_totp(&self, id: UserId, secret: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET totp_secret = $1, totp_last_step = 0 WHERE id = $2").bind(secret).bind(id.0).execute(&mut *tx).await?;
        audit_in(&mut tx, Some(id), if secret.is_some() { "user.totp_on" } else { "user.totp_off" }, None, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Record a used TOTP time step; false if it (or a later one) was used already: codes are single-use.
    pub(crate) async fn use_totp_step(&self, id: UserId, step: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1").bind(step).bind(id.0).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    pub(crate) async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT bytes FROM blobs WHERE sha256 = $1").bind(sha256).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    pub(crate) async fn raw_input(&self, id: ReportId) -> Result<Option<RawInput>, StoreError> {
        let row = sqlx::query("SELECT r.raw_content_type, b.bytes FROM reports r JOIN blobs b ON b.sha256 = r.raw_sha256 WHERE r.id = $1")
            .bind(id.0).fetch_optional(&self.pool).await?;
        row.map(|r| Ok(RawInput { content_type: r.try_get(0)?, bytes: r.try_get(1)? })).transpose()
    }

    pub(crate) async fn create_user(&self, email: &str, role: Role, password_hash: &str) -> Result<UserId, StoreError> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query("INSERT INTO users (email, role, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(email).bind(role.key()).bind(password_hash).bind(OffsetDateTime::now_utc())
            .fetch_one(&mut *tx).await?.try_get(0)?;
        audit_in(&mut tx, None, "user.create", Some(email), Some(role.key())).await?;
        tx.commit().await?;
        Ok(UserId(id))
    }

    pub(crate) async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT id, email, role, password_hash, disabled FROM users WHERE email = $1")
            .bind(email).fetch_optional(&self.pool).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub(crate) async fn audit(&self, user: Option<UserId>, action: &str, target: Option<&str>, detail: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        audit_in(&mut tx, user, action, target, detail).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query("SELECT at, user_id, action, target, detail FROM audit_log ORDER BY id DESC LIMIT $1")
            .bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(AuditEntry {
            at: r.try_get("at")?,
            user: r.try_get::<Option<i64>, _>("user_id")?.map(UserId),
            action: r.try_get("action")?,
            target: r.try_get("target")?,
            detail: r.try_get("detail")?,
        })).collect()
    }

    pub(crate) async fn save_analysis(&self, id: ReportId, analyser_version: &str, result_json: &str, primary_cause: Option<CauseCategory>) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO analyses (report_id, analysed_at, analyser_version, result_json, primary_cause) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (report_id) DO UPDATE SET analysed_at = excluded.analysed_at, analyser_version = excluded.analyser_version, result_json = excluded.result_json, primary_cause = excluded.primary_cause")
            .bind(id.0).bind(OffsetDateTime::now_utc()).bind(analyser_version).bind(result_json).bind(primary_cause.map(|c| c.key()))
            .execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn analysis(&self, id: ReportId) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT result_json FROM analyses WHERE report_id = $1").bind(id.0).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Claim up to `limit` runnable jobs for `lease` (see `CLAIM_JOBS_SQL` of each backend).
    pub(crate) async fn claim_jobs(&self, limit: i64, lease: time::Duration) -> Result<Vec<Job>, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(CLAIM_JOBS_SQL).bind(now + lease).bind(now).bind(limit).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let mut jobs: Vec<Job> = rows.iter().map(job_from_row).collect::<Result<_, StoreError>>()?;
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    pub(crate) async fn pending_jobs(&self, limit: i64) -> Result<Vec<Job>, StoreError> {
        let rows = sqlx::query("SELECT id, kind, report_id FROM jobs WHERE done_at IS NULL AND attempts < 5 ORDER BY id LIMIT $1")
            .bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(job_from_row).collect()
    }

    pub(crate) async fn finish_job(&self, job: i64, error: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let q = match error {
            None => sqlx::query("UPDATE jobs SET done_at = $1, attempts = attempts + 1, last_error = NULL, claimed_until = NULL WHERE id = $2")
                .bind(OffsetDateTime::now_utc()).bind(job),
            Some(e) => sqlx::query("UPDATE jobs SET attempts = attempts + 1, last_error = $1, claimed_until = NULL WHERE id = $2").bind(e).bind(job),
        };
        q.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn check_integrity(&self) -> Result<IntegrityReport, StoreError> {
        let count = |sql: &'static str| async move {
            Ok::<i64, StoreError>(sqlx::query(sql).fetch_one(&self.pool).await?.try_get(0)?)
        };
        let mut problems = self.backend_integrity_problems().await?;
        let orphans = count("SELECT COUNT(*) FROM reports r LEFT JOIN blobs b ON b.sha256 = r.raw_sha256 WHERE b.sha256 IS NULL").await?
            + count("SELECT COUNT(*) FROM attachments a LEFT JOIN blobs b ON b.sha256 = a.sha256 WHERE b.sha256 IS NULL").await?;
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

/// A `users` row (id, email, role, password_hash, disabled).
fn user_from_row(r: &<Db as sqlx::Database>::Row) -> Result<User, StoreError> {
    Ok(User {
        id: UserId(r.try_get("id")?),
        email: r.try_get("email")?,
        role: Role::parse(&r.try_get::<String, _>("role")?).ok_or_else(|| StoreError::Corrupt("role".into()))?,
        password_hash: r.try_get("password_hash")?,
        disabled: r.try_get("disabled")?,
    })
}

/// A `jobs` row as (id, kind, report_id).
fn job_from_row(r: &<Db as sqlx::Database>::Row) -> Result<Job, StoreError> {
    Ok(Job { id: r.try_get(0)?, kind: r.try_get(1)?, report_id: ReportId(r.try_get(2)?) })
}

/// The stored form of a classification's dimensions: JSON arrays of keys, has_damage as text.
fn classification_json(c: &Classification) -> [Option<String>; 5] {
    let keys = |v: Vec<&str>| Some(serde_json::to_string(&v).unwrap_or_else(|_| "[]".into()));
    [
        keys(c.causes.iter().map(|x| x.key()).collect()),
        keys(c.damages.iter().map(|x| x.key()).collect()),
        keys(c.attack_types.iter().map(|x| x.key()).collect()),
        keys(c.techniques.iter().map(String::as_str).collect()),
        c.has_damage.map(|b| b.to_string()),
    ]
}

/// Columns: id, tracking_number, form, state, channel, received_at, reporter_kind, damage_status, description.
/// "www.Example.jp" → "jp.example.www." (a domain's subdomains share its prefix).
pub(crate) fn reversed_domain(d: &str) -> String {
    let mut labels: Vec<String> = d.trim_end_matches('.').split('.').map(str::to_lowercase).collect();
    labels.reverse();
    format!("{}.", labels.join("."))
}

/// LIKE pattern for a substring, with the pattern characters escaped (ESCAPE '\\').
fn like_pattern(term: &str) -> String {
    format!("%{}%", term.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

fn summary_from_row(r: &<Db as sqlx::Database>::Row) -> Result<ReportSummary, StoreError> {
    let description: String = r.try_get("description")?;
    let first_line = description.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    let mut headline: String = first_line.chars().take(80).collect();
    if first_line.chars().count() > 80 {
        headline.push('…');
    }
    Ok(ReportSummary {
        id: ReportId(r.try_get("id")?),
        tracking_number: tracking(&r.try_get::<String, _>("tracking_number")?)?,
        form: parse_key(&r.try_get::<String, _>("form")?)?,
        state: parse_key(&r.try_get::<String, _>("state")?)?,
        channel: parse_key(&r.try_get::<String, _>("channel")?)?,
        received_at: r.try_get("received_at")?,
        reporter_kind: r.try_get::<Option<String>, _>("reporter_kind")?.map(|k| parse_key(&k)).transpose()?,
        damage_status: parse_key(&r.try_get::<String, _>("damage_status")?)?,
        headline,
    })
}

fn classification_from_row(r: &<Db as sqlx::Database>::Row) -> Result<Classification, StoreError> {
    let list = |col: &str| -> Result<Vec<String>, StoreError> { serde_json::from_str(&r.try_get::<String, _>(col)?).map_err(|e| StoreError::Corrupt(e.to_string())) };
    Ok(Classification {
        causes: list("causes")?.iter().map(|k| parse_key(k)).collect::<Result<_, _>>()?,
        damages: list("damages")?.iter().map(|k| parse_key(k)).collect::<Result<_, _>>()?,
        attack_types: list("attack_types")?.iter().map(|k| parse_key(k)).collect::<Result<_, _>>()?,
        techniques: list("techniques")?,
        has_damage: r.try_get::<Option<String>, _>("has_damage")?.map(|v| v == "true"),
    })
}

/// A report's cross-report index rows (after any old ones were deleted). A cluster of
/// `ReportId(0)` or none means the report starts its own.
async fn write_index(tx: &mut sqlx::Transaction<'_, Db>, id: ReportId, ix: &ReportIndex) -> Result<(), StoreError> {
    for i in &ix.indicators {
        let ipv4 = if i.kind == "ipv4" { i.value.parse::<std::net::Ipv4Addr>().ok().map(|a| u32::from(a) as i64) } else { None };
        let rev_domain = (i.kind == "domain").then(|| reversed_domain(&i.value));
        sqlx::query("INSERT INTO report_indicators (report_id, kind, value, common, ipv4, rev_domain) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (report_id, kind, value) DO NOTHING")
            .bind(id.0).bind(&i.kind).bind(&i.value).bind(i.common as i64).bind(ipv4).bind(rev_domain)
            .execute(&mut **tx).await?;
    }
    for (part, sig, bands) in &ix.signatures {
        sqlx::query("INSERT INTO text_signatures (report_id, part, signature) VALUES ($1, $2, $3)").bind(id.0).bind(part).bind(sig).execute(&mut **tx).await?;
        // All band keys of a text in one statement (a round trip each was most of the write).
        let keys = serde_json::to_string(bands).expect("numbers serialise");
        sqlx::query(BANDS_INSERT_SQL).bind(keys).bind(id.0).bind(part).execute(&mut **tx).await?;
    }
    let (cluster, similarity) = ix.cluster.filter(|(c, _)| c.0 != 0).unwrap_or((id, 1.0));
    sqlx::query("INSERT INTO report_clusters (report_id, cluster_id, similarity) VALUES ($1, $2, $3) ON CONFLICT (report_id) DO UPDATE SET cluster_id = excluded.cluster_id, similarity = excluded.similarity")
        .bind(id.0).bind(cluster.0).bind(similarity).execute(&mut **tx).await?;
    for f in &ix.facets {
        sqlx::query("INSERT INTO report_facets (report_id, facet) VALUES ($1, $2) ON CONFLICT DO NOTHING").bind(id.0).bind(f).execute(&mut **tx).await?;
    }
    sqlx::query(SEARCH_INSERT_SQL).bind(id.0).bind(&ix.search_body).execute(&mut **tx).await?;
    Ok(())
}

async fn put_blob(tx: &mut sqlx::Transaction<'_, Db>, sha256: &str, bytes: &[u8]) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO blobs (sha256, size, bytes) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING")
        .bind(sha256).bind(bytes.len() as i64).bind(bytes).execute(&mut **tx).await?;
    Ok(())
}

async fn insert_attachments(tx: &mut sqlx::Transaction<'_, Db>, report: i64, entry: Option<i64>, attachments: &[Attachment]) -> Result<(), StoreError> {
    for a in attachments {
        let sha = a.sha256_hex();
        put_blob(tx, &sha, &a.bytes).await?;
        sqlx::query("INSERT INTO attachments (report_id, timeline_id, sha256, filename, content_type, size) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(report).bind(entry).bind(&sha).bind(&a.filename).bind(&a.content_type).bind(a.bytes.len() as i64)
            .execute(&mut **tx).await?;
    }
    Ok(())
}

async fn audit_in(tx: &mut sqlx::Transaction<'_, Db>, user: Option<UserId>, action: &str, target: Option<&str>, detail: Option<&str>) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO audit_log (at, user_id, action, target, detail) VALUES ($1, $2, $3, $4, $5)")
        .bind(OffsetDateTime::now_utc()).bind(user.map(|u| u.0)).bind(action).bind(target).bind(detail)
        .execute(&mut **tx).await?;
    Ok(())
}
