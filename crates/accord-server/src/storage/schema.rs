//! The server schema's history, one description for both databases: numbered
//! migrations, each with its SQL for SQLite and for PostgreSQL, brought to bear by one
//! function, [`upgrade`], over what each database must provide ([`SchemaStore`]).
//!
//! Each database runs [`upgrade`] inside one write transaction of its own, so a crash or
//! a second server starting at the same time leaves the schema at the old version or the
//! new, never between. A database newer than this build is refused rather than guessed
//! at. The SQL texts stay beside the code that reads those tables.

use super::{postgres, sqlite, StorageError};

/// One step of the schema: what takes a database from `version - 1` to `version`.
pub(super) struct Migration {
    /// The version this step brings the database to.
    pub(super) version: i64,
    /// The step for SQLite, one batch.
    pub(super) sqlite: &'static str,
    /// The step for PostgreSQL, statement by statement; idempotent (`IF NOT EXISTS`),
    /// since two servers may start at once.
    pub(super) postgres: &'static [&'static str],
}

/// Every step, oldest first, numbered 1, 2, ... without gaps.
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: sqlite::SCHEMA_V1,
        postgres: postgres::SCHEMA_V1,
    },
    Migration {
        version: 2,
        sqlite: sqlite::SCHEMA_V2,
        postgres: postgres::SCHEMA_V2,
    },
    Migration {
        version: 3,
        sqlite: sqlite::SCHEMA_V3,
        postgres: postgres::SCHEMA_V3,
    },
];

/// The schema version this build writes: the last step's.
pub(super) const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// A database inside the transaction that upgrades it.
pub(super) trait SchemaStore {
    /// The database's failure; a refusal of [`upgrade`]'s own becomes one.
    type Error: From<StorageError>;

    /// The version the database is at: 0 for a new one.
    fn version(&mut self) -> Result<i64, Self::Error>;

    /// Runs this database's SQL of `step`.
    fn run(&mut self, step: &Migration) -> Result<(), Self::Error>;

    /// Records that the database is at `version` now.
    fn set_version(&mut self, version: i64) -> Result<(), Self::Error>;
}

/// Brings `db` to [`SCHEMA_VERSION`], running each step it has not had, in order.
/// Refuses a database whose version is newer than this build's; `what` names it in
/// that message.
pub(super) fn upgrade<S: SchemaStore>(db: &mut S, what: &str) -> Result<(), S::Error> {
    let found = db.version()?;
    if found > SCHEMA_VERSION {
        return Err(StorageError::Database(format!(
            "{what} has server schema version {found}, newer than this build ({SCHEMA_VERSION}); upgrade accord"
        ))
        .into());
    }
    for step in MIGRATIONS.iter().filter(|m| m.version > found) {
        db.run(step)?;
    }
    if found < SCHEMA_VERSION {
        db.set_version(SCHEMA_VERSION)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database that only remembers what was done to it.
    struct Recorded {
        version: i64,
        ran: Vec<i64>,
    }

    impl SchemaStore for Recorded {
        type Error = StorageError;
        fn version(&mut self) -> Result<i64, StorageError> {
            Ok(self.version)
        }
        fn run(&mut self, step: &Migration) -> Result<(), StorageError> {
            self.ran.push(step.version);
            Ok(())
        }
        fn set_version(&mut self, version: i64) -> Result<(), StorageError> {
            self.version = version;
            Ok(())
        }
    }

    #[test]
    fn steps_are_numbered_from_one_without_gaps() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
        }
    }

    #[test]
    fn a_new_database_gets_every_step_in_order() {
        let mut db = Recorded {
            version: 0,
            ran: vec![],
        };
        upgrade(&mut db, "test").unwrap();
        assert_eq!(db.ran, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
        assert_eq!(db.version, SCHEMA_VERSION);
    }

    #[test]
    fn an_old_database_gets_only_the_steps_after_its_version() {
        let mut db = Recorded {
            version: 1,
            ran: vec![],
        };
        upgrade(&mut db, "test").unwrap();
        assert_eq!(db.ran, (2..=SCHEMA_VERSION).collect::<Vec<_>>());
    }

    #[test]
    fn a_current_database_is_left_alone() {
        let mut db = Recorded {
            version: SCHEMA_VERSION,
            ran: vec![],
        };
        upgrade(&mut db, "test").unwrap();
        assert!(db.ran.is_empty());
    }

    #[test]
    fn a_database_newer_than_this_build_is_refused() {
        let mut db = Recorded {
            version: SCHEMA_VERSION + 1,
            ran: vec![],
        };
        let err = upgrade(&mut db, "test.db").unwrap_err().to_string();
        assert!(err.contains("test.db has server schema version"), "{err}");
        assert!(db.ran.is_empty());
    }
}
