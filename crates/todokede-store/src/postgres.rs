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

include!("queries.rs");
