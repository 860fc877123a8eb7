//! Where the model file is: an explicit path, `ACCORD_MODEL`, or the default model in
//! the workspace's `models/` folder (filled by `scripts/fetch-models.sh`).

use std::path::{Path, PathBuf};

/// Environment variable naming the model file to use.
pub const MODEL_ENV: &str = "ACCORD_MODEL";

/// The model files `scripts/fetch-models.sh` installs, best default first: the quality
/// default (Qwen2.5-Coder-0.5B), then the small test model.
pub const KNOWN_MODELS: &[KnownModel] = &[
    KnownModel {
        key: "qwen05",
        file: "Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf",
        sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    },
    KnownModel {
        key: "smollm2",
        file: "SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    },
    KnownModel {
        key: "qwen15",
        file: "Qwen2.5-Coder-1.5B-Instruct.gguf",
        sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    },
];

/// A model `scripts/fetch-models.sh` knows how to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownModel {
    /// The script's argument (`smollm2`, `qwen05`, `qwen15`).
    pub key: &'static str,
    /// File name under `models/`.
    pub file: &'static str,
    /// Expected sha256 of the file.
    pub sha256: &'static str,
}

impl KnownModel {
    /// The known model with script argument `key`.
    pub fn by_key(key: &str) -> Option<&'static KnownModel> {
        KNOWN_MODELS.iter().find(|m| m.key == key)
    }

    /// The known model stored under `path`'s file name, if any (to look up its checksum).
    pub fn by_path(path: &Path) -> Option<&'static KnownModel> {
        let name = path.file_name()?.to_str()?;
        KNOWN_MODELS.iter().find(|m| m.file == name)
    }
}

/// The workspace's `models/` folder, found by walking up from the current directory and
/// from this crate's source directory to the folder holding `Cargo.lock`.
pub fn models_dir() -> Option<PathBuf> {
    let starts = [
        std::env::current_dir().ok(),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
    ];
    for start in starts.into_iter().flatten() {
        for dir in start.ancestors() {
            if dir.join("Cargo.lock").is_file() {
                return Some(dir.join("models"));
            }
        }
    }
    None
}

/// The model to use when none is named: `ACCORD_MODEL` if set, else the first known
/// model present in `models/` (the quality default before the small test model).
pub fn default_model_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(MODEL_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let dir = models_dir()?;
    KNOWN_MODELS
        .iter()
        .map(|m| dir.join(m.file))
        .find(|p| p.is_file())
}

/// The path of a known model under `models/` by its script key, whether or not it is
/// present, so a caller can say exactly what is missing and how to fetch it.
pub fn known_model_path(key: &str) -> Option<PathBuf> {
    Some(models_dir()?.join(KnownModel::by_key(key)?.file))
}
