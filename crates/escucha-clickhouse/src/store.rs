use crate::error::Error;
use crate::rollup::RollupState;
use crate::rows::Rows;
use crate::schema::{Target, MIGRATIONS};
use clickhouse::{Client, Row};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How to reach ClickHouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickHouseConfig {
    /// HTTP(S) endpoint, e.g. `http://127.0.0.1:8123`.
    pub url: String,
    pub database: String,
    pub user: String,
    /// Taken from the environment by the binary; never written in files.
    #[serde(skip)]
    pub password: Option<String>,
    /// Cluster name for `ON CLUSTER` DDL and distributed tables.
    #[serde(default)]
    pub cluster: Option<String>,
    /// Attempts for a batch insert before giving up (the ingester then retries the batch).
    #[serde(default = "default_attempts")]
    pub insert_attempts: u32,
    /// Memory for the drill-down's redacted turns and labels, kept per
    /// stored version of an interaction (0: none kept).
    #[serde(default = "default_turns_cache_mb")]
    pub turns_cache_mb: u64,
}

fn default_attempts() -> u32 {
    5
}

fn default_turns_cache_mb() -> u64 {
    32
}

impl Default for ClickHouseConfig {
    fn default() -> Self {
        ClickHouseConfig {
            url: "http://127.0.0.1:8123".into(),
            database: "escucha".into(),
            user: "default".into(),
            password: None,
            cluster: None,
            insert_attempts: default_attempts(),
            turns_cache_mb: default_turns_cache_mb(),
        }
    }
}

/// A connection to the escucha database.
#[derive(Clone)]
pub struct Store {
    client: Client,
    config: ClickHouseConfig,
    server_version: String,
    pub(crate) rollup: Arc<RollupState>,
    /// Per drill-down filter set, the window that last held its page.
    pub(crate) drill_windows: moka::sync::Cache<String, usize>,
    /// Daily counts of settled days, per read (see `Store::daily_rows`).
    pub(crate) settled_days: moka::sync::Cache<String, Arc<crate::query::engine::SettledRows>>,
    /// The drill-down's turns of recently served interactions.
    pub(crate) kept_turns: crate::query::KeptTurns,
    /// Whether the last turns read held turns stored without their labels.
    pub(crate) turn_labels_apart: Arc<std::sync::atomic::AtomicBool>,
}

#[derive(Row, Deserialize)]
struct VersionRow {
    version: String,
}

#[derive(Row, Deserialize)]
struct AppliedRow {
    version: u32,
}

impl Store {
    /// Connects, reads the server version and enables the client's row
    /// validation when the server supports it (ClickHouse ≥ 24.10).
    pub async fn connect(config: ClickHouseConfig) -> Result<Store, Error> {
        if config.database.is_empty() {
            return Err(Error::Config("clickhouse.database is empty".into()));
        }
        let mut base = Client::default()
            .with_url(&config.url)
            .with_user(&config.user)
            .with_compression(clickhouse::Compression::None)
            .with_validation(false);
        if let Some(p) = &config.password {
            base = base.with_password(p);
        }
        let server_version = base
            .query("SELECT version() AS version")
            .fetch_one::<VersionRow>()
            .await?
            .version;
        let client = base
            .with_database(&config.database)
            .with_validation(supports_validation(&server_version));
        let kept_turns =
            crate::query::KeptTurns::new(config.turns_cache_mb << 20, config.cluster.is_some());
        Ok(Store {
            client,
            config,
            server_version,
            rollup: Arc::default(),
            drill_windows: moka::sync::Cache::new(crate::query::DRILL_WINDOWS_KEPT),
            settled_days: moka::sync::Cache::new(crate::query::engine::SETTLED_KEPT),
            kept_turns,
            turn_labels_apart: Arc::new(true.into()),
        })
    }

    pub fn server_version(&self) -> &str {
        &self.server_version
    }

    pub fn config(&self) -> &ClickHouseConfig {
        &self.config
    }

