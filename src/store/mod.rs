//! The service's embedded store: one SQLite file, with numbered migrations.
//!
//! Durability: the database runs in WAL mode with `synchronous = FULL`, and a write is
//! acknowledged only after its transaction commits, so a killed server loses nothing it has
//! acknowledged. The store keeps the history of experiment specs (`PUT /v1/spec`) and the
//! forecast ledger (forecasts and the outcomes attached to them, append-only). Later migrations
//! add tables, never rewrite old ones.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::error::{Error, Result};
use crate::forecast::ledger::{
    Calibration, CalibrationRecord, CalibrationTally, ForecastLift, ForecastMeta, LiftScale, Observed,
};
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
    // 3: the observed numbers of an outcome as columns, so that calibration and history stream
    // narrow rows instead of parsing JSON; and the answers of writes sent with an
    // `Idempotency-Key`, so that a retried write is answered again instead of done twice.
    "ALTER TABLE outcomes ADD COLUMN obs_relative REAL;
    ALTER TABLE outcomes ADD COLUMN obs_low REAL;
    ALTER TABLE outcomes ADD COLUMN obs_high REAL;
    ALTER TABLE outcomes ADD COLUMN significant_win INTEGER NOT NULL DEFAULT 0;
    UPDATE outcomes SET obs_relative = json_extract(observed, '$.relative'),
        obs_low = json_extract(observed, '$.low'), obs_high = json_extract(observed, '$.high'),
        significant_win = COALESCE(json_extract(observed, '$.significant_win'), 0)
        WHERE json_valid(observed);
    CREATE TABLE idempotency (
        key         TEXT PRIMARY KEY,
        route       TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        status      INTEGER NOT NULL,
        body        TEXT NOT NULL,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE INDEX idempotency_created ON idempotency (created_at);",
    // 4: like with like (issue 17). A forecast's relative columns hold the lift of the whole
    // topline (`lift_scale = 'topline'`), which is the lift among the reached units times the
    // coverage; the coverage becomes a column, taken from each saved request (1, the default,
    // where the request has none). An outcome records which lift it is: outcomes saved before
    // did not say, and are read as what a test reports, the lift among the reached units.
    "ALTER TABLE forecasts ADD COLUMN coverage REAL NOT NULL DEFAULT 1;
    ALTER TABLE forecasts ADD COLUMN lift_scale TEXT NOT NULL DEFAULT 'topline';
    UPDATE forecasts SET coverage = json_extract(request, '$.model.coverage')
        WHERE json_valid(request) AND json_type(request, '$.model.coverage') IN ('real', 'integer')
        AND json_extract(request, '$.model.coverage') > 0;
    ALTER TABLE outcomes ADD COLUMN obs_scale TEXT NOT NULL DEFAULT 'reached';",
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
    /// The lift of the whole topline, and the reach that converts it to the reached units (the
    /// table's column keeps its first name, `coverage`).
    pub relative: Interval,
    pub reach: f64,
    pub confidence: f64,
}

/// An outcome to append: the observed result as JSON and its numbers as columns.
#[derive(Clone, Debug)]
pub struct NewOutcome<'a> {
    pub observed_json: &'a str,
    pub observed: &'a Observed,
    pub source: &'a str,
    pub note: Option<&'a str>,
}

/// The newest outcome attached to a forecast.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredOutcome {
    pub observed_json: String,
    /// Which lift the observed result is (its column, which outcomes saved before it existed
    /// have too).
    pub scale: LiftScale,
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
    /// The forecast's lift as its columns hold it, with its scale and coverage.
    pub lift: ForecastLift,
    pub confidence: f64,
    pub created_at: String,
    pub outcome: Option<StoredOutcome>,
}

/// A line of the ledger's list: a saved forecast without its request and report.
#[derive(Clone, Debug, PartialEq)]
pub struct ForecastLine {
    pub id: i64,
    pub meta: ForecastMeta,
    pub lift: ForecastLift,
    pub confidence: f64,
    pub created_at: String,
    pub outcome: Option<StoredOutcome>,
}

/// Which forecasts to list: by team and/or author, with `text` in their title, author, team or
/// metric, newest first, `limit` rows older than `before`.
#[derive(Clone, Debug, Default)]
pub struct ForecastFilter {
    pub team: Option<String>,
    pub author: Option<String>,
    /// Found in the title, author, team or metric (ASCII letters in any case; other scripts, such
    /// as Chinese, as written).
    pub text: Option<String>,
    pub before: Option<i64>,
    pub limit: usize,
}

