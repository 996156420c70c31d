//! escucha-clickhouse