    /// The client, bound to the escucha database.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn target(&self) -> Target {
        Target {
            database: self.config.database.clone(),
            cluster: self.config.cluster.clone(),
        }
    }

    /// Checks that the server answers.
    pub async fn ping(&self) -> Result<(), Error> {
        self.client.query("SELECT 1").execute().await?;
        Ok(())
    }

    /// Creates the database and applies the migrations not applied yet.
    /// Returns the versions it applied.
    pub async fn migrate(&self) -> Result<Vec<u32>, Error> {
        let target = self.target();
        // The database may not exist yet: run these without a default database.
        let bare = self.client.clone().with_database("default");
        bare.query(&target.create_database()).execute().await?;
        for stmt in target.create_migrations_table() {
            bare.query(&escape_marks(&stmt)).execute().await?;
        }
        let applied: Vec<u32> = self
            .client
            .query("SELECT version FROM schema_migrations FINAL ORDER BY version")
            .fetch_all::<AppliedRow>()
            .await?
            .into_iter()
            .map(|r| r.version)
            .collect();
        let mut done = Vec::new();
        for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            for stmt in target.render(m.sql) {
                match bare.query(&escape_marks(&stmt)).execute().await {
                    Ok(()) => {}
                    // Another instance starting at the same time applied it
                    // first (ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS).
                    Err(e) if already_applied(&e) => {
                        tracing::info!(
                            version = m.version,
                            "migration step already applied elsewhere"
                        );
                    }
                    Err(source) => {
                        return Err(Error::Migration {
                            version: m.version,
                            name: m.name.into(),
                            source,
                        });
                    }
                }
            }
            self.client
                .query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, now())")
                .bind(m.version)
                .bind(m.name)
                .execute()
                .await?;
            tracing::info!(version = m.version, name = m.name, "applied migration");
            done.push(m.version);
        }
        Ok(done)
    }

    /// Writes rows to the three tables, retrying transient failures with
    /// exponential backoff. Rows are idempotent: writing the same batch twice
    /// leaves the served numbers unchanged.
    pub async fn write(&self, rows: &Rows) -> Result<(), Error> {
        if rows.is_empty() {
            return Ok(());
        }
        // The days written read from the table until the rollup has them:
        // marked before the write and again after it, so a rewrite that
        // overlaps the write never clears them.
        let days: BTreeSet<chrono::NaiveDate> = rows
            .interactions
            .iter()
            .map(|r| r.occurred_at.date_naive())
            .collect();
        self.rollup.mark(days.iter().copied());
        let started = Instant::now();
        let mut delay = Duration::from_millis(200);
        let attempts = self.config.insert_attempts.max(1);
        for attempt in 1..=attempts {
            match self.write_once(rows).await {
                Ok(()) => {
                    self.rollup.mark(days.iter().copied());
                    metrics::histogram!("escucha_clickhouse_write_seconds")
                        .record(started.elapsed().as_secs_f64());
                    return Ok(());
                }
                Err(e) if e.is_retryable() && attempt < attempts => {
                    metrics::counter!("escucha_clickhouse_write_retries_total").increment(1);
                    tracing::warn!(attempt, error = %e, "ClickHouse insert failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
                Err(e) => return Err(e),
            }
        }
        unreachable!("the last attempt returns")
    }

    async fn write_once(&self, rows: &Rows) -> Result<(), Error> {
        // Children first: an interaction row is visible only once its turns
        // and labels are stored.
        insert_all(&self.client, "turns", &rows.turns).await?;
        insert_all(&self.client, "labels", &rows.labels).await?;
        insert_all(&self.client, "interactions", &rows.interactions).await?;
        Ok(())
    }
}

async fn insert_all<T>(client: &Client, table: &str, rows: &[T]) -> Result<(), Error>
where
    T: clickhouse::RowOwned + clickhouse::RowWrite,
{
    if rows.is_empty() {
        return Ok(());
    }
    let mut insert = client.insert::<T>(table).await?;
    for row in rows {
        insert.write(row).await?;
    }
    insert.end().await?;
    Ok(())
}

/// Whether a DDL error means the change is already in place.
fn already_applied(e: &clickhouse::error::Error) -> bool {
    matches!(e, clickhouse::error::Error::BadResponse(m) if m.contains("already exists"))
}

/// `?` is the bind marker of the clickhouse crate; statements that bind
/// nothing (DDL, the rollup's assembled statements) escape it.
pub(crate) fn escape_marks(sql: &str) -> String {
    sql.replace('?', "??")
}

fn supports_validation(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    (major, minor) >= (24, 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_only_on_servers_that_support_it() {
        assert!(!supports_validation("18.16.1"));
        assert!(!supports_validation("24.3.2.23"));
        assert!(supports_validation("24.10.1"));
        assert!(supports_validation("25.8.1.1"));
    }
}
