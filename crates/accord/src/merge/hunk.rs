//! A conflicting hunk and the line helpers every merge step shares. The lowest floor of
//! the merge module: it imports nothing from its siblings.

/// One hunk both sides changed in overlapping ways, with its surroundings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictHunk<'a> {
    /// The merged text before the hunk (context).
    pub before: &'a str,
    /// The hunk in the common ancestor.
    pub base: &'a str,
    /// The hunk on this device.
    pub local: &'a str,
    /// The hunk on the other device.
    pub remote: &'a str,
    /// The text after the hunk (context).
    pub after: &'a str,
}

/// The lines of `text` without their terminators (`""` has none, `"\n"` one empty line).
pub(crate) fn lines(text: &str) -> Vec<&str> {
    if text.is_empty() {
        return Vec::new();
    }
    text.strip_suffix('\n')
        .unwrap_or(text)
        .split('\n')
        .collect()
}

/// Lines with their terminators, so joining them gives the text back exactly.
pub(crate) fn lines_inclusive(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// Both sides of a hunk, local first, each ending in a line break so the two never run
/// together.
pub(crate) fn keep_both(local: &str, remote: &str) -> String {
    let mut text = String::with_capacity(local.len() + remote.len() + 1);
    text.push_str(local);
    if !text.is_empty() && !text.ends_with('\n') && !remote.is_empty() {
        text.push('\n');
    }
    text.push_str(remote);
    text
}