/// A write sent with an `Idempotency-Key`: the key, the route and a fingerprint of the request.
#[derive(Clone, Debug)]
pub struct Idempotency<'a> {
    pub key: &'a str,
    pub route: &'a str,
    pub fingerprint: &'a str,
}

/// The answer to a write: done now, or the stored answer of an earlier request with the same
/// idempotency key.
#[derive(Clone, Debug, PartialEq)]
pub enum Written {
    Fresh(String),
    Replayed { status: u16, body: String },
}

/// How long the answers of idempotent writes are kept.
const IDEMPOTENCY_DAYS: u32 = 7;

const FORECAST_COLUMNS: &str = "f.id, f.title, f.author, f.team, f.metric, f.request, f.report, \
     f.rel_estimate, f.rel_low, f.rel_high, f.confidence, f.created_at, \
     o.observed, o.source, o.note, o.recorded_at, f.coverage, f.lift_scale, o.obs_scale";

const LINE_COLUMNS: &str = "f.id, f.title, f.author, f.team, f.metric, '', '', \
     f.rel_estimate, f.rel_low, f.rel_high, f.confidence, f.created_at, \
     o.observed, o.source, o.note, o.recorded_at, f.coverage, f.lift_scale, o.obs_scale";

/// A stored scale name, or an error that reads as a database error.
fn scale_of(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<LiftScale> {
    let s: String = r.get(i)?;
    LiftScale::parse(&s, "lift_scale")
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.to_string().into()))
}

const FORECAST_FROM: &str = "FROM forecasts f LEFT JOIN outcomes o ON o.id = \
     (SELECT MAX(id) FROM outcomes WHERE forecast_id = f.id)";

fn forecast_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredForecast> {
    let observed: Option<String> = r.get(12)?;
    let outcome = match observed {
        Some(observed_json) => Some(StoredOutcome {
            observed_json,
            scale: scale_of(r, 18)?,
            source: r.get(13)?,
            note: r.get(14)?,
            recorded_at: r.get(15)?,
        }),
        None => None,
    };
    Ok(StoredForecast {
        id: r.get(0)?,
        meta: ForecastMeta { title: r.get(1)?, author: r.get(2)?, team: r.get(3)?, metric: r.get(4)? },
        request_json: r.get(5)?,
        report_json: r.get(6)?,
        lift: ForecastLift {
            interval: Interval { estimate: r.get(7)?, low: r.get(8)?, high: r.get(9)? },
            scale: scale_of(r, 17)?,
            reach: r.get(16)?,
        },
        confidence: r.get(10)?,
        created_at: r.get(11)?,
        outcome,
    })
}

/// The SQLite store. Cheap to share behind an `Arc`; calls block, so async callers use
/// `spawn_blocking`. Writes go through one connection, one transaction at a time; reads (lists,
/// calibration) through another, which WAL lets run beside a write; the health probe has its
/// own, so that it never waits behind either.
pub struct Store {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    probe: Mutex<Connection>,
    path: String,
    /// Bumped after every committed write: answers computed from the ledger are valid while it
    /// stays the same.
    generation: AtomicU64,
}

fn db_err(path: &str) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| Error::io(path, format!("database error: {e}"))
}

fn lock(m: &Mutex<Connection>) -> Result<std::sync::MutexGuard<'_, Connection>> {
    m.lock().map_err(|_| Error::Internal("store lock poisoned".into()))
}

/// A write transaction: the operations a write route combines, committed together or not at all.
pub struct Tx<'a> {
    conn: &'a Connection,
    path: &'a str,
}

