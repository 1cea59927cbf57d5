//! The survey's SQLite file: schema and migrations, WAL mode, and every read and write.
//!
//! One writer connection behind a mutex (SQLite allows one writer at a time anyway) and a
//! small pool of reader connections, which WAL lets run while a write commits. Each answer is
//! its own transaction with `synchronous = FULL`, so an answer acknowledged to a participant
//! survives a crash or restart; `UNIQUE(participant_id, question_id)` makes a second answer to
//! the same question impossible whatever the server does.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::error::SurveyError;
use super::layout::{Candidate, Method, Question, Survey};

/// `PRAGMA application_id` of toongan survey files ("toon").
const APPLICATION_ID: i64 = 0x746f_6f6e;

/// Schema migrations; migration `i` takes `user_version` from `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE survey (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seed INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE methods (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    source_dir TEXT NOT NULL
);
CREATE TABLE images (
    sha256 TEXT PRIMARY KEY,
    mime TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    bytes BLOB NOT NULL
);
CREATE TABLE questions (
    id INTEGER PRIMARY KEY,
    number INTEGER NOT NULL UNIQUE,
    reference_image TEXT NOT NULL REFERENCES images(sha256),
    reference_source TEXT NOT NULL
);
CREATE TABLE candidates (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    question_id INTEGER NOT NULL REFERENCES questions(id),
    method_id INTEGER NOT NULL REFERENCES methods(id),
    image TEXT NOT NULL REFERENCES images(sha256),
    source TEXT NOT NULL,
    UNIQUE (question_id, method_id)
);
CREATE TABLE participants (
    id TEXT PRIMARY KEY,
    seed INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    user_agent TEXT
);
CREATE TABLE answers (
    id INTEGER PRIMARY KEY,
    participant_id TEXT NOT NULL REFERENCES participants(id),
    question_id INTEGER NOT NULL REFERENCES questions(id),
    candidate_id INTEGER NOT NULL REFERENCES candidates(id),
    shown_position INTEGER NOT NULL,
    answered_at_ms INTEGER NOT NULL,
    ms_on_question INTEGER,
    UNIQUE (participant_id, question_id)
);
"#];

/// A survey database file, open for reading and writing.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

/// An answer to record.
#[derive(Debug, Clone)]
pub struct NewAnswer<'a> {
    /// Participant id (already known to exist).
    pub participant: &'a str,
    /// Database id of the question.
    pub question_id: i64,
    /// Database id of the chosen candidate.
    pub candidate_id: i64,
    /// 0-based position the chosen candidate was shown at.
    pub shown_position: u32,
    /// Time the participant spent on the question, as reported by the page (informative).
    pub ms_on_question: Option<u32>,
}

/// Whether [`Store::record_answer`] stored the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerOutcome {
    /// Stored now.
    Recorded,
    /// The participant had already answered this question; nothing changed.
    Duplicate,
}

/// One recorded answer with everything needed for statistics and export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRow {
    /// Participant id.
    pub participant: String,
    /// Question number.
    pub question: u32,
    /// Index of the chosen method in [`Survey::methods`].
    pub method: usize,
    /// 0-based position the chosen image was shown at.
    pub shown_position: u32,
    /// Unix milliseconds.
    pub answered_at_ms: i64,
    /// Time on the question as reported by the page.
    pub ms_on_question: Option<u32>,
}

