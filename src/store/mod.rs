//! The SQLite store: the only module that speaks SQL.
//!
//! [`Store`] owns a connection and its settings; [`Sql`] is a typed view of that connection (or of
//! a write transaction on it) that the rest of the program calls instead of writing queries.

mod comments;
mod queries;
mod report;
mod routing;
mod views;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use comments::*;
pub use queries::*;
pub use report::*;
pub use routing::*;
pub use views::*;

/// Schema versions in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("schema_v1.sql"),
    include_str!("schema_v2.sql"),
    include_str!("schema_v3.sql"),
    include_str!("schema_v4.sql"),
    include_str!("schema_v5.sql"),
    include_str!("schema_v6.sql"),
];

/// Errors from the store: SQLite's own, or a database we cannot use.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create {path}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} was written by a newer tix (schema version {found}, this tix knows {known}); upgrade tix"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An open database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    ///
    /// The folder and file are made readable by the owner only: they hold customers' messages.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        let existed = path.exists();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        if !existed {
            restrict_to_owner(path).map_err(|source| StoreError::Create {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// A private in-memory database, for tests and dry runs.
    pub fn open_in_memory() -> Result<Store> {
        let mut store = Store {
            conn: Connection::open_in_memory()?,
            path: PathBuf::from(":memory:"),
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Caps this connection's page cache. Bulk writers want the default 64 MB; the inbox reads
    /// one page of rows at a time and keeps its memory small with a few megabytes.
    pub fn set_cache_mib(&self, mib: u32) -> Result<()> {
        self.conn
            .pragma_update(None, "cache_size", -(i64::from(mib) * 1024))?;
        Ok(())
    }

    fn configure(&mut self) -> Result<()> {
        // WAL lets readers (another agent's tix, the UI's reader) go on while one writer writes;
        // NORMAL sync is safe under WAL; the 64 MB cache keeps ticket and index pages hot.
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        self.conn.pragma_update(None, "cache_size", -65_536)?;
        self.conn.pragma_update(None, "temp_store", "MEMORY")?;
        self.conn.busy_timeout(Duration::from_secs(10))?;
        self.conn.set_prepared_statement_cache_capacity(64);
        // Checkpoint every 64 MB of WAL rather than SQLite's 4 MB: index pages rewritten batch
        // after batch are copied back once instead of many times (imports run much faster).
        self.conn
            .pragma_update(None, "wal_autocheckpoint", 16_384)?;
        Ok(())
    }

    fn migrate(&mut self) -> Result<()> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found: version,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Read-only queries on the current state.
    pub fn read(&self) -> Sql<'_> {
        Sql { conn: &self.conn }
    }

    /// Runs `work` in one write transaction, committed only if it returns `Ok`.
    ///
    /// `BEGIN IMMEDIATE` takes the write lock up front, so two processes never deadlock upgrading
    /// a read lock; the busy timeout makes the second one wait its turn.
    pub fn write<T, E>(&mut self, work: impl FnOnce(&Sql<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let out = work(&Sql { conn: &tx })?;
        tx.commit().map_err(StoreError::from)?;
        Ok(out)
    }

    /// Runs `work` in a write transaction that is always rolled back: what-if runs such as
    /// `tix rules test` use the real code paths and leave the database as it was.
    pub fn dry_run<T, E>(&mut self, work: impl FnOnce(&Sql<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let out = work(&Sql { conn: &tx });
        tx.rollback().map_err(StoreError::from)?;
        out
    }

    /// Rows this connection has changed since it opened (see [`Sql::write_mark`]).
    pub fn changes_made(&self) -> u64 {
        self.conn.total_changes()
    }

    /// A counter that changes whenever another connection commits: cheap polling for live views.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "data_version", |r| r.get(0))?)
    }
}

fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let made = {
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
        }
        #[cfg(not(unix))]
        {
            std::fs::create_dir_all(dir)
        }
    };
    made.map_err(|source| StoreError::Create {
        path: dir.to_path_buf(),
        source,
    })
}

fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_database_is_private_and_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/tix.db");
        let store = Store::open(&path).unwrap();
        let v: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let dmode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dmode & 0o777, 0o700);
        }
        drop(store);
        // Opening again runs no migration twice.
        Store::open(&path).unwrap();
    }

    #[test]
    fn open_queue_page_walks_its_partial_index_without_sorting() {
        let store = Store::open_in_memory().unwrap();
        let plan = store.read().explain_open_queue_page().unwrap();
        assert!(
            plan.iter()
                .any(|l| l.contains("USING INDEX tickets_open_queue")),
            "{plan:#?}"
        );
        assert!(!plan.iter().any(|l| l.contains("TEMP B-TREE")), "{plan:#?}");
        assert!(
            !plan
                .iter()
                .any(|l| l.starts_with("SCAN") && !l.contains("tickets_open_queue")),
            "{plan:#?}"
        );
    }

    #[test]
    fn version_one_database_gains_routing_tables_and_counts_its_replies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        let conn = database_at(&path, 1);
        conn.execute_batch(ONE_CONVERSATION).unwrap();
        conn.execute_batch(
            "INSERT INTO tickets (id, conversation_id, status, created_at, created_by, updated_at,
                 message_count) VALUES (1, 1, 'open', 0, 'customer', 0, 3);
             INSERT INTO messages (account_id, external_id, conversation_id, ticket_id, direction,
                 kind, body, sent_at) VALUES
                 (1, 'a', 1, 1, 'in', 'text', 'hi', 1),
                 (1, 'b', 1, 1, 'out', 'text', 'hello', 2),
                 (1, 'c', 1, 1, 'out', 'text', 'anything else?', 3);
             INSERT INTO messages_fts (rowid, body) SELECT id, body FROM messages;",
        )
        .unwrap();
        drop(conn);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.read().agent_replies(1).unwrap(), 2);
        assert_eq!(store.read().rotation_pointers().unwrap().len(), 0);
        assert_eq!(
            store.read().invariant_violations().unwrap(),
            Vec::<String>::new()
        );
    }

    /// Account 1, contact 1 and their conversation 1, in any schema version.
    const ONE_CONVERSATION: &str =
        "INSERT INTO channel_accounts (id, kind, name) VALUES (1, 'line', 'line');
         INSERT INTO contacts (id, name, created_at) VALUES (1, 'U1', 0);
         INSERT INTO conversations (id, account_id, external_id, contact_id, created_at)
             VALUES (1, 1, 'U1', 1, 0);";

    /// A database file as a tix of schema `version` left it, empty.
    fn database_at(path: &Path, version: usize) -> Connection {
        let conn = Connection::open(path).unwrap();
        for sql in &MIGRATIONS[..version] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", version as i64)
            .unwrap();
        conn
    }

    fn first_column(conn: &Connection, sql: &str) -> Vec<String> {
        conn.prepare(sql)
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// Every row of the tables version 6 rebuilds, in a comparable form.
    fn rebuilt_rows(conn: &Connection) -> Vec<String> {
        let mut out = Vec::new();
        for sql in [
            "SELECT id, ticket_id, kind, actor_kind, actor, at, payload, action_id, via FROM events",
            "SELECT ticket_id, label, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM ticket_labels",
            "SELECT ticket_id, name, value, NULL, NULL, NULL, NULL, NULL, NULL FROM ticket_fields",
            "SELECT ticket_id, rule, at, NULL, NULL, NULL, NULL, NULL, NULL FROM rule_fired",
        ] {
            let mut stmt = conn.prepare(sql).unwrap();
            let rows = stmt
                .query_map([], |r| {
                    Ok((0..9)
                        .map(|i| format!("{:?}", r.get::<_, rusqlite::types::Value>(i).unwrap()))
                        .collect::<Vec<_>>()
                        .join("|"))
                })
                .unwrap();
            out.extend(rows.map(Result::unwrap));
        }
        out
    }

    #[test]
    fn version_five_database_keeps_its_journal_labels_fields_and_firings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v5.db");
        let conn = database_at(&path, 5);
        conn.execute_batch(ONE_CONVERSATION).unwrap();
        conn.execute_batch(
            "INSERT INTO tickets (id, conversation_id, status, created_at, created_by, updated_at)
                 VALUES (7, 1, 'open', 0, 'customer', 0);
             INSERT INTO actions (id, agent, at, summary, state) VALUES (3, 'alice', 5, 'x', 'done');
             INSERT INTO events (id, ticket_id, kind, actor_kind, actor, at, payload, action_id, via)
                 VALUES (10, 7, 'created', 'customer', NULL, 1, '{}', NULL, NULL),
                        (12, 7, 'labelled', 'agent', 'alice', 5, '{\"label\":\"vip\"}', 3, NULL),
                        (13, 7, 'unlabelled', 'agent', 'alice', 6, '{}', NULL, 'undo');
             INSERT INTO ticket_labels (ticket_id, label) VALUES (7, 'vip'), (7, 'refund');
             INSERT INTO ticket_fields (ticket_id, name, value) VALUES (7, 'priority', 'high');
             INSERT INTO rule_fired (ticket_id, rule, at) VALUES (7, 'Chase', 9);",
        )
        .unwrap();
        let before = rebuilt_rows(&conn);
        drop(conn);
        let store = Store::open(&path).unwrap();
        assert_eq!(rebuilt_rows(&store.conn), before);
        assert_eq!(before.len(), 7);
        let indexes = first_column(
            &store.conn,
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'
             ORDER BY name",
        );
        assert_eq!(
            indexes,
            ["events_by_action", "events_by_ticket", "events_by_time"]
        );
        assert_eq!(
            store.read().invariant_violations().unwrap(),
            Vec::<String>::new()
        );
    }

    /// A multi-row statement that may stop half-way needs a statement journal (version 6): the
    /// tables the arrival path writes in bulk keep no foreign keys.
    #[test]
    fn tables_written_in_bulk_keep_no_foreign_keys() {
        let store = Store::open_in_memory().unwrap();
        for table in ["events", "ticket_labels", "ticket_fields", "rule_fired"] {
            let keys: i64 = store
                .conn
                .query_row(
                    "SELECT count(*) FROM pragma_foreign_key_list(?1)",
                    [table],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(keys, 0, "{table}");
        }
    }

    #[test]
    fn rows_naming_a_ticket_or_action_that_does_not_exist_break_an_invariant() {
        let mut store = Store::open_in_memory().unwrap();
        let ghost = 404;
        store
            .write(|sql| {
                sql.insert_labels(&[(ghost, "vip")])?;
                sql.insert_fields(&[(ghost, "priority", "high")])?;
                sql.record_rules_fired(&[(ghost, "Chase", 1)])?;
                let actor = crate::domain::Actor::System;
                // More lines than one multi-row statement holds.
                let lines: Vec<NewEvent<'_>> = (0..40)
                    .map(|at| NewEvent {
                        ticket: Some(ghost),
                        kind: "labelled",
                        actor: &actor,
                        at,
                        payload: "{}",
                        action_id: (at == 0).then_some(7),
                        via: None,
                    })
                    .collect();
                sql.append_events(&lines)
            })
            .unwrap();
        assert_eq!(
            store.read().invariant_violations().unwrap(),
            [
                "journal lines, labels, fields or rule firings of a ticket that does not exist: 43",
                "journal lines of an agent action that does not exist: 1",
            ]
        );
    }

    /// `.cargo/config.toml` builds SQLite without the process-wide mutexes its memory
    /// statistics and shared page cache take on every allocation and page.
    #[test]
    fn sqlite_is_built_without_global_mutexes_on_its_hot_paths() {
        let store = Store::open_in_memory().unwrap();
        let options = first_column(&store.conn, "PRAGMA compile_options");
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
    }

    #[test]
    fn refuses_a_database_from_a_newer_tix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tix.db");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = Store::open(&path).err().unwrap();
        assert!(err.to_string().contains("newer tix"), "{err}");
    }
}
