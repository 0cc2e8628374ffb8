//! PostgreSQL: for deployments with several stateless server processes. Commits are durable
//! with the server's default `synchronous_commit=on`.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr as _;



type Db = sqlx::Postgres;

#[derive(Clone)]
pub struct PgStore {
    pool: sqlx::PgPool,
}

use PgStore as Store;

impl PgStore {
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let opts = PgConnectOptions::from_str(url)?.options([("synchronous_commit", "on")]);
        // Fail fast when the server is not there at all (the pool would retry until its timeout).
        sqlx::Connection::close(<sqlx::PgConnection as sqlx::Connection>::connect_with(&opts).await?).await?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await?;
        // sqlx takes an advisory lock, so several processes starting together migrate once.
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(PgStore { pool })
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Db>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    async fn backend_integrity_problems(&self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }
}

/// SKIP LOCKED: concurrent workers in several processes each take different jobs, nobody waits.
const CLAIM_JOBS_SQL: &str = "UPDATE jobs SET claimed_until = $1 WHERE id IN (SELECT id FROM jobs WHERE done_at IS NULL AND attempts < 5 AND (claimed_until IS NULL OR claimed_until < $2) ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id, kind, report_id";

include!("queries.rs");