impl Tx<'_> {
    /// Inserts a forecast and reads it back.
    pub fn insert_forecast(&self, f: &NewForecast<'_>) -> Result<StoredForecast> {
        let id: i64 = self
            .conn
            .query_row(
                "INSERT INTO forecasts (title, author, team, metric, request, report, rel_estimate, rel_low, \
                 rel_high, confidence, coverage, lift_scale) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, \
                 'topline') RETURNING id",
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
                    f.confidence,
                    f.reach
                ],
                |r| r.get(0),
            )
            .map_err(db_err(self.path))?;
        self.forecast(id)?.ok_or_else(|| Error::Internal("saved forecast vanished".into()))
    }

    /// One forecast with its newest outcome, as this transaction sees it.
    pub fn forecast(&self, id: i64) -> Result<Option<StoredForecast>> {
        get_forecast(self.conn, id).map_err(db_err(self.path))
    }

    /// Appends an outcome to forecast `id` and reads the forecast back; `None` when there is no
    /// such forecast.
    pub fn insert_outcome(&self, id: i64, o: &NewOutcome<'_>) -> Result<Option<StoredForecast>> {
        let exists: bool = self
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM forecasts WHERE id = ?1)", params![id], |r| r.get(0))
            .map_err(db_err(self.path))?;
        if !exists {
            return Ok(None);
        }
        self.conn
            .execute(
                "INSERT INTO outcomes (forecast_id, observed, source, note, obs_relative, obs_low, obs_high, \
                 significant_win, obs_scale) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    id,
                    o.observed_json,
                    o.source,
                    o.note,
                    o.observed.relative,
                    o.observed.low,
                    o.observed.high,
                    o.observed.significant_win,
                    o.observed.scale.as_str()
                ],
            )
            .map_err(db_err(self.path))?;
        self.forecast(id)
    }

    /// Saves a spec body as a new version.
    pub fn insert_spec(&self, body: &str) -> Result<StoredSpec> {
        self.conn
            .query_row("INSERT INTO specs (body) VALUES (?1) RETURNING version, body, created_at", params![body], |r| {
                Ok(StoredSpec { version: r.get(0)?, body: r.get(1)?, created_at: r.get(2)? })
            })
            .map_err(db_err(self.path))
    }
}

fn get_forecast(conn: &Connection, id: i64) -> rusqlite::Result<Option<StoredForecast>> {
    conn.query_row(&format!("SELECT {FORECAST_COLUMNS} {FORECAST_FROM} WHERE f.id = ?1"), params![id], forecast_row)
        .optional()
}

fn open_connection(path: &str) -> Result<Connection> {
    let conn = Connection::open(path).map_err(db_err(path))?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;")
        .map_err(db_err(path))?;
    Ok(conn)
}

