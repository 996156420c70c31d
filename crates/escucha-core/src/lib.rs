//! Domain model of escucha.
//!
//! Everything here is plain data plus the ports (traits) that adapters
//! implement. No I/O, no async runtime.

pub mod classify;
pub mod model;
pub mod record;
pub mod status;
pub mod taxonomy;

pub use classify::{Classification, Classifier, Label, Span, TextInput};
pub use model::{
    Channel, Interaction, InteractionKind, Language, Operational, Scores, SourcePosition, Speaker,
    Turn, UnknownName,
};
pub use record::{Record, TurnLabels};
