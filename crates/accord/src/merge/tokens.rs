//! The one tokenizer of the merge: how text is cut into words for word-level merging,
//! for the candidates' check and for the edit-level no-loss measure.
//!
//! Tokens are Unicode word boundaries (UAX #29): a word (`it's`, `3.14`, `10am`, one
//! CJK ideograph, a Katakana run, an emoji with its modifiers and joiners), a run of
//! horizontal white space, a line break, or a single mark of punctuation. Joining the
//! tokens gives the text back byte for byte, so a merge built from tokens loses nothing.
//!
//! What separates two edits: an unchanged stretch between them separates them only if it
//! holds a [`TokenKind::Word`] or a [`TokenKind::LineBreak`]. Spaces and punctuation alone
//! do not: `Bob, Alice` edited to `Robert, Alice` and `Bob, Carol` are two edits of
//! neighbouring words, and they conflict.

use unicode_segmentation::UnicodeSegmentation;

/// What a token is, for deciding whether unchanged text between two edits separates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// Letters, digits, ideographs, emoji: something a person wrote as content.
    Word,
    /// A run of horizontal white space.
    Space,
    /// A line break (`\n`, `\r\n`, `\r`, U+2028, U+2029).
    LineBreak,
    /// Punctuation and other marks.
    Mark,
}

/// The tokens of `text`; `tokens(t).concat() == t`.
pub(crate) fn tokens(text: &str) -> Vec<&str> {
    text.split_word_bounds().collect()
}

/// The kind of one token from [`tokens`].
pub(crate) fn kind(token: &str) -> TokenKind {
    if token
        .chars()
        .any(|c| matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}'))
    {
        TokenKind::LineBreak
    } else if token.chars().any(is_content) {
        TokenKind::Word
    } else if token.chars().all(char::is_whitespace) {
        TokenKind::Space
    } else {
        TokenKind::Mark
    }
}

/// True for a token that separates two edits when it stands unchanged between them.
pub(crate) fn separates(token: &str) -> bool {
    matches!(kind(token), TokenKind::Word | TokenKind::LineBreak)
}

/// True for a token that carries content (a word), as opposed to spacing and marks.
pub(crate) fn is_word(token: &str) -> bool {
    kind(token) == TokenKind::Word
}

/// Letters and digits of every script, and pictographs (emoji and other symbols people
/// write as words).
fn is_content(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(c as u32,
            0x2600..=0x27BF      // miscellaneous symbols, dingbats (☀, ✓, ❤)
            | 0x2B00..=0x2BFF    // arrows and stars (⭐)
            | 0x1F000..=0x1FAFF  // emoji, flags (regional indicators), pictographs
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_rejoin_to_the_text() {
        for t in [
            "Hello, wörld!  It's 3.14 -- ok\n\tnext_line",
            "会議は月曜日です。\r\n明日",
            "I ❤️ 👩‍👩‍👧 and 🇫🇷!",
            "",
        ] {
            assert_eq!(tokens(t).concat(), t);
        }
    }

    #[test]
    fn words_keep_apostrophes_numbers_and_units_whole() {
        let t = tokens("It's 10am, 3.14 km");
        assert!(t.contains(&"It's") && t.contains(&"10am") && t.contains(&"3.14"));
    }

    #[test]
    fn ideographs_and_emoji_are_words_of_their_own() {
        let t = tokens("会議👍🏽");
        assert_eq!(t, vec!["会", "議", "👍🏽"]);
        assert!(t.iter().all(|w| is_word(w)));
        // A family emoji joined by zero-width joiners is one token.
        assert_eq!(tokens("👩‍👩‍👧").len(), 1);
    }

    #[test]
    fn only_words_and_line_breaks_separate_edits() {
        assert!(separates("at"));
        assert!(separates("\n"));
        assert!(separates("\r\n"));
        assert!(separates("３"));
        assert!(!separates(" "));
        assert!(!separates(","));
        assert!(!separates("。"));
        assert!(!separates("-"));
        assert_eq!(kind("\u{3000}"), TokenKind::Space);
        assert_eq!(kind("—"), TokenKind::Mark);
    }
}
