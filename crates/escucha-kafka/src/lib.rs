//! Kafka adapter for escucha.
//!
//! - [`KafkaConfig`]: brokers plus any librdkafka property (TLS, SASL …).
//! - [`ensure_topics`]: creates missing topics.
//! - [`run_consumer`]: one pipeline's consumer loop. Messages are handed to
//!   a [`BatchHandler`] in batches; rejects go to the dead-letter topic with
//!   the reason and source position in headers; offsets are stored only
//!   after the handler reports the batch durable (at-least-once, in order
//!   per partition).

mod config;
mod consumer;
mod dead_letter;
mod error;

pub use config::{ensure_topics, KafkaConfig};
pub use consumer::{run_consumer, BatchHandler, ConsumerSettings, Incoming, Outcome};
pub use dead_letter::{DeadLetter, HEADER_ERROR_KIND, HEADER_REASON};
pub use error::Error;
pub use tokio_util::sync::CancellationToken;
