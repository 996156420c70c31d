//! escucha-kafka
