//! The service's embedded store: one SQLite file, with numbered migrations.
//!
//! Durability: the database runs in WAL mode with `synchronous = FULL`, and a write is
//! acknowledged only after its transaction commits, so a killed server loses nothing it has
//! acknowledged. The store keeps the history of experiment specs (`PUT /v1/spec`) and the
//! forecast ledger (forecasts and the outcomes attached to them, append-only). Later migrations
//! add tables, never rewrite old ones.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::forecast::ledger::ForecastMeta;
use crate::forecast::Interval;

/// The migrations, applied in order; `schema_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    // 1: experiment spec history
    "CREATE TABLE specs (
        version    INTEGER PRIMARY KEY AUTOINCREMENT,
        body       TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );",
    // 2: the forecast ledger. The request and report are kept whole (JSON); the relative interval
    // is repeated in columns so calibration needs no JSON parsing. Outcomes are appended, never
    // overwritten: the newest one of a forecast counts.
    "CREATE TABLE forecasts (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        title      TEXT NOT NULL,
        author     TEXT NOT NULL,
        team       TEXT NOT NULL,
        metric     TEXT NOT NULL,
        request    TEXT NOT NULL,
        report     TEXT NOT NULL,
        rel_estimate REAL NOT NULL,
        rel_low    REAL NOT NULL,
        rel_high   REAL NOT NULL,
        confidence REAL NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE INDEX forecasts_team ON forecasts (team, id);
    CREATE INDEX forecasts_author ON forecasts (author, id);
    CREATE TABLE outcomes (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        forecast_id INTEGER NOT NULL REFERENCES forecasts (id),
        observed    TEXT NOT NULL,
        source      TEXT NOT NULL,
        note        TEXT,
        recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE INDEX outcomes_forecast ON outcomes (forecast_id, id);",
];

/// A stored spec version.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredSpec {
    pub version: i64,
    pub body: String,
    pub created_at: String,
}

/// A forecast to save: who, what, and the request and report as JSON.
#[derive(Clone, Debug)]
pub struct NewForecast<'a> {
    pub meta: &'a ForecastMeta,
    pub request_json: &'a str,
    pub report_json: &'a str,
    pub relative: Interval,
    pub confidence: f64,
}

/// The newest outcome attached to a forecast.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredOutcome {
    pub observed_json: String,
    pub source: String,
    pub note: Option<String>,
    pub recorded_at: String,
}

/// A saved forecast.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredForecast {
    pub id: i64,
    pub meta: ForecastMeta,
    pub request_json: String,
    pub report_json: String,
    pub relative: Interval,
    pub confidence: f64,
    pub created_at: String,
    pub outcome: Option<StoredOutcome>,
}

/// Which forecasts to list: by team and/or author, newest first, `limit` rows older than `before`.
#[derive(Clone, Debug, Default)]
pub struct ForecastFilter {
    pub team: Option<String>,
    pub author: Option<String>,
    pub before: Option<i64>,
    pub limit: usize,
}

const FORECAST_COLUMNS: &str = "f.id, f.title, f.author, f.team, f.metric, f.request, f.report, \
     f.rel_estimate, f.rel_low, f.rel_high, f.confidence, f.created_at, \
     o.observed, o.source, o.note, o.recorded_at";

const FORECAST_FROM: &str = "FROM forecasts f LEFT JOIN outcomes o ON o.id = \
     (SELECT MAX(id) FROM outcomes WHERE forecast_id = f.id)";

