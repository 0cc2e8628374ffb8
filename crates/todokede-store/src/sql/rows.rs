//! Row decoding and the writes several areas share, compiled into each backend. SQL text
//! shared by both backends is written once here (the summary columns: [`summary_columns!`]).
//!
//! Placeholders are `$N`, which both SQLite and PostgreSQL accept. No SQL is ever built from
//! input: optional filters use `($1 IS NULL OR col = $1)`. Every time is bound as [`ts`]`(t)`
//! (the backend's form of a time: on SQLite fixed-width UTC text, so that comparing and sorting
//! the text compares the instants).

use super::{Db, Store, dialect};

pub(super) use super::dialect::ts;
use crate::{StoreError, model::*};
use sqlx::Row as _;
use time::OffsetDateTime;
use todokede_domain::*;

pub(super) fn parse_key<T: ClosedEnum>(s: &str) -> Result<T, StoreError> {
    T::parse(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn tracking(s: &str) -> Result<TrackingNumber, StoreError> {
    TrackingNumber::parse(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

// ── flat rows: one column per field ─────────────────────────────────────────────────────

/// A `users` row (id, email, role, password_hash, disabled, one_time_until).
#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    email: String,
    role: String,
    password_hash: String,
    disabled: bool,
    one_time_until: Option<OffsetDateTime>,
}

pub(super) fn user_from_row(r: &<Db as sqlx::Database>::Row) -> Result<User, StoreError> {
    let u: UserRow = sqlx::FromRow::from_row(r)?;
    Ok(User {
        id: UserId(u.id),
        email: u.email,
        role: Role::parse(&u.role).ok_or_else(|| StoreError::Corrupt("role".into()))?,
        password_hash: u.password_hash,
        disabled: u.disabled,
        one_time_until: u.one_time_until,
    })
}

/// A `jobs` row (id, kind, report_id).
#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    kind: String,
    report_id: i64,
}

pub(super) fn job_from_row(r: &<Db as sqlx::Database>::Row) -> Result<Job, StoreError> {
    let j: JobRow = sqlx::FromRow::from_row(r)?;
    Ok(Job { id: j.id, kind: JobKind::from_key(&j.kind), report_id: ReportId(j.report_id) })
}

/// An `outbox` row (id, report_id, message_id, from_addr, to_addr, raw, attempts, created_at).
#[derive(sqlx::FromRow)]
struct MailRow {
    id: i64,
    report_id: i64,
    message_id: String,
    from_addr: String,
    to_addr: String,
    raw: Vec<u8>,
    attempts: i64,
    created_at: OffsetDateTime,
}

pub(super) fn mail_from_row(r: &<Db as sqlx::Database>::Row) -> Result<QueuedMail, StoreError> {
    let m: MailRow = sqlx::FromRow::from_row(r)?;
    Ok(QueuedMail {
        id: m.id,
        report_id: ReportId(m.report_id),
        message_id: m.message_id,
        from: m.from_addr,
        to: m.to_addr,
        raw: m.raw,
        attempts: m.attempts,
        created_at: m.created_at,
    })
}

/// An `audit_log` row (at, user_id, action, target, detail).
#[derive(sqlx::FromRow)]
struct AuditRow {
    at: OffsetDateTime,
    user_id: Option<i64>,
    action: String,
    target: Option<String>,
    detail: Option<String>,
}

pub(super) fn audit_from_row(r: &<Db as sqlx::Database>::Row) -> Result<AuditEntry, StoreError> {
    let a: AuditRow = sqlx::FromRow::from_row(r)?;
    Ok(AuditEntry { at: a.at, user: a.user_id.map(UserId), action: a.action, target: a.target, detail: a.detail })
}

/// A `publications` row (period, version, document_json, created_by, created_at, change_note,
/// approved_by, approved_at).
#[derive(sqlx::FromRow)]
struct PublicationRow {
    period: String,
    version: i64,
    document_json: String,
    created_by: i64,
    created_at: OffsetDateTime,
    change_note: String,
    approved_by: Option<i64>,
    approved_at: Option<OffsetDateTime>,
}

pub(super) fn publication_from_row(r: &<Db as sqlx::Database>::Row) -> Result<PublicationVersion, StoreError> {
    let p: PublicationRow = sqlx::FromRow::from_row(r)?;
    Ok(PublicationVersion {
        period: p.period,
        version: p.version,
        document_json: p.document_json,
        created_by: UserId(p.created_by),
        created_at: p.created_at,
        change_note: p.change_note,
        approved_by: p.approved_by.map(UserId),
        approved_at: p.approved_at,
    })
}

// ── rows with encoded columns ───────────────────────────────────────────────────────────

/// The stored form of a classification's dimensions: JSON arrays of keys, has_damage as text.
pub(super) fn classification_json(c: &Classification) -> [Option<String>; 5] {
    let keys = |v: Vec<&str>| Some(serde_json::to_string(&v).unwrap_or_else(|_| "[]".into()));
    [
        keys(c.causes.iter().map(|x| x.key()).collect()),
        keys(c.damages.iter().map(|x| x.key()).collect()),
        keys(c.attack_types.iter().map(|x| x.key()).collect()),
        keys(c.techniques.iter().map(String::as_str).collect()),
        c.has_damage.map(|b| b.to_string()),
    ]
}

/// "www.Example.jp" → "jp.example.www." (a domain's subdomains share its prefix).
pub(super) fn reversed_domain(d: &str) -> String {
    let mut labels: Vec<String> = d.trim_end_matches('.').split('.').map(str::to_lowercase).collect();
    labels.reverse();
    format!("{}.", labels.join("."))
}

/// LIKE pattern for a substring, with the pattern characters escaped (ESCAPE '\\').
pub(super) fn like_pattern(term: &str) -> String {
    format!("%{}%", term.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

pub(super) fn summary_from_row(r: &<Db as sqlx::Database>::Row) -> Result<ReportSummary, StoreError> {
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
        answered: r.try_get("answered")?,
        confirmed: r.try_get("confirmed")?,
        state_since: r.try_get("state_since")?,
        watch_hit: r.try_get("watch_hit")?,
    })
}

pub(super) fn classification_from_row(r: &<Db as sqlx::Database>::Row) -> Result<Classification, StoreError> {
    let list = |col: &str| -> Result<Vec<String>, StoreError> {
        serde_json::from_str(&r.try_get::<String, _>(col)?).map_err(|e| StoreError::Corrupt(e.to_string()))
    };
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
pub(super) async fn write_index(
    tx: &mut sqlx::Transaction<'_, Db>,
    id: ReportId,
    ix: &ReportIndex,
) -> Result<(), StoreError> {
    for i in &ix.indicators {
        let ipv4 = if i.kind == "ipv4" {
            i.value.parse::<std::net::Ipv4Addr>().ok().map(|a| u32::from(a) as i64)
        } else {
            None
        };
        let rev_domain = (i.kind == "domain").then(|| reversed_domain(&i.value));
        sqlx::query("INSERT INTO report_indicators (report_id, kind, value, common, ipv4, rev_domain) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (report_id, kind, value) DO NOTHING")
            .bind(id.0).bind(&i.kind).bind(&i.value).bind(i.common as i64).bind(ipv4).bind(rev_domain)
            .execute(&mut **tx).await?;
    }
    for (part, sig, bands) in &ix.signatures {
        sqlx::query("INSERT INTO text_signatures (report_id, part, signature) VALUES ($1, $2, $3)")
            .bind(id.0)
            .bind(part)
            .bind(sig)
            .execute(&mut **tx)
            .await?;
        // All band keys of a text in one statement (a round trip each was most of the write).
        let keys = serde_json::to_string(bands).expect("numbers serialise");
        sqlx::query(dialect::BANDS_INSERT_SQL).bind(keys).bind(id.0).bind(part).execute(&mut **tx).await?;
    }
    let (cluster, similarity) = ix.cluster.filter(|(c, _)| c.0 != 0).unwrap_or((id, 1.0));
    sqlx::query("INSERT INTO report_clusters (report_id, cluster_id, similarity) VALUES ($1, $2, $3) ON CONFLICT (report_id) DO UPDATE SET cluster_id = excluded.cluster_id, similarity = excluded.similarity")
        .bind(id.0).bind(cluster.0).bind(similarity).execute(&mut **tx).await?;
    for f in &ix.facets {
        sqlx::query("INSERT INTO report_facets (report_id, facet) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(id.0)
            .bind(f)
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query(dialect::SEARCH_INSERT_SQL).bind(id.0).bind(&ix.search_body).execute(&mut **tx).await?;
    super::watchlists::write_report_hits(tx, id).await?;
    Ok(())
}

/// A report's search text: its texts joined by line breaks, at most [`crate::MAX_SEARCH_CHARS`].
pub(super) fn search_body<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut body = texts.into_iter().collect::<Vec<_>>().join("\n");
    if let Some((cut, _)) = body.char_indices().nth(crate::MAX_SEARCH_CHARS) {
        body.truncate(cut);
    }
    body
}

pub(super) async fn put_blob(tx: &mut sqlx::Transaction<'_, Db>, sha256: &str, bytes: &[u8]) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO blobs (sha256, size, bytes) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING")
        .bind(sha256)
        .bind(bytes.len() as i64)
        .bind(bytes)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Claim up to `limit` rows of a leased queue (jobs, the outbox) until `now + lease`: `claim_sql`
/// is the backend's claim statement, binding (lease end, now, limit).
pub(super) async fn claim_leased(
    store: &Store,
    claim_sql: &'static str,
    limit: i64,
    lease: time::Duration,
) -> Result<Vec<<Db as sqlx::Database>::Row>, StoreError> {
    let now = OffsetDateTime::now_utc();
    let mut tx = store.begin_write().await?;
    let rows = sqlx::query(claim_sql).bind(ts(now + lease)).bind(ts(now)).bind(limit).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(rows)
}

/// Queue a job for a report in the transaction that changed it.
pub(super) async fn enqueue_job(
    tx: &mut sqlx::Transaction<'_, Db>,
    kind: JobKind,
    report: i64,
    now: time::OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO jobs (kind, report_id, created_at) VALUES ($1, $2, $3)")
        .bind(kind.key())
        .bind(report)
        .bind(ts(now))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(super) async fn insert_attachments(
    tx: &mut sqlx::Transaction<'_, Db>,
    report: i64,
    entry: Option<i64>,
    attachments: &[Attachment],
) -> Result<(), StoreError> {
    for a in attachments {
        let sha = a.sha256_hex();
        put_blob(tx, &sha, &a.bytes).await?;
        sqlx::query("INSERT INTO attachments (report_id, timeline_id, sha256, filename, content_type, size) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(report).bind(entry).bind(&sha).bind(&a.filename).bind(&a.content_type).bind(a.bytes.len() as i64)
            .execute(&mut **tx).await?;
    }
    Ok(())
}

/// Raise a report's version, first checking it is `expect` (when given), in the writing
/// transaction: a writer that read an older version fails instead of overwriting.
pub(super) async fn bump_version(
    tx: &mut sqlx::Transaction<'_, Db>,
    id: i64,
    expect: Option<i64>,
) -> Result<(), StoreError> {
    let n = sqlx::query("UPDATE reports SET version = version + 1 WHERE id = $1 AND ($2 IS NULL OR version = $2)")
        .bind(id)
        .bind(expect)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if n == 1 {
        return Ok(());
    }
    match sqlx::query("SELECT version FROM reports WHERE id = $1").bind(id).fetch_optional(&mut **tx).await? {
        Some(r) => Err(StoreError::VersionMismatch(r.try_get(0)?)),
        None => Err(StoreError::NotFound),
    }
}

pub(super) async fn audit_in(
    tx: &mut sqlx::Transaction<'_, Db>,
    user: Option<UserId>,
    action: &str,
    target: Option<&str>,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO audit_log (at, user_id, action, target, detail) VALUES ($1, $2, $3, $4, $5)")
        .bind(ts(OffsetDateTime::now_utc()))
        .bind(user.map(|u| u.0))
        .bind(action)
        .bind(target)
        .bind(detail)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The reporter answered (a 続報 by web or mail), in the transaction that stored it: the report
/// is flagged as waiting for an analyst (`answered_at`), and one that was 届出者回答待ち goes back
/// to 対応中, recorded on the timeline as the system's doing (no user).
pub(super) async fn reporter_answered(
    tx: &mut sqlx::Transaction<'_, Db>,
    report: i64,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let (from, to) = (ReportState::WaitingOnReporter, ReportState::InProgress);
    let moved = sqlx::query("UPDATE reports SET state = $1, answered_at = $2 WHERE id = $3 AND state = $4")
        .bind(to.key())
        .bind(ts(now))
        .bind(report)
        .bind(from.key())
        .execute(&mut **tx)
        .await?
        .rows_affected()
        == 1;
    if moved {
        sqlx::query(
            "INSERT INTO timeline (report_id, kind, from_state, to_state, at) VALUES ($1, 'state', $2, $3, $4)",
        )
        .bind(report)
        .bind(from.key())
        .bind(to.key())
        .bind(ts(now))
        .execute(&mut **tx)
        .await?;
        audit_in(
            tx,
            None,
            "report.transition",
            Some(&report.to_string()),
            Some(&format!("{from} -> {to} (reporter answered)")),
        )
        .await?;
    } else {
        sqlx::query("UPDATE reports SET answered_at = $1 WHERE id = $2")
            .bind(ts(now))
            .bind(report)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// An analyst acted on the report (a reply, a note, a state): nothing waits for one any more.
pub(super) async fn analyst_acted(tx: &mut sqlx::Transaction<'_, Db>, report: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE reports SET answered_at = NULL WHERE id = $1 AND answered_at IS NOT NULL")
        .bind(report)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
