//! The core's error type: one enum, with the cause kept, mapped once to the public error
//! of the FFI layer and to CLI exit codes.

use std::path::PathBuf;

/// Everything that can go wrong in the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite failed.
    #[error("local database error: {0}")]
    Sqlite(#[from] rusqlite::Error),

    /// The database was written by a newer version of Accord.
    #[error(
        "the local database {path} has schema version {found}, newer than this build supports \
         ({supported}); update the app or library instead of downgrading"
    )]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// Its schema version.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },

    /// A file could not be read, written or moved.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },

    /// A stored or given value is not valid JSON of the expected shape.
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),

    /// The caller passed something unusable (empty id, a record that is not an object,
    /// a sync without a server configured, ...).
    #[error("{0}")]
    InvalidInput(String),

    /// The work was interrupted through an [`crate::interrupt::InterruptHandle`].
    #[error("interrupted")]
    Interrupted,

    /// The Accord instance was shut down.
    #[error("this Accord instance is closed")]
    Closed,
}

impl Error {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidInput(message.into())
    }

    /// True when the disk is full (SQLITE_FULL or ENOSPC): nothing was written, and the
    /// app should tell the user to free space.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Error::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.code == rusqlite::ErrorCode::DiskFull
            }
            Error::Io { source, .. } => source.raw_os_error() == Some(28),
            _ => false,
        }
    }
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