fn forecast_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredForecast> {
    let observed: Option<String> = r.get(12)?;
    let outcome = match observed {
        Some(observed_json) => {
            Some(StoredOutcome { observed_json, source: r.get(13)?, note: r.get(14)?, recorded_at: r.get(15)? })
        }
        None => None,
    };
    Ok(StoredForecast {
        id: r.get(0)?,
        meta: ForecastMeta { title: r.get(1)?, author: r.get(2)?, team: r.get(3)?, metric: r.get(4)? },
        request_json: r.get(5)?,
        report_json: r.get(6)?,
        relative: Interval { estimate: r.get(7)?, low: r.get(8)?, high: r.get(9)? },
        confidence: r.get(10)?,
        created_at: r.get(11)?,
        outcome,
    })
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

    /// Saves a forecast; committed (and synced) before returning.
    pub fn save_forecast(&self, f: &NewForecast<'_>) -> Result<StoredForecast> {
        let conn = self.lock()?;
        let id: i64 = conn
            .query_row(
                "INSERT INTO forecasts (title, author, team, metric, request, report, rel_estimate, rel_low, \
                 rel_high, confidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
                params![
                    f.meta.title,
                    f.meta.author,
                    f.meta.team,
                    f.meta.metric,
                    f.request_json,
                    f.report_json,
                    f.relative.estimate,
                    f.relative.low,
                    f.relative.high,
                    f.confidence
                ],
                |r| r.get(0),
            )
            .map_err(db_err(&self.path))?;
        Self::get_locked(&conn, id)
            .map_err(db_err(&self.path))?
            .ok_or_else(|| Error::Internal("saved forecast vanished".into()))
    }

    fn get_locked(conn: &Connection, id: i64) -> rusqlite::Result<Option<StoredForecast>> {
        conn.query_row(&format!("SELECT {FORECAST_COLUMNS} {FORECAST_FROM} WHERE f.id = ?1"), params![id], forecast_row)
            .optional()
    }

    /// One forecast with its newest outcome.
    pub fn get_forecast(&self, id: i64) -> Result<Option<StoredForecast>> {
        let conn = self.lock()?;
        Self::get_locked(&conn, id).map_err(db_err(&self.path))
    }

    /// Forecasts newest first.
    pub fn list_forecasts(&self, filter: &ForecastFilter) -> Result<Vec<StoredForecast>> {
        let conn = self.lock()?;
        let sql = format!(
            "SELECT {FORECAST_COLUMNS} {FORECAST_FROM} WHERE (?1 IS NULL OR f.team = ?1) AND (?2 IS NULL OR f.author = ?2) \
             AND (?3 IS NULL OR f.id < ?3) ORDER BY f.id DESC LIMIT ?4"
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(db_err(&self.path))?;
        let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![filter.team, filter.author, filter.before, limit], forecast_row)
            .map_err(db_err(&self.path))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err(&self.path))
    }

    /// Appends an outcome to forecast `id`; `None` when there is no such forecast.
    pub fn add_outcome(
        &self,
        id: i64,
        observed_json: &str,
        source: &str,
        note: Option<&str>,
    ) -> Result<Option<StoredForecast>> {
        let mut conn = self.lock()?;
        let path = self.path.clone();
        let tx = conn.transaction().map_err(db_err(&path))?;
        let exists: bool = tx
            .query_row("SELECT EXISTS (SELECT 1 FROM forecasts WHERE id = ?1)", params![id], |r| r.get(0))
            .map_err(db_err(&path))?;
        if !exists {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO outcomes (forecast_id, observed, source, note) VALUES (?1, ?2, ?3, ?4)",
            params![id, observed_json, source, note],
        )
        .map_err(db_err(&path))?;
        let out = Self::get_locked(&tx, id).map_err(db_err(&path))?;
        tx.commit().map_err(db_err(&path))?;
        Ok(out)
    }

    /// How many forecasts are saved.
    pub fn count_forecasts(&self) -> Result<i64> {
        self.lock()?.query_row("SELECT COUNT(*) FROM forecasts", [], |r| r.get(0)).map_err(db_err(&self.path))
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

    fn meta(team: &str, author: &str) -> ForecastMeta {
        ForecastMeta { title: "t".into(), author: author.into(), team: team.into(), metric: "m".into() }
    }

    fn save(s: &Store, team: &str, author: &str, est: f64) -> StoredForecast {
        let m = meta(team, author);
        let rel = Interval { estimate: est, low: est - 0.01, high: est + 0.01 };
        s.save_forecast(&NewForecast {
            meta: &m,
            request_json: "{}",
            report_json: "{}",
            relative: rel,
            confidence: 0.95,
        })
        .unwrap()
    }

    #[test]
    fn ledger_saves_lists_filters_and_keeps_every_outcome() {
        let s = Store::open(":memory:").unwrap();
        let a = save(&s, "crm", "ana", 0.05);
        let b = save(&s, "sales", "bo", 0.02);
        let c = save(&s, "crm", "bo", 0.03);
        assert_eq!((a.id, b.id, c.id), (1, 2, 3));
        assert_eq!(a.relative.estimate, 0.05);
        assert!(a.created_at.ends_with('Z'));
        let all = s.list_forecasts(&ForecastFilter { limit: 10, ..Default::default() }).unwrap();
        assert_eq!(all.iter().map(|f| f.id).collect::<Vec<_>>(), [3, 2, 1]);
        let crm =
            s.list_forecasts(&ForecastFilter { team: Some("crm".into()), limit: 10, ..Default::default() }).unwrap();
        assert_eq!(crm.iter().map(|f| f.id).collect::<Vec<_>>(), [3, 1]);
        let bo_crm = s
            .list_forecasts(&ForecastFilter {
                team: Some("crm".into()),
                author: Some("bo".into()),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(bo_crm.iter().map(|f| f.id).collect::<Vec<_>>(), [3]);
        let page = s.list_forecasts(&ForecastFilter { before: Some(3), limit: 1, ..Default::default() }).unwrap();
        assert_eq!(page.iter().map(|f| f.id).collect::<Vec<_>>(), [2]);

        assert_eq!(s.add_outcome(99, "{}", "typed", None).unwrap(), None);
        let first = s.add_outcome(1, r#"{"relative":0.01}"#, "typed", Some("first")).unwrap().unwrap();
        assert_eq!(first.outcome.as_ref().unwrap().note.as_deref(), Some("first"));
        let second = s.add_outcome(1, r#"{"relative":0.02}"#, "report", None).unwrap().unwrap();
        assert_eq!(second.outcome.unwrap().observed_json, r#"{"relative":0.02}"#);
        // the first outcome is kept, not overwritten
        let n: i64 = s.lock().unwrap().query_row("SELECT COUNT(*) FROM outcomes", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 2);
        assert_eq!(s.get_forecast(2).unwrap().unwrap().outcome, None);
        assert_eq!(s.count_forecasts().unwrap(), 3);
    }
}
