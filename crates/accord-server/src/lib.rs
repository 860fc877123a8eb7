//! The reference sync server.
