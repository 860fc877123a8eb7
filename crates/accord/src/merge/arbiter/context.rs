//! What the model is shown: the document around a hunk, cut to whole lines, and the
//! prompts every model method builds on.

use crate::merge::hunk::ConflictHunk;

/// The last `n` lines of `text`, from the earliest of them that keeps the tail within
/// `max_chars` (empty when even the last line is longer).
pub(super) fn lines_tail(text: &str, n: usize, max_chars: usize) -> &str {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let starts: Vec<usize> = std::iter::once(0)
        .chain(body.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let from = starts.len().saturating_sub(n);
    starts[from..]
        .iter()
        .find(|&&s| text.len() - s <= max_chars)
        .map_or("", |&s| &text[s..])
}

/// The first `n` lines of `text`, as many as fit in `max_chars`.
pub(super) fn lines_head(text: &str, n: usize, max_chars: usize) -> &str {
    let mut end = 0;
    for (k, piece) in text.split_inclusive('\n').enumerate() {
        if k >= n || end + piece.len() > max_chars {
            break;
        }
        end += piece.len();
    }
    &text[..end]
}

/// Labels of the candidates in a choice prompt.
pub(super) const LABELS: [&str; 8] = ["A", "B", "C", "D", "E", "F", "G", "H"];

/// `text` between code fences, so the model sees where it starts and ends.
pub(super) fn fenced(text: &str) -> String {
    let nl = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    format!("```\n{text}{nl}```\n")
}

/// The part of a prompt every model method shares: the text before the hunk, the base
/// and both sides.
pub(super) fn describe_hunk(before: &str, hunk: &ConflictHunk<'_>) -> String {
    format!(
        "Two people edited the same passage of a text file.\n\nThe text just before the \
         passage:\n{}\nThe passage as it was:\n{}\nThe passage as person 1 left it:\n{}\n\
         The passage as person 2 left it:\n{}",
        fenced(before),
        fenced(hunk.base),
        fenced(hunk.local),
        fenced(hunk.remote)
    )
}
