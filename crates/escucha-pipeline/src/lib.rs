//! escucha-pipeline
