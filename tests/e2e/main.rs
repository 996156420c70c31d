//! End-to-end tests through a real Kafka-compatible broker and a real
//! ClickHouse, both started by `scripts/services.sh` (the README test
//! command does it). Every test uses its own topics, consumer groups and
//! database, and runs the real `escucha` binary as a child process.
//!
//! Settings: ESCUCHA_TEST_KAFKA (default 127.0.0.1:9092) and
//! ESCUCHA_TEST_CLICKHOUSE (default http://127.0.0.1:8123).

mod harness;

mod analytics;
mod custom_themes;
mod delivery;
mod scaling;
