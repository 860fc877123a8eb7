//! Device log capture, template mining and the report uploaded at sync.
