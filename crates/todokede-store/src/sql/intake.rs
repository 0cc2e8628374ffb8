//! Intake: storing submissions (group commit, dedup keys) and the bulk load of the scale bench.
//! Compiled into each backend (`#[path]` from `sqlite.rs` and `postgres.rs`): `Store` is that
//! backend's store, `dialect` its few statements that differ.

use super::rows::*;
use super::{Store, dialect};
use crate::{StoreError, codec, model::*};
use sqlx::Row as _;
use time::OffsetDateTime;
use todokede_domain::*;

/// The intake note of a report (or the audit detail of a follow-up) that arrived under a
/// Message-ID already used by a different message.
pub(crate) const MESSAGE_ID_COLLISION: &str = "message_id_collision";

/// Claim a dedup key; false when it was taken.
async fn claim_key(
    tx: &mut sqlx::Transaction<'_, super::Db>,
    key: &str,
    sha: &str,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    Ok(sqlx::query("INSERT INTO dedup_keys (key, request_sha256, created_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING RETURNING key")
        .bind(key).bind(sha).bind(ts(now))
        .fetch_optional(&mut **tx).await?
        .is_some())
}

/// What makes two deliveries of a mail the same mail: its parsed content and attachments, not
/// its raw bytes (every relay adds a Received line).
fn mail_identity(sub: &Submission) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(codec::encode_content(&sub.content).as_bytes());
    for a in &sub.attachments {
        h.update(b"\0attachment\0");
        h.update(sha2::Sha256::digest(&a.bytes));
    }
    hex::encode(h.finalize())
}

impl Store {
    pub(crate) async fn ingest_batch(
        &self,
        batch: &[Submission],
    ) -> Result<Vec<Result<Receipt, IngestRejection>>, StoreError> {
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
            let mut key = sub.dedup.as_ref().map(|k| k.storage_key());
            // A mail is the same mail when its parsed content is (a redelivery adds Received
            // lines); the raw fingerprint was stored before, so either matches.
            let mail_identity = matches!(sub.dedup, Some(DedupKey::MessageId(_))).then(|| mail_identity(sub));
            let mut notes = sub.intake_notes.clone();
            if let Some(k) = &key {
                let claim_sha = mail_identity.as_ref().unwrap_or(&request_sha);
                let mut claimed = claim_key(&mut tx, k, claim_sha, now).await?;
                if !claimed && let Some(identity) = &mail_identity {
                    let stored: String = sqlx::query("SELECT request_sha256 FROM dedup_keys WHERE key = $1")
                        .bind(k)
                        .fetch_one(&mut *tx)
                        .await?
                        .try_get(0)?;
                    if stored != *identity && stored != request_sha {
                        // A different message under a Message-ID already seen (a broken or
                        // hostile sender): stored as its own report under a key of its content,
                        // and flagged, never dropped.
                        let derived = format!("{k}#{identity}");
                        claimed = claim_key(&mut tx, &derived, identity, now).await?;
                        key = Some(derived);
                        notes.push(MESSAGE_ID_COLLISION.to_owned());
                    }
                }
                let key = key.as_ref().expect("a key was claimed or found");
                if !claimed {
                    let row = sqlx::query("SELECT d.report_id, d.request_sha256, d.response_secret, r.tracking_number FROM dedup_keys d JOIN reports r ON r.id = d.report_id WHERE d.key = $1")
                        .bind(key).fetch_one(&mut *tx).await?;
                    let same = row.try_get::<String, _>("request_sha256")? == request_sha
                        || !matches!(sub.dedup, Some(DedupKey::IdempotencyKey(_)));
                    out[i] = Some(if same {
                        Ok(Receipt {
                            report_id: ReportId(row.try_get("report_id")?),
                            tracking_number: tracking(&row.try_get::<String, _>("tracking_number")?)?,
                            secret: row
                                .try_get::<Option<String>, _>("response_secret")?
                                .map(|s| ReporterSecret::from_presented(&s)),
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
                .bind(c.language.key()).bind(ReportState::Received.key()).bind(ts(received_at))
                .bind(c.reporter.kind.map(|k| k.key())).bind(c.discovered_on).bind(c.damage_status.key())
                .bind(&c.description).bind(codec::encode_content(c)).bind(&raw_sha).bind(&sub.raw.content_type)
                .bind(serde_json::to_string(&notes).unwrap_or_else(|_| "[]".into()))
                .fetch_one(&mut *tx).await?.try_get(0)?;
            insert_attachments(&mut tx, id, None, &sub.attachments).await?;
            // Searchable from the moment it is acknowledged (mailgate and import run no
            // analysis); the analysis replaces it with the texts of its attachments too.
            let body = search_body(c.texts().into_iter().map(|(_, t)| t));
            sqlx::query(dialect::SEARCH_INSERT_SQL).bind(id).bind(&body).execute(&mut *tx).await?;
            if let Some(key) = &key {
                // Kept so a retry that lost the first answer gets the secret too; `prune_secrets`
                // (run by `serve`'s housekeeping) forgets it after the retention (a day).
                sqlx::query("UPDATE dedup_keys SET report_id = $1, response_secret = $2 WHERE key = $3")
                    .bind(id)
                    .bind(secret.expose())
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
            }
            if notes.iter().any(|n| n == MESSAGE_ID_COLLISION) {
                audit_in(&mut tx, None, "mail.message_id_collision", Some(&id.to_string()), key.as_deref()).await?;
            }
            enqueue_job(&mut tx, JobKind::Analyse, id, now).await?;
            out[i] = Some(Ok(Receipt {
                report_id: ReportId(id),
                tracking_number: tn,
                secret: Some(secret),
                duplicate: false,
            }));
        }
        tx.commit().await?;
        Ok(out.into_iter().map(|r| r.expect("every submission answered")).collect())
    }

    /// Forget the plaintext secrets kept for retries of submissions made before `before`; the
    /// keys stay, so a later retry still finds its report (without the secret). Returns how
    /// many were forgotten.
    pub(crate) async fn prune_secrets(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE dedup_keys SET response_secret = NULL WHERE response_secret IS NOT NULL AND created_at < $1",
        )
        .bind(ts(before))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    pub(crate) async fn secret_hash_by_tracking(
        &self,
        tn: &TrackingNumber,
    ) -> Result<Option<(ReportId, SecretHash)>, StoreError> {
        let row = sqlx::query("SELECT id, secret_hash FROM reports WHERE tracking_number = $1")
            .bind(tn.as_compact())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let h: Vec<u8> = row.try_get("secret_hash")?;
        let h: [u8; 32] = h.try_into().map_err(|_| StoreError::Corrupt("secret_hash length".into()))?;
        Ok(Some((ReportId(row.try_get("id")?), SecretHash(h))))
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
                .bind(TrackingNumber::generate().as_compact()).bind(vec![0u8; 32]).bind(ts(r.received_at)).bind(r.reporter_kind.map(|k| k.key()))
                .bind(&r.description).bind(codec::encode_content(&content)).bind(&raw_sha)
                .fetch_one(&mut *tx).await?.try_get(0)?;
            write_index(&mut tx, ReportId(id), &r.index).await?;
            ids.push(ReportId(id));
        }
        tx.commit().await?;
        Ok(ids)
    }
}
