//! Pipeline files of escucha.
//!
//! A pipeline is a TOML file in `pipelines/` that says how to consume one
//! kind of Kafka message and map it onto [`escucha_core::Interaction`]: which
//! topics and consumer group, where undecodable messages go, and a JSONPath
//! (RFC 9535) for every field. Data engineers add a source by adding a file;
//! `pipelines/README.md` documents the format.
//!
//! This crate is pure: it reads pipeline files, validates them reporting
//! every problem at once ([`load_file`], [`load_dir`], [`load_str`]), and
//! decodes message payloads ([`Pipeline::decode`]). It does no Kafka or
//! network I/O.
//!
//! ```
//! use std::path::Path;
//!
//! let pipeline = escucha_pipeline::load_str(
//!     Path::new("pipelines/nps.toml"),
//!     r#"
//!     name = "nps"
//!     kind = "survey"
//!     [source]
//!     topics = ["nps.responses"]
//!     group = "escucha-nps"
//!     dead_letter_topic = "nps.responses.dlq"
//!     [fields]
//!     id = "$.id"
//!     occurred_at = { path = "$.ts", time = "unix_seconds" }
//!     nps = { path = "$.score", from = [1, 5] }
//!     "#,
//! )
//! .expect("valid pipeline");
//! let interaction = pipeline
//!     .decode(br#"{"id": 42, "ts": 1795176000, "score": "4"}"#)
//!     .expect("valid message");
//! assert_eq!(interaction.id, "42");
//! // 4 on 1..5 is round(0 + 3 * 10 / 4) = 8 on the NPS scale.
//! assert_eq!(interaction.scores.nps, Some(8));
//!
//! let error = pipeline.decode(br#"{"id": 43, "ts": 1795176000, "score": 6}"#).unwrap_err();
//! assert_eq!(error.kind(), "out_of_range");
//! assert_eq!(
//!     error.to_string(),
//!     r#"field "nps" ($.score): 6 is outside the declared scale 1..5"#
//! );
//! ```

mod decode;
mod error;
mod load;
mod pipeline;
mod raw;
mod spec;

pub use error::{DecodeError, ValidationError};
pub use load::{load_dir, load_file, load_str};
pub use pipeline::{Classify, Destination, Format, Pipeline, Source, Store, DEFAULT_PARTITIONS};