impl Store {
    /// Opens (creating if needed) the database file at `path` and applies pending migrations.
    pub fn open(path: &str) -> Result<Self> {
        if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(path, format!("cannot create folder: {e}")))?;
        }
        let writer = open_connection(path)?;
        let store = Store {
            writer: Mutex::new(writer),
            reader: Mutex::new(open_connection(path)?),
            probe: Mutex::new(open_connection(path)?),
            path: path.to_string(),
            generation: AtomicU64::new(0),
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&self) -> Result<()> {
        let mut conn = lock(&self.writer)?;
        let path = self.path.clone();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err(&path))?;
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
        lock(&self.probe)?
            .query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |r| r.get(0))
            .map_err(db_err(&self.path))
    }

    /// A cheap liveness probe of the database, on its own connection.
    pub fn ping(&self) -> Result<()> {
        lock(&self.probe)?.query_row("SELECT 1", [], |_| Ok(())).map_err(db_err(&self.path))
    }

    /// Changes with every committed write.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Runs one write: `f` does its inserts in a transaction and renders the answer (`status`
    /// with body); the transaction commits only when `f` succeeds, so a failed write stores
    /// nothing. With an idempotency key, a key seen before answers the stored answer without
    /// writing (the same route and request), or is an error (a different one); a new key is stored
    /// with the answer in the same transaction.
    pub fn write(
        &self,
        idempotency: Option<&Idempotency<'_>>,
        status: u16,
        f: impl FnOnce(&Tx<'_>) -> Result<String>,
    ) -> Result<Written> {
        let mut conn = lock(&self.writer)?;
        let path = self.path.as_str();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err(path))?;
        if let Some(k) = idempotency {
            let seen: Option<(String, String, u16, String)> = tx
                .query_row(
                    "SELECT route, fingerprint, status, body FROM idempotency WHERE key = ?1",
                    params![k.key],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
                .map_err(db_err(path))?;
            if let Some((route, fingerprint, status, body)) = seen {
                if route == k.route && fingerprint == k.fingerprint {
                    return Ok(Written::Replayed { status, body });
                }
                return Err(Error::invalid(
                    "Idempotency-Key",
                    format!("'{}' was already used for a different request; use a new key per request", k.key),
                ));
            }
        }
        let body = f(&Tx { conn: &tx, path })?;
        if let Some(k) = idempotency {
            tx.execute(
                "INSERT INTO idempotency (key, route, fingerprint, status, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![k.key, k.route, k.fingerprint, status, body],
            )
            .map_err(db_err(path))?;
            tx.execute(
                &format!(
                    "DELETE FROM idempotency WHERE created_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-{IDEMPOTENCY_DAYS} days')"
                ),
                [],
            )
            .map_err(db_err(path))?;
        }
        tx.commit().map_err(db_err(path))?;
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(Written::Fresh(body))
    }

    /// Saves a spec body as a new version and returns it; committed before returning.
    pub fn save_spec(&self, body: &str) -> Result<StoredSpec> {
        let mut out = None;
        self.write(None, 200, |tx| {
            out = Some(tx.insert_spec(body)?);
            Ok(String::new())
        })?;
        out.ok_or_else(|| Error::Internal("saved spec vanished".into()))
    }

    /// The newest spec, if any.
    pub fn latest_spec(&self) -> Result<Option<StoredSpec>> {
        lock(&self.reader)?
            .query_row("SELECT version, body, created_at FROM specs ORDER BY version DESC LIMIT 1", [], |r| {
                Ok(StoredSpec { version: r.get(0)?, body: r.get(1)?, created_at: r.get(2)? })
            })
            .optional()
            .map_err(db_err(&self.path))
    }

    /// One forecast with its newest outcome.
    pub fn get_forecast(&self, id: i64) -> Result<Option<StoredForecast>> {
        let conn = lock(&self.reader)?;
        get_forecast(&conn, id).map_err(db_err(&self.path))
    }

    /// Forecasts newest first, without their request and report.
    pub fn list_forecasts(&self, filter: &ForecastFilter) -> Result<Vec<ForecastLine>> {
        let conn = lock(&self.reader)?;
        let sql = format!(
            "SELECT {LINE_COLUMNS} {FORECAST_FROM} WHERE (?1 IS NULL OR f.team = ?1) AND (?2 IS NULL OR f.author = ?2) \
             AND (?3 IS NULL OR f.id < ?3) AND (?5 IS NULL OR instr(lower(f.title), lower(?5)) > 0 \
             OR instr(lower(f.author), lower(?5)) > 0 OR instr(lower(f.team), lower(?5)) > 0 \
             OR instr(lower(f.metric), lower(?5)) > 0) ORDER BY f.id DESC LIMIT ?4"
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(db_err(&self.path))?;
        let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![filter.team, filter.author, filter.before, limit, filter.text], forecast_row)
            .map_err(db_err(&self.path))?;
        rows.map(|r| {
            r.map(|f| ForecastLine {
                id: f.id,
                meta: f.meta,
                lift: f.lift,
                confidence: f.confidence,
                created_at: f.created_at,
                outcome: f.outcome,
            })
        })
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_err(&self.path))
    }

    /// The calibration of the forecasts of a team and/or author, streamed row by row from their
    /// columns (memory for the groups only).
    pub fn calibration(&self, team: Option<&str>, author: Option<&str>) -> Result<Calibration> {
        let conn = lock(&self.reader)?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT f.author, f.team, f.created_at, f.rel_estimate, f.rel_low, f.rel_high, f.confidence, \
                 o.obs_relative, o.obs_low, o.obs_high, o.significant_win, f.coverage, f.lift_scale, o.obs_scale \
                 FROM forecasts f LEFT JOIN outcomes o ON o.id = (SELECT MAX(id) FROM outcomes WHERE forecast_id = f.id) \
                 WHERE (?1 IS NULL OR f.team = ?1) AND (?2 IS NULL OR f.author = ?2) ORDER BY f.id",
            )
            .map_err(db_err(&self.path))?;
        let mut rows = stmt.query(params![team, author]).map_err(db_err(&self.path))?;
        let mut tally = CalibrationTally::default();
        while let Some(r) = rows.next().map_err(db_err(&self.path))? {
            let relative: Option<f64> = r.get(7).map_err(db_err(&self.path))?;
            let read = || -> rusqlite::Result<CalibrationRecord> {
                Ok(CalibrationRecord {
                    author: r.get(0)?,
                    team: r.get(1)?,
                    created_at: r.get(2)?,
                    forecast: ForecastLift {
                        interval: Interval { estimate: r.get(3)?, low: r.get(4)?, high: r.get(5)? },
                        scale: scale_of(r, 12)?,
                        reach: r.get(11)?,
                    },
                    confidence: r.get(6)?,
                    observed: match relative {
                        Some(relative) => Some(Observed {
                            relative,
                            scale: scale_of(r, 13)?,
                            low: r.get(8)?,
                            high: r.get(9)?,
                            p_value: None,
                            significant_win: r.get(10)?,
                        }),
                        None => None,
                    },
                })
            };
            tally.add(&read().map_err(db_err(&self.path))?);
        }
        Ok(tally.finish())
    }

    /// The observed results of the newest `limit` reconciled forecasts of a team and/or author,
    /// on the reached scale (a result given on the topline is divided by its forecast's coverage).
    pub fn observed_results(&self, team: Option<&str>, author: Option<&str>, limit: usize) -> Result<Vec<Observed>> {
        let conn = lock(&self.reader)?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT o.obs_relative, o.obs_low, o.obs_high, o.significant_win, o.obs_scale, f.coverage \
                 FROM forecasts f JOIN outcomes o ON o.id = (SELECT MAX(id) FROM outcomes WHERE forecast_id = f.id) \
                 WHERE (?1 IS NULL OR f.team = ?1) AND (?2 IS NULL OR f.author = ?2) AND o.obs_relative IS NOT NULL \
                 ORDER BY f.id DESC LIMIT ?3",
            )
            .map_err(db_err(&self.path))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![team, author, limit], |r| {
                let (scale, reach): (LiftScale, f64) = (scale_of(r, 4)?, r.get(5)?);
                let reached = |x: f64| scale.to_reached(x, reach);
                Ok(Observed {
                    relative: reached(r.get(0)?),
                    scale: LiftScale::Reached,
                    low: r.get::<_, Option<f64>>(1)?.map(reached),
                    high: r.get::<_, Option<f64>>(2)?.map(reached),
                    p_value: None,
                    significant_win: r.get(3)?,
                })
            })
            .map_err(db_err(&self.path))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err(&self.path))
    }

    /// How many forecasts are saved.
    pub fn count_forecasts(&self) -> Result<i64> {
        lock(&self.reader)?.query_row("SELECT COUNT(*) FROM forecasts", [], |r| r.get(0)).map_err(db_err(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path().join("t.db").to_str().unwrap()).unwrap();
        (s, dir)
    }

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
        let mut out = None;
        s.write(None, 201, |tx| {
            out = Some(tx.insert_forecast(&NewForecast {
                meta: &m,
                request_json: "{}",
                report_json: "{}",
                relative: rel,
                reach: 1.0,
                confidence: 0.95,
            })?);
            Ok(String::new())
        })
        .unwrap();
        out.unwrap()
    }

    fn observed(relative: f64) -> Observed {
        Observed { relative, scale: LiftScale::Reached, low: None, high: None, p_value: None, significant_win: false }
    }

    fn add_outcome(s: &Store, id: i64, relative: f64, note: Option<&str>) -> Option<StoredForecast> {
        let o = observed(relative);
        let json = serde_json::to_string(&o).unwrap();
        let mut out = None;
        s.write(None, 200, |tx| {
            out = tx.insert_outcome(id, &NewOutcome { observed_json: &json, observed: &o, source: "typed", note })?;
            Ok(String::new())
        })
        .unwrap();
        out
    }

    fn count(s: &Store, table: &str) -> i64 {
        lock(&s.reader).unwrap().query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn ledger_saves_lists_filters_and_keeps_every_outcome() {
        let (s, _dir) = temp_store();
        let a = save(&s, "crm", "ana", 0.05);
        let b = save(&s, "sales", "bo", 0.02);
        let c = save(&s, "crm", "bo", 0.03);
        assert_eq!((a.id, b.id, c.id), (1, 2, 3));
        assert_eq!(a.lift.interval.estimate, 0.05);
        assert_eq!((a.lift.scale, a.lift.reach), (LiftScale::Topline, 1.0));
        assert!(a.created_at.ends_with('Z'));
        let ids = |f: ForecastFilter| s.list_forecasts(&f).unwrap().iter().map(|f| f.id).collect::<Vec<_>>();
        assert_eq!(ids(ForecastFilter { limit: 10, ..Default::default() }), [3, 2, 1]);
        assert_eq!(ids(ForecastFilter { team: Some("crm".into()), limit: 10, ..Default::default() }), [3, 1]);
        let bo_crm =
            ForecastFilter { team: Some("crm".into()), author: Some("bo".into()), limit: 10, ..Default::default() };
        assert_eq!(ids(bo_crm), [3]);
        assert_eq!(ids(ForecastFilter { before: Some(3), limit: 1, ..Default::default() }), [2]);

        assert_eq!(add_outcome(&s, 99, 0.01, None), None);
        let first = add_outcome(&s, 1, 0.01, Some("first")).unwrap();
        assert_eq!(first.outcome.as_ref().unwrap().note.as_deref(), Some("first"));
        let second = add_outcome(&s, 1, 0.02, None).unwrap();
        assert!(second.outcome.unwrap().observed_json.contains("0.02"));
        // the first outcome is kept, not overwritten
        assert_eq!(count(&s, "outcomes"), 2);
        assert_eq!(s.get_forecast(2).unwrap().unwrap().outcome, None);
        assert_eq!(s.count_forecasts().unwrap(), 3);
        // the observed numbers are columns too: calibration and history read them
        assert_eq!(s.observed_results(None, None, 10).unwrap(), vec![observed(0.02)]);
        let cal = s.calibration(Some("crm"), None).unwrap();
        assert_eq!((cal.overall.forecasts, cal.overall.reconciled), (2, 1));
        assert!((cal.overall.bias.unwrap() - (0.05 - 0.02)).abs() < 1e-15);
    }

    /// Issue 12: a write whose answer fails (here: the check after the insert) stores nothing.
    #[test]
    fn a_failed_write_stores_nothing() {
        let (s, _dir) = temp_store();
        let m = meta("crm", "ana");
        let generation = s.generation();
        let err = s
            .write(None, 201, |tx| {
                tx.insert_forecast(&NewForecast {
                    meta: &m,
                    request_json: "{}",
                    report_json: "{}",
                    relative: Interval { estimate: 0.0, low: 0.0, high: 0.0 },
                    reach: 1.0,
                    confidence: 0.95,
                })?;
                Err(Error::invalid("request", "cannot be read back"))
            })
            .unwrap_err();
        assert_eq!(err.field(), Some("request"));
        assert_eq!((s.count_forecasts().unwrap(), s.generation()), (0, generation));
    }

    /// Issue 17, migration 4, on a database written by the schema of migration 3 (its own SQL,
    /// rows inserted as that version inserted them): every forecast keeps its numbers and gains
    /// its request's coverage (1 where the request has none), every outcome reads as a lift among
    /// the reached units, and calibration converts the topline columns with the coverage.
    #[test]
    fn migration_4_keeps_old_rows_and_adds_their_coverage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let path = path.to_str().unwrap();
        {
            let conn = Connection::open(path).unwrap();
            conn.execute_batch("CREATE TABLE schema_version (version INTEGER NOT NULL);").unwrap();
            for (i, sql) in MIGRATIONS[..3].iter().enumerate() {
                conn.execute_batch(sql).unwrap();
                conn.execute("INSERT INTO schema_version (version) VALUES (?1)", params![i as i64 + 1]).unwrap();
            }
            let insert = "INSERT INTO forecasts (title, author, team, metric, request, report, rel_estimate, rel_low, \
                          rel_high, confidence) VALUES (?1, 'ana', '销售', 'deals', ?2, '{}', ?3, ?4, ?5, 0.95)";
            let half = r#"{"model":{"nodes":[],"changes":[],"coverage":0.5}}"#;
            conn.execute(insert, params!["打电话脚本", half, 0.04, 0.01, 0.07]).unwrap();
            conn.execute(insert, params!["no coverage", r#"{"model":{"nodes":[],"changes":[]}}"#, 0.08, 0.02, 0.14])
                .unwrap();
            conn.execute(
                "INSERT INTO outcomes (forecast_id, observed, source, obs_relative, significant_win) \
                 VALUES (1, '{\"relative\":0.08,\"significant_win\":false}', 'typed', 0.08, 0)",
                [],
            )
            .unwrap();
        }
        let s = Store::open(path).unwrap();
        assert_eq!(s.schema_version().unwrap(), 4);
        let a = s.get_forecast(1).unwrap().unwrap();
        assert_eq!((a.meta.title.as_str(), a.meta.team.as_str()), ("打电话脚本", "销售"));
        assert_eq!(a.lift, ForecastLift::topline(Interval { estimate: 0.04, low: 0.01, high: 0.07 }, 0.5));
        assert_eq!(a.outcome.as_ref().unwrap().scale, LiftScale::Reached);
        let b = s.get_forecast(2).unwrap().unwrap();
        assert_eq!((b.lift.reach, b.lift.scale), (1.0, LiftScale::Topline));
        // reached: 0.04 / 0.5 = 0.08 against 0.08 observed: error 0 (the old topline error was -0.04)
        let cal = s.calibration(None, None).unwrap();
        assert_eq!((cal.overall.forecasts, cal.overall.reconciled), (2, 1));
        assert!(cal.overall.bias.unwrap().abs() < 1e-15, "{:?}", cal.overall);
        assert_eq!(s.observed_results(None, None, 10).unwrap(), vec![observed(0.08)]);
        // searching finds the Chinese title and team
        let found = |text: &str| {
            let f = ForecastFilter { text: Some(text.into()), limit: 10, ..Default::default() };
            s.list_forecasts(&f).unwrap().iter().map(|l| l.id).collect::<Vec<_>>()
        };
        assert_eq!(found("电话"), [1]);
        assert_eq!(found("销售"), [2, 1]);
        assert_eq!(found("NO COV"), [2]);
        assert!(found("%").is_empty(), "a LIKE wildcard is text here");
    }

    /// A topline-scale outcome is converted with its forecast's coverage where history reads it.
    #[test]
    fn topline_outcomes_are_read_on_the_reached_scale() {
        let (s, _dir) = temp_store();
        let m = meta("crm", "ana");
        s.write(None, 201, |tx| {
            tx.insert_forecast(&NewForecast {
                meta: &m,
                request_json: "{}",
                report_json: "{}",
                relative: Interval { estimate: 0.02, low: 0.0, high: 0.04 },
                reach: 0.25,
                confidence: 0.95,
            })?;
            Ok(String::new())
        })
        .unwrap();
        let o =
            Observed { relative: 0.01, scale: LiftScale::Topline, low: Some(0.0), high: Some(0.02), ..observed(0.0) };
        let json = serde_json::to_string(&o).unwrap();
        s.write(None, 200, |tx| {
            tx.insert_outcome(1, &NewOutcome { observed_json: &json, observed: &o, source: "typed", note: None })?;
            Ok(String::new())
        })
        .unwrap();
        let got = s.observed_results(None, None, 10).unwrap();
        assert_eq!(got, vec![Observed { relative: 0.04, low: Some(0.0), high: Some(0.08), ..observed(0.0) }]);
        assert_eq!(s.get_forecast(1).unwrap().unwrap().outcome.unwrap().scale, LiftScale::Topline);
    }

    /// Issue 12: a retried write with the same key is answered from the first, not done twice; the
    /// key with a different request is refused.
    #[test]
    fn idempotent_writes_are_done_once() {
        let (s, _dir) = temp_store();
        let key = Idempotency { key: "k-1", route: "POST /v1/forecasts", fingerprint: "abc" };
        let run = |k: &Idempotency<'_>| {
            s.write(Some(k), 201, |tx| {
                let f = tx.insert_spec("x")?;
                Ok(format!("{{\"version\":{}}}", f.version))
            })
        };
        assert_eq!(run(&key).unwrap(), Written::Fresh("{\"version\":1}".into()));
        assert_eq!(run(&key).unwrap(), Written::Replayed { status: 201, body: "{\"version\":1}".into() });
        assert_eq!(count(&s, "specs"), 1);
        let other = Idempotency { fingerprint: "def", ..key.clone() };
        assert_eq!(run(&other).unwrap_err().field(), Some("Idempotency-Key"));
        assert_eq!(count(&s, "specs"), 1);
    }
}
