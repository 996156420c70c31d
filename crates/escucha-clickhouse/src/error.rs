/// Errors of the ClickHouse adapter.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("ClickHouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
    #[error("migration {version} ({name}): {source}")]
    Migration {
        version: u32,
        name: String,
        source: clickhouse::error::Error,
    },
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl Error {
    /// Whether retrying the same operation later may succeed (network
    /// trouble, timeouts, a server that is restarting or overloaded).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::ClickHouse(e) | Error::Migration { source: e, .. } => is_transient(e),
            Error::Config(_) => false,
        }
    }
}

fn is_transient(e: &clickhouse::error::Error) -> bool {
    use clickhouse::error::Error as E;
    match e {
        E::Network(_) | E::TimedOut => true,
        // Server-side errors: retry those that mean "not now" rather than "never".
        E::BadResponse(msg) => {
            let m = msg.to_ascii_lowercase();
            [
                "too many parts",
                "too many simultaneous queries",
                "timeout",
                "memory limit",
                "table is in readonly mode",
                "connection",
                "502",
                "503",
                "504",
            ]
            .iter()
            .any(|needle| m.contains(needle))
        }
        _ => false,
    }
}
