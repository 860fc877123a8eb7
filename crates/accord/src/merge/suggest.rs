//! The suggestion for a flagged hunk: the resolution a person most likely wants, which an
//! app can apply in one call. The merged text itself keeps both sides (nothing is lost
//! until a person agrees); the suggestion may drop one side's rival rewrite.
//!
//! Built from the word merge of the hunk ([`super::words`]):
//! 1. Where the two sides' edits only sit side by side (neighbouring words, or additions
//!    at one place), both are applied at their places, this device's first where both
//!    added at one point. The order of two additions has no signal in the text
//!    (measured on merge-dev: the repository's history, commit times and merge direction
//!    all predict it worse than "this device first"), so it is not guessed.
//! 2. Where both rewrote the same words, the version of the side that changed more words
//!    (this device's on a tie): a larger rewrite is more often the deliberate one, and a
//!    small fix inside a rewritten passage usually no longer applies.

use super::decision::{Suggestion, SuggestionReason};
use super::hunk::{keep_both, ConflictHunk};
use super::words::{merge_words, WordMerge};

/// The structural suggestion for `hunk`; `words` is its word merge when one was made.
pub(crate) fn structural(hunk: &ConflictHunk<'_>, words: Option<&WordMerge>) -> Suggestion {
    let owned;
    let words = match words {
        Some(w) => Some(w),
        None => {
            owned = merge_words(hunk.base, hunk.local, hunk.remote);
            owned.as_ref()
        }
    };
    let Some(words) = words else {
        // Too long to merge word by word: both sides, as the merge itself keeps them.
        return Suggestion {
            text: keep_both(hunk.local, hunk.remote),
            reason: SuggestionReason::Candidate {
                kind: "local+remote".to_string(),
            },
        };
    };
    let mut rewritten = None;
    let text = words.resolved(|c| match &c.composed {
        Some(t) => t.clone(),
        None => {
            let side = c.larger_edit();
            rewritten.get_or_insert(side);
            match side {
                super::decision::Side::Local => c.local.clone(),
                super::decision::Side::Remote => c.remote.clone(),
            }
        }
    });
    let reason = match rewritten {
        Some(side) => SuggestionReason::LargerEdit { side },
        None => SuggestionReason::Composed,
    };
    Suggestion { text, reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::decision::Side;

    fn hunk<'a>(base: &'a str, local: &'a str, remote: &'a str) -> ConflictHunk<'a> {
        ConflictHunk {
            before: "",
            base,
            local,
            remote,
            after: "",
        }
    }

    #[test]
    fn neighbouring_word_edits_are_suggested_together() {
        let s = structural(
            &hunk(
                "Meet Bob at 10am\n",
                "Meet Bob at 11am\n",
                "Meet Bob at 10am in room 4\n",
            ),
            None,
        );
        assert_eq!(s.text, "Meet Bob at 11am in room 4\n");
        assert_eq!(s.reason, SuggestionReason::Composed);
    }

    #[test]
    fn rival_rewrites_suggest_the_larger_edit() {
        let s = structural(
            &hunk(
                "The meeting is on Monday.\n",
                "The meeting is on Tuesday.\n",
                "The meeting is on a Friday afternoon.\n",
            ),
            None,
        );
        assert_eq!(s.text, "The meeting is on a Friday afternoon.\n");
        assert_eq!(
            s.reason,
            SuggestionReason::LargerEdit { side: Side::Remote }
        );
    }

    #[test]
    fn additions_at_one_place_are_suggested_this_device_first() {
        let s = structural(
            &hunk("## 1.0\n", "## 1.2\n## 1.0\n", "## 1.1\n## 1.0\n"),
            None,
        );
        assert_eq!(s.text, "## 1.2\n## 1.1\n## 1.0\n");
        assert_eq!(s.reason, SuggestionReason::Composed);
    }
}
