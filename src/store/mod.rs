//! The service's embedded store: one SQLite file, with numbered migrations.
//!
//! Durability: the database runs in WAL mode with `synchronous = FULL`, and a write is
//! acknowledged only after its transaction commits, so a killed server loses nothing it has
//! acknowledged. Today the store keeps the history of experiment specs (`PUT /v1/spec`); later
//! migrations add tables, never rewrite old ones.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};

/// The migrations, applied in order; `schema_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    // 1: experiment spec history
    "CREATE TABLE specs (
        version    INTEGER PRIMARY KEY AUTOINCREMENT,
        body       TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );",
];

/// A stored spec version.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredSpec {
    pub version: i64,
    pub body: String,
    pub created_at: String,
}

/// The SQLite store. Cheap to share behind an `Arc`; calls block, so async callers use
/// `spawn_blocking`.
pub struct Store {
    conn: Mutex<Connection>,
    path: String,
}

fn db_err(path: &str) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| Error::io(path, format!("database error: {e}"))
}

impl Store {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    /// `:memory:` gives a private in-memory database (tests).
    pub fn open(path: &str) -> Result<Self> {
        if path != ":memory:" {
            if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(path, format!("cannot create folder: {e}")))?;
            }
        }
        let conn = Connection::open(path).map_err(db_err(path))?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;")
            .map_err(db_err(path))?;
        let store = Store { conn: Mutex::new(conn), path: path.to_string() };
        store.migrate()?;
        Ok(store)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| Error::Internal("store lock poisoned".into()))
    }

    fn migrate(&self) -> Result<()> {
        let mut conn = self.lock()?;
        let path = self.path.clone();
        let tx = conn.transaction().map_err(db_err(&path))?;
        tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);")
            .map_err(db_err(&path))?;
        let current: i64 = tx
            .query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |r| r.get(0))
            .map_err(db_err(&path))?;
        if current as usize > MIGRATIONS.len() {
            return Err(Error::io(
                &path,
                format!(
                    "database schema version {current} is newer than this build knows ({}); upgrade liftlab",
                    MIGRATIONS.len()
                ),
            ));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.execute_batch(sql).map_err(db_err(&path))?;
            tx.execute("INSERT INTO schema_version (version) VALUES (?1)", params![i as i64 + 1])
                .map_err(db_err(&path))?;
        }
        tx.commit().map_err(db_err(&path))
    }

    /// The schema version after migrations.
    pub fn schema_version(&self) -> Result<i64> {
        self.lock()?
            .query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |r| r.get(0))
            .map_err(db_err(&self.path))
    }

    /// Saves a spec body as a new version and returns it; committed before returning.
    pub fn save_spec(&self, body: &str) -> Result<StoredSpec> {
        let conn = self.lock()?;
        conn.query_row("INSERT INTO specs (body) VALUES (?1) RETURNING version, body, created_at", params![body], |r| {
            Ok(StoredSpec { version: r.get(0)?, body: r.get(1)?, created_at: r.get(2)? })
        })
        .map_err(db_err(&self.path))
    }

    /// The newest spec, if any.
    pub fn latest_spec(&self) -> Result<Option<StoredSpec>> {
        self.lock()?
            .query_row("SELECT version, body, created_at FROM specs ORDER BY version DESC LIMIT 1", [], |r| {
                Ok(StoredSpec { version: r.get(0)?, body: r.get(1)?, created_at: r.get(2)? })
            })
            .optional()
            .map_err(db_err(&self.path))
    }

    /// A cheap liveness probe of the database.
    pub fn ping(&self) -> Result<()> {
        self.lock()?.query_row("SELECT 1", [], |_| Ok(())).map_err(db_err(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen_and_migrates_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/liftlab.db");
        let path = path.to_str().unwrap();
        {
            let s = Store::open(path).unwrap();
            assert_eq!(s.latest_spec().unwrap(), None);
            assert_eq!(s.save_spec("a").unwrap().version, 1);
            assert_eq!(s.save_spec("b").unwrap().version, 2);
        }
        let s = Store::open(path).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        assert_eq!(s.latest_spec().unwrap().unwrap().body, "b");
    }
}
