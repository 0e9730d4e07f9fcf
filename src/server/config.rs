//! Service configuration: defaults, then a TOML file, then environment, then flags.

use serde::Deserialize;

use crate::error::{Error, Result};

/// Everything `liftlab serve` needs.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on (`LIFTLAB_BIND`).
    pub bind: String,
    /// SQLite database file (`LIFTLAB_DATABASE`); created with its folder if missing.
    pub database: String,
    /// Bearer tokens accepted on write routes (`LIFTLAB_TOKENS`, comma-separated). With none,
    /// every write is refused with 401.
    pub tokens: Vec<String>,
    /// Experiment spec to load at start (`LIFTLAB_SPEC`); saved as a new version when it differs
    /// from the stored one.
    pub spec: Option<String>,
    /// Largest accepted request body in bytes (`LIFTLAB_BODY_LIMIT_BYTES`).
    pub body_limit_bytes: usize,
    /// Worker threads (`LIFTLAB_WORKERS`; default: one per core). On a machine shared with a
    /// load generator or other services, fewer workers than cores cut tail latency (see
    /// bench/RESULTS.md).
    pub workers: Option<usize>,
    /// Bearer tokens that open the expensive read routes (`LIFTLAB_READ_TOKENS`, `--read-token`):
    /// forecasts, analyses, batch assignment, the ledger's lists and calibration. With none (the
    /// default, for a trusted network) those routes are open; with some, they answer 401 without
    /// a read or a write token. Single assignments, hashes, health and the page stay open.
    pub read_tokens: Vec<String>,
    /// Open connections at most (`LIFTLAB_MAX_CONNECTIONS`); one more is answered 503 and closed.
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers (`LIFTLAB_HEADER_TIMEOUT_SECS`), and that
    /// a kept-alive connection may sit idle before it is closed.
    pub header_timeout_secs: u64,
    /// Seconds a client has to send a whole request body (`LIFTLAB_BODY_TIMEOUT_SECS`); 408 after.
    pub body_timeout_secs: u64,
    /// Seconds one request's work may take, waiting for a turn included
    /// (`LIFTLAB_REQUEST_TIMEOUT_SECS`); 503 after, and the work stops.
    pub request_timeout_secs: u64,
    /// Rows (ids × experiments) one `POST /v1/assign/batch` may answer (`LIFTLAB_MAX_BATCH_ROWS`).
    pub max_batch_rows: usize,
    /// Monte Carlo draws × changed nodes one forecast request may cost
    /// (`LIFTLAB_MAX_FORECAST_WORK`): 2,000,000 is 100,000 draws of 20 changed nodes, about 10 ms
    /// of one core. The core's own limit (for the CLI and Python) is 64,000,000.
    pub max_forecast_work: u64,
    /// Bytes the cache of recent forecast answers may hold (`LIFTLAB_CACHE_BYTES`), keys included.
    pub cache_bytes: usize,
    /// Bytes of request bodies held at once, over all connections (`LIFTLAB_BODY_BYTES_IN_FLIGHT`):
    /// a body reserves its length before it is read; one that cannot within the body timeout is
    /// answered 503.
    pub body_bytes_in_flight: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1:8080".into(),
            database: "liftlab.db".into(),
            tokens: Vec::new(),
            spec: None,
            body_limit_bytes: 8 * 1024 * 1024,
            workers: None,
            read_tokens: Vec::new(),
            max_connections: 1024,
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            request_timeout_secs: 30,
            max_batch_rows: 100_000,
            max_forecast_work: 2_000_000,
            cache_bytes: 16 << 20,
            body_bytes_in_flight: 128 << 20,
        }
    }
}

impl ServerConfig {
    /// Reads a TOML config file's text over the defaults.
    pub fn from_toml(text: &str, path: &str) -> Result<Self> {
        toml::from_str(text)
            .map_err(|e| Error::invalid(path, e.to_string().split_whitespace().collect::<Vec<_>>().join(" ")))
    }

