//! escucha-api