/// Current time in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Store {
    /// Opens (creating if needed) the survey database at `path`, switches it to WAL mode and
    /// brings its schema up to date. An existing SQLite file that is not a toongan survey
    /// (another application id, or tables of its own) is refused before anything is changed.
    pub fn open(path: &Path) -> Result<Self, SurveyError> {
        refuse_foreign(path)?;
        let writer = open_connection(path, true)?;
        let store = Store {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        };
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing survey file for serving: nothing is created, switched to WAL or
    /// migrated unless the file's `application_id` (read from its header, without SQLite
    /// opening it) says it is a toongan survey.
    pub fn open_existing(path: &Path) -> Result<Self, SurveyError> {
        let header = read_header(path)?;
        if header.application_id != APPLICATION_ID {
            return Err(SurveyError::NotASurvey {
                path: path.to_path_buf(),
                found: header.application_id,
            });
        }
        Self::open(path)
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn db_err(&self, source: rusqlite::Error) -> SurveyError {
        SurveyError::Db {
            path: self.path.clone(),
            source,
        }
    }

    fn migrate(&self) -> Result<(), SurveyError> {
        let mut conn = lock(&self.writer);
        let app: i64 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|e| self.db_err(e))?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.db_err(e))?;
        if app != APPLICATION_ID && (app != 0 || version != 0) {
            return Err(SurveyError::NotASurvey {
                path: self.path.clone(),
                found: app,
            });
        }
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(SurveyError::NewerSchema {
                path: self.path.clone(),
                found: version,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction().map_err(|e| self.db_err(e))?;
            tx.execute_batch(sql).map_err(|e| self.db_err(e))?;
            tx.execute_batch(&format!(
                "PRAGMA user_version = {}; PRAGMA application_id = {APPLICATION_ID};",
                i + 1
            ))
            .map_err(|e| self.db_err(e))?;
            tx.commit().map_err(|e| self.db_err(e))?;
        }
        Ok(())
    }

    /// Runs `f` on a reader connection (opened on demand, returned to the pool after).
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, SurveyError> {
        let conn = match lock(&self.readers).pop() {
            Some(c) => c,
            None => open_connection(&self.path, false)?,
        };
        let out = f(&conn).map_err(|e| self.db_err(e));
        let mut pool = lock(&self.readers);
        if pool.len() < 8 {
            pool.push(conn);
        }
        out
    }

    /// Runs `f` inside one write transaction, committed only if `f` succeeds.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, SurveyError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction().map_err(|e| self.db_err(e))?;
        let out = f(&tx).map_err(|e| self.db_err(e))?;
        tx.commit().map_err(|e| self.db_err(e))?;
        Ok(out)
    }

    /// Copies the write-ahead log into the main file, so the file alone holds everything.
    pub fn checkpoint(&self) -> Result<(), SurveyError> {
        let conn = lock(&self.writer);
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|e| self.db_err(e))
    }

    /// Loads the survey's fixed content (methods, questions, candidates).
    pub fn survey(&self) -> Result<Survey, SurveyError> {
        let head: Option<(i64, i64)> = self.read(|c| {
            c.query_row("SELECT seed, created_at_ms FROM survey", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
        })?;
        let Some((seed, created_at_ms)) = head else {
            return Err(SurveyError::NoSurvey {
                path: self.path.clone(),
            });
        };
        self.read(|c| {
            let methods: Vec<Method> = c
                .prepare("SELECT id, name FROM methods ORDER BY id")?
                .query_map([], |r| {
                    Ok(Method {
                        id: r.get(0)?,
                        name: r.get(1)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut questions: Vec<Question> = c
                .prepare(
                    "SELECT id, number, reference_image, reference_source FROM questions ORDER BY number",
                )?
                .query_map([], |r| {
                    Ok(Question {
                        id: r.get(0)?,
                        number: r.get(1)?,
                        reference_image: r.get(2)?,
                        reference_source: r.get(3)?,
                        candidates: Vec::new(),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut stmt = c.prepare(
                "SELECT id, token, question_id, method_id, image, source FROM candidates ORDER BY question_id, method_id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?;
            for row in rows {
                let (id, token, qid, mid, image, source) = row?;
                let method = methods.iter().position(|m| m.id == mid);
                let question = questions.iter_mut().find(|q| q.id == qid);
                if let (Some(method), Some(q)) = (method, question) {
                    q.candidates.push(Candidate {
                        id,
                        token,
                        method,
                        image,
                        source,
                    });
                }
            }
            Ok(Survey {
                seed: seed as u64,
                created_at_ms,
                methods,
                questions,
            })
        })
    }

    /// The MIME type and bytes of the image with content hash `sha`, if stored.
    pub fn image(&self, sha: &str) -> Result<Option<(String, Vec<u8>)>, SurveyError> {
        self.read(|c| {
            c.query_row(
                "SELECT mime, bytes FROM images WHERE sha256 = ?1",
                [sha],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        })
    }

    /// Registers a new participant with the seed of their shuffles.
    pub fn add_participant(
        &self,
        id: &str,
        seed: u64,
        user_agent: Option<&str>,
    ) -> Result<(), SurveyError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO participants (id, seed, created_at_ms, user_agent) VALUES (?1, ?2, ?3, ?4)",
                params![id, seed as i64, now_ms(), user_agent],
            )
            .map(|_| ())
        })
    }

    /// Registers a new participant unless `max` are registered already, in one statement (so
    /// concurrent requests cannot overshoot the cap). Returns whether it was added.
    pub fn add_participant_capped(
        &self,
        id: &str,
        seed: u64,
        user_agent: Option<&str>,
        max: u64,
    ) -> Result<bool, SurveyError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO participants (id, seed, created_at_ms, user_agent)
                 SELECT ?1, ?2, ?3, ?4 WHERE (SELECT COUNT(*) FROM participants) < ?5",
                params![
                    id,
                    seed as i64,
                    now_ms(),
                    user_agent,
                    i64::try_from(max).unwrap_or(i64::MAX)
                ],
            )
            .map(|n| n == 1)
        })
    }

    /// The participant's shuffle seed and the ids of the questions they answered, or `None`
    /// when the participant is unknown.
    pub fn participant(&self, id: &str) -> Result<Option<(u64, Vec<i64>)>, SurveyError> {
        self.read(|c| {
            let seed: Option<i64> = c
                .query_row("SELECT seed FROM participants WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?;
            let Some(seed) = seed else { return Ok(None) };
            let answered = c
                .prepare("SELECT question_id FROM answers WHERE participant_id = ?1")?
                .query_map([id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            Ok(Some((seed as u64, answered)))
        })
    }

    /// Stores one answer in its own transaction; a second answer by the same participant to
    /// the same question is refused by the UNIQUE constraint and reported as a duplicate.
    pub fn record_answer(&self, a: &NewAnswer<'_>) -> Result<AnswerOutcome, SurveyError> {
        self.write(|tx| {
            let n = tx.execute(
                "INSERT INTO answers (participant_id, question_id, candidate_id, shown_position, answered_at_ms, ms_on_question)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (participant_id, question_id) DO NOTHING",
                params![
                    a.participant,
                    a.question_id,
                    a.candidate_id,
                    a.shown_position,
                    now_ms(),
                    a.ms_on_question
                ],
            )?;
            Ok(if n == 1 {
                AnswerOutcome::Recorded
            } else {
                AnswerOutcome::Duplicate
            })
        })
    }

    /// Every recorded answer, oldest first, resolved against `survey`.
    pub fn answers(&self, survey: &Survey) -> Result<Vec<AnswerRow>, SurveyError> {
        let raw = self.read(|c| {
            c.prepare(
                "SELECT a.participant_id, q.number, c.method_id, a.shown_position, a.answered_at_ms, a.ms_on_question
                 FROM answers a JOIN questions q ON q.id = a.question_id JOIN candidates c ON c.id = a.candidate_id
                 ORDER BY a.id",
            )?
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, u32>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, u32>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<u32>>(5)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(raw
            .into_iter()
            .filter_map(|(participant, question, mid, shown, at, ms)| {
                Some(AnswerRow {
                    participant,
                    question,
                    method: survey.methods.iter().position(|m| m.id == mid)?,
                    shown_position: shown,
                    answered_at_ms: at,
                    ms_on_question: ms,
                })
            })
            .collect())
    }

    /// Number of registered participants.
    pub fn participant_count(&self) -> Result<u64, SurveyError> {
        self.read(|c| {
            c.query_row("SELECT COUNT(*) FROM participants", [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .map(|n| n.max(0) as u64)
    }
}

/// The fields of a SQLite file's 100-byte header that say whose file it is.
struct Header {
    application_id: i64,
    user_version: i64,
    schema_cookie: u32,
}

/// Reads the header of the SQLite file at `path` as plain bytes, so that nothing about the
/// file changes (no journal, no WAL switch).
fn read_header(path: &Path) -> Result<Header, SurveyError> {
    use std::io::Read;
    let mut bytes = [0u8; 100];
    let not_sqlite = || SurveyError::Input {
        path: path.to_path_buf(),
        message: "not a SQLite file; pass a file made by `toongan survey create`".into(),
    };
    let mut file = std::fs::File::open(path).map_err(|e| SurveyError::Input {
        path: path.to_path_buf(),
        message: format!("cannot open: {e}"),
    })?;
    file.read_exact(&mut bytes).map_err(|_| not_sqlite())?;
    if &bytes[..16] != b"SQLite format 3\0" {
        return Err(not_sqlite());
    }
    let be =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Ok(Header {
        schema_cookie: be(40),
        user_version: i64::from(be(60) as i32),
        application_id: i64::from(be(68) as i32),
    })
}

/// Refuses an existing, non-empty SQLite file that is not a toongan survey (another
/// application id, or a schema of its own), reading only its header so nothing changes.
fn refuse_foreign(path: &Path) -> Result<(), SurveyError> {
    if std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) == 0 {
        return Ok(());
    }
    let h = read_header(path)?;
    let empty = h.application_id == 0 && h.user_version == 0 && h.schema_cookie == 0;
    if h.application_id != APPLICATION_ID && !empty {
        return Err(SurveyError::NotASurvey {
            path: path.to_path_buf(),
            found: h.application_id,
        });
    }
    Ok(())
}

/// Opens one connection with the pragmas every connection needs.
fn open_connection(path: &Path, create: bool) -> Result<Connection, SurveyError> {
    let err = |source| SurveyError::Db {
        path: path.to_path_buf(),
        source,
    };
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags).map_err(err)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(SurveyError::Input {
            path: path.to_path_buf(),
            message: format!(
                "SQLite could not switch to WAL mode (got {mode}); put the survey on a local disk"
            ),
        });
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .map_err(err)?;
    Ok(conn)
}

/// Locks a mutex, recovering from poisoning: a panicked holder cannot leave a SQLite
/// connection half-updated (transactions roll back on drop).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
