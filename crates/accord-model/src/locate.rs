//! The model files `scripts/fetch-models.sh` installs, with their checksums.
//!
//! This crate never looks for a model on its own: the caller names the file (an app's
//! config, the `accord` command's `--model` / `ACCORD_MODEL` / models folder). These
//! helpers only say which files the fetch script puts in a folder the caller chose.

use std::path::{Path, PathBuf};

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

    /// Where this model is in `dir`, whether or not it is there (so a caller can say
    /// exactly what is missing and how to fetch it).
    pub fn path_in(&self, dir: &Path) -> PathBuf {
        dir.join(self.file)
    }

    /// The first known model present in `dir`, best default first (the quality default
    /// before the small test model).
    pub fn first_in(dir: &Path) -> Option<PathBuf> {
        KNOWN_MODELS
            .iter()
            .map(|m| m.path_in(dir))
            .find(|p| p.is_file())
    }
}
