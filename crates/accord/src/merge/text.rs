//! Three-way text merge. (Interim: trivial cases and keep-both only; the diff3 pipeline
//! replaces this.)

use super::arbiter::Arbiter;
use super::record::Step;

/// The result of merging a text field.
#[derive(Debug, Clone, PartialEq)]
pub struct TextMerge {
    /// The merged text.
    pub text: String,
    /// The step that decided it.
    pub step: Step,
    /// True when both sides were kept (or the arbiter's choice needs a person).
    pub needs_review: bool,
}

/// Merges `local` and `remote`, both edited from `base`.
pub fn merge_text(
    base: &str,
    local: &str,
    remote: &str,
    _arbiter: Option<&dyn Arbiter>,
) -> TextMerge {
    if local == remote || remote == base {
        return TextMerge {
            text: local.to_string(),
            step: Step::TookLocal,
            needs_review: false,
        };
    }
    if local == base {
        return TextMerge {
            text: remote.to_string(),
            step: Step::TookRemote,
            needs_review: false,
        };
    }
    let mut text = local.to_string();
    if !text.ends_with('\n') && !text.is_empty() {
        text.push('\n');
    }
    text.push_str(remote);
    TextMerge {
        text,
        step: Step::KeepBoth,
        needs_review: true,
    }
}
