//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared folder beside the checkout (`../shared`), or `LIFTLAB_SHARED`.
pub fn shared_dir() -> PathBuf {
    match std::env::var("LIFTLAB_SHARED") {
        Ok(p) => PathBuf::from(p),
        Err(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("shared"),
    }
}

/// Reads a JSON file from the shared folder; a missing file fails the test loudly.
pub fn shared_json(rel: &str) -> serde_json::Value {
    let p = shared_dir().join(rel);
    let text = std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{} is required for this test (set LIFTLAB_SHARED): {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

/// Reads a fixture from tests/fixtures.
pub fn fixture_json(name: &str) -> serde_json::Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

/// The service: in-process app, real binary, raw HTTP client.
pub mod service;

/// Running the binary: one harness for every CLI test.
pub mod cli;
