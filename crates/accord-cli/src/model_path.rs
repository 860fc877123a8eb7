//! Which model file the `accord` command uses when none is named with `--model`:
//! `$ACCORD_MODEL`, else the first model `scripts/fetch-models.sh` put in the models
//! folder, which is `$ACCORD_MODELS_DIR`, else `models/` in the current directory (the
//! checkout's, when run from its root as `make` does).

use std::path::PathBuf;

use accord_model::KnownModel;

/// Environment variable naming the model file to use.
pub const MODEL_ENV: &str = "ACCORD_MODEL";

/// Environment variable naming the folder the fetch script filled.
pub const MODELS_DIR_ENV: &str = "ACCORD_MODELS_DIR";

/// The models folder: `$ACCORD_MODELS_DIR`, else `models/` here.
pub fn models_dir() -> PathBuf {
    std::env::var_os(MODELS_DIR_ENV)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("models"))
}

/// The model to use when none is named: `$ACCORD_MODEL` if set, else the first known
/// model present in the models folder (the quality default before the small test model).
pub fn default_model_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(MODEL_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    KnownModel::first_in(&models_dir())
}
