//! escucha-classify
