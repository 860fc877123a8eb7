//! The one tokenizer of the merge: how text is cut into words for word-level merging,
//! for the candidates' check and for the edit-level no-loss measure.
//!
//! Tokens are Unicode word boundaries (UAX #29), cut again at the punctuation UAX #29
//! keeps inside a word (the `'` of `it's`, the dots of `example.com` and `3.14`): a word
//! (`it`, `10am`, `next_line`, one CJK ideograph, a Katakana run, an emoji with its
//! modifiers and joiners), a run of horizontal white space, a line break, or a single
//! mark of punctuation. So the words are those a person edits one at a time (and those
//! the benchmark's `\w+` counts). Joining the tokens gives the text back byte for byte,
//! so a merge built from tokens loses nothing.
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
    let mut out = Vec::new();
    for seg in text.split_word_bounds() {
        if !seg.chars().any(is_inner_mark) || !seg.chars().any(is_content) {
            out.push(seg);
            continue;
        }
        // A word UAX #29 joined across inner punctuation: each part and each mark apart.
        let mut start = 0;
        for (i, c) in seg.char_indices() {
            if is_inner_mark(c) {
                if start < i {
                    out.push(&seg[start..i]);
                }
                out.push(&seg[i..i + c.len_utf8()]);
                start = i + c.len_utf8();
            }
        }
        if start < seg.len() {
            out.push(&seg[start..]);
        }
    }
    out
}

/// Punctuation UAX #29 lets stand inside a word (its MidLetter, MidNum and MidNumLet
/// classes): apostrophes, dots, colons, commas and their full-width and other-script
/// forms.
fn is_inner_mark(c: char) -> bool {
    matches!(
        c,
        '\'' | '.'
            | ':'
            | ','
            | ';'
            | '·'
            | '\u{2018}'
            | '\u{2019}'
            | '\u{2024}'
            | '\u{2027}'
            | '\u{FE52}'
            | '\u{FF07}'
            | '\u{FF0E}'
            | '\u{0387}'
            | '\u{055F}'
            | '\u{05F4}'
            | '\u{FE13}'
            | '\u{FE55}'
            | '\u{FF1A}'
            | '\u{037E}'
            | '\u{0589}'
            | '\u{060C}'
            | '\u{060D}'
            | '\u{066C}'
            | '\u{07F8}'
            | '\u{2044}'
            | '\u{FE10}'
            | '\u{FE14}'
            | '\u{FE50}'
            | '\u{FE54}'
            | '\u{FF0C}'
            | '\u{FF1B}'
    )
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
    fn words_are_cut_at_inner_punctuation_but_keep_units_and_underscores() {
        assert_eq!(
            tokens("It's 10am at decan.example.net, next_line"),
            vec![
                "It",
                "'",
                "s",
                " ",
                "10am",
                " ",
                "at",
                " ",
                "decan",
                ".",
                "example",
                ".",
                "net",
                ",",
                " ",
                "next_line"
            ]
        );
        assert_eq!(tokens("3.14"), vec!["3", ".", "14"]);
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
