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
        if let Some(v) = get("LIFTLAB_TOKENS") {
            self.tokens = v.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect();
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
        if self.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(Error::invalid("bind", format!("'{}' is not an address like 127.0.0.1:8080", self.bind)));
        }
        if self.body_limit_bytes < 1024 {
            return Err(Error::invalid("body_limit_bytes", "must be at least 1024"));
        }
        if self.workers == Some(0) {
            return Err(Error::invalid("workers", "must be at least 1"));
        }
        if let Some(t) = self.tokens.iter().find(|t| t.len() < 16) {
            return Err(Error::invalid(
                "tokens",
                format!("token '{}…' is shorter than 16 characters", &t[..t.len().min(3)]),
            ));
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
}