    /// Applies `LIFTLAB_*` variables from `get` (usually `std::env::var`).
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<()> {
        if let Some(v) = get("LIFTLAB_BIND") {
            self.bind = v;
        }
        if let Some(v) = get("LIFTLAB_DATABASE") {
            self.database = v;
        }
        let list = |v: String| v.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect();
        if let Some(v) = get("LIFTLAB_TOKENS") {
            self.tokens = list(v);
        }
        if let Some(v) = get("LIFTLAB_READ_TOKENS") {
            self.read_tokens = list(v);
        }
        fn number<T: std::str::FromStr>(name: &str, v: String) -> Result<T> {
            v.trim().parse().map_err(|_| Error::invalid(name, format!("'{v}' is not a whole number")))
        }
        for (name, slot) in [
            ("LIFTLAB_MAX_CONNECTIONS", &mut self.max_connections),
            ("LIFTLAB_MAX_BATCH_ROWS", &mut self.max_batch_rows),
            ("LIFTLAB_CACHE_BYTES", &mut self.cache_bytes),
            ("LIFTLAB_BODY_BYTES_IN_FLIGHT", &mut self.body_bytes_in_flight),
        ] {
            if let Some(v) = get(name) {
                *slot = number(name, v)?;
            }
        }
        for (name, slot) in [
            ("LIFTLAB_HEADER_TIMEOUT_SECS", &mut self.header_timeout_secs),
            ("LIFTLAB_BODY_TIMEOUT_SECS", &mut self.body_timeout_secs),
            ("LIFTLAB_REQUEST_TIMEOUT_SECS", &mut self.request_timeout_secs),
            ("LIFTLAB_MAX_FORECAST_WORK", &mut self.max_forecast_work),
        ] {
            if let Some(v) = get(name) {
                *slot = number(name, v)?;
            }
        }
        if let Some(v) = get("LIFTLAB_SPEC") {
            self.spec = Some(v);
        }
        if let Some(v) = get("LIFTLAB_BODY_LIMIT_BYTES") {
            self.body_limit_bytes = v
                .parse()
                .map_err(|_| Error::invalid("LIFTLAB_BODY_LIMIT_BYTES", format!("'{v}' is not a byte count")))?;
        }
        if let Some(v) = get("LIFTLAB_WORKERS") {
            self.workers =
                Some(v.parse().map_err(|_| Error::invalid("LIFTLAB_WORKERS", format!("'{v}' is not a thread count")))?);
        }
        Ok(())
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        let db = self.database.trim();
        if db.is_empty() || db == ":memory:" || db.starts_with("file:") {
            // SQLite would silently use a temporary or in-memory database: every write would be
            // acknowledged and lost at the next restart.
            return Err(Error::invalid(
                "database",
                format!("'{}' is not a database file path; give a file such as liftlab.db", self.database),
            ));
        }
        for (name, v, lo, hi) in [
            ("header_timeout_secs", self.header_timeout_secs, 1, 3600),
            ("body_timeout_secs", self.body_timeout_secs, 1, 3600),
            ("request_timeout_secs", self.request_timeout_secs, 1, 3600),
            ("max_connections", self.max_connections as u64, 1, 1_000_000),
            ("max_batch_rows", self.max_batch_rows as u64, 1, 100_000_000),
            ("max_forecast_work", self.max_forecast_work, 1_000, crate::limits::MAX_FORECAST_WORK),
            ("cache_bytes", self.cache_bytes as u64, 0, 1 << 30),
            ("body_bytes_in_flight", self.body_bytes_in_flight as u64, self.body_limit_bytes as u64, 1 << 34),
        ] {
            if !(lo..=hi).contains(&v) {
                return Err(Error::invalid(name, format!("{v} is not between {lo} and {hi}")));
            }
        }
        if self.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(Error::invalid("bind", format!("'{}' is not an address like 127.0.0.1:8080", self.bind)));
        }
        if self.body_limit_bytes < 1024 {
            return Err(Error::invalid("body_limit_bytes", "must be at least 1024"));
        }
        if self.workers == Some(0) {
            return Err(Error::invalid("workers", "must be at least 1"));
        }
        for (name, tokens) in [("tokens", &self.tokens), ("read_tokens", &self.read_tokens)] {
            if let Some(t) = tokens.iter().find(|t| t.chars().count() < 16) {
                let shown: String = t.chars().take(3).collect();
                return Err(Error::invalid(name, format!("token '{shown}…' is shorter than 16 characters")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_file_then_env() {
        let mut c =
            ServerConfig::from_toml("bind = \"0.0.0.0:9000\"\ntokens = [\"aaaaaaaaaaaaaaaa\"]", "cfg.toml").unwrap();
        assert_eq!(c.database, "liftlab.db");
        c.apply_env(|k| (k == "LIFTLAB_DATABASE").then(|| "/tmp/x.db".to_string())).unwrap();
        assert_eq!((c.bind.as_str(), c.database.as_str()), ("0.0.0.0:9000", "/tmp/x.db"));
        c.validate().unwrap();
        assert!(ServerConfig::from_toml("bnd = 1", "cfg.toml").unwrap_err().to_string().contains("bnd"));
        c.tokens = vec!["short".into()];
        assert_eq!(c.validate().unwrap_err().field(), Some("tokens"));
    }

    /// Issue 12: an empty database setting made SQLite use a temporary database, so every write
    /// was acknowledged and lost at the next restart.
    #[test]
    fn empty_or_memory_database_is_refused() {
        for db in ["", "  ", ":memory:", "file::memory:?cache=shared"] {
            let mut c = ServerConfig::default();
            c.apply_env(|k| (k == "LIFTLAB_DATABASE").then(|| db.to_string())).unwrap();
            assert_eq!(c.validate().unwrap_err().field(), Some("database"), "{db:?}");
        }
        let mut c = ServerConfig::default();
        c.apply_env(|k| (k == "LIFTLAB_REQUEST_TIMEOUT_SECS").then(|| "0".to_string())).unwrap();
        assert_eq!(c.validate().unwrap_err().field(), Some("request_timeout_secs"));
        assert_eq!(
            c.apply_env(|k| (k == "LIFTLAB_MAX_CONNECTIONS").then(|| "many".to_string())).unwrap_err().field(),
            Some("LIFTLAB_MAX_CONNECTIONS")
        );
    }
}
