//! The public error of the FFI surface and its one mapping from the core's error.
//!
//! [`AccordError`] crosses as a *flat* error: Kotlin gets one exception class per
//! variant whose `message` is the Display text below. (A non-flat enum reaches Kotlin
//! with `message` rewritten as `field=value`, and a field named `message` does not
//! compile there: it collides with `Throwable.message`.) Callbacks, whose errors travel
//! the other way and must be read back, use the non-flat [`CallbackError`].

use accord::Error as CoreError;

/// What can go wrong in a call. Kotlin sees it as `AccordException` with one subclass
/// per variant; `message` says what happened and what to do.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum AccordError {
    /// The caller passed something unusable: JSON that does not parse or is not an
    /// object, an empty id, a negative limit.
    #[error("{message}")]
    InvalidInput { message: String },
    /// The local database failed (SQLite or file system). Nothing half-written stays.
    #[error("{message}")]
    Database { message: String },
    /// The disk is full: nothing was written; the app should ask the user to free space.
    #[error("{message}")]
    DiskFull { message: String },
    /// The database was written by a newer version of Accord; update, do not downgrade.
    #[error("{message}")]
    SchemaTooNew { message: String },
    /// The work was interrupted through `interrupt()`.
    #[error("{message}")]
    Interrupted { message: String },
    /// The instance was shut down; open a new one.
    #[error("{message}")]
    Closed { message: String },
}

impl AccordError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        AccordError::InvalidInput {
            message: message.into(),
        }
    }
}

impl From<CoreError> for AccordError {
    fn from(e: CoreError) -> Self {
        let message = e.to_string();
        if e.is_disk_full() {
            return AccordError::DiskFull { message };
        }
        match e {
            CoreError::InvalidInput(_) | CoreError::Json(_) => {
                AccordError::InvalidInput { message }
            }
            CoreError::SchemaTooNew { .. } => AccordError::SchemaTooNew { message },
            CoreError::Interrupted => AccordError::Interrupted { message },
            CoreError::Closed => AccordError::Closed { message },
            CoreError::Sqlite(_) | CoreError::Io { .. } => AccordError::Database { message },
        }
    }
}

impl From<serde_json::Error> for AccordError {
    fn from(e: serde_json::Error) -> Self {
        AccordError::invalid(format!("invalid JSON: {e}"))
    }
}

/// What a foreign callback (observer, progress listener) may return as its error.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum CallbackError {
    /// The callback failed.
    #[error("{reason}")]
    Failed { reason: String },
}

/// A callback that threw an exception it did not declare arrives here instead of
/// panicking inside Rust.
impl From<uniffi::UnexpectedUniFFICallbackError> for CallbackError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        CallbackError::Failed {
            reason: format!("a callback failed: {}", e.reason),
        }
    }
}

/// The result type of every fallible call.
pub type Result<T, E = AccordError> = std::result::Result<T, E>;
