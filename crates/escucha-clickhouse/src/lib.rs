//! ClickHouse storage for escucha.
//!
//! - [`schema`]: versioned SQL migrations, rendered for one server or for a
//!   cluster (replicated local tables plus distributed tables `ON CLUSTER`).
//! - [`rows`]: the row types and their conversion from a [`escucha_core::Record`].
//! - [`Store`]: the connection, migrations, batched inserts with retries.
//! - [`query`]: the aggregate and drill-down queries the API serves.
//! - [`rollup`]: the daily rollup that keeps aggregates over months fast.
//!
//! `interactions`, `turns` and `labels` are `ReplacingMergeTree` keyed by the
//! interaction and read with `FINAL` (or, for a page of rows, each checked to
//! be its interaction's newest version), so a replayed Kafka message never
//! counts twice; the daily rollup is rebuilt from such reads and swapped in a
//! month at a time. The SQL runs on ClickHouse 18.16 (Debian's package) and
//! on current releases.

pub mod error;
pub mod query;
pub mod rollup;
pub mod rows;
pub mod schema;
mod store;

pub use error::Error;
pub use store::{ClickHouseConfig, Store};
