//! Splitting a log message into tokens and masking the parts that are plainly variable.
//!
//! A message is cut at whitespace into words, and each word at the punctuation that
//! separates fields (`= , ; : ( ) [ ] { } < > " ' |`), so `uid=0` is three tokens and a
//! key never fuses with its value; only items joined by commas without spaces
//! (`qr,aa,rd`, a list of any length) stay one token. A token is *masked* (becomes a
//! variable, `<*>`) when its shape alone says it is one: it holds a digit (numbers, ids,
//! versions, hex with digits, IPs, times, dates, UUIDs, sizes), it is a boolean or null,
//! a path or a URL, a MAC or IPv6 address, a month, weekday or time-zone name or a unit
//! (`KB`, `ms`, `hours`, `Mbps`, `°C`) next to a number, or the missing value in `key=`,
//! `()` or `""`.
//! Adjacent variables fold into one, so `Mon Jul  4 12:52:44 2005` or a list of block
//! ids is a single slot. Whatever the masks leave is decided by the miner, from how the
//! tokens vary across messages.

use super::settings::MinerSettings;

/// Punctuation that separates fields inside a word. Each is a token of its own.
const DELIMITERS: &[u8] = b"=,;:()[]{}<>\"'|";

/// Where a path ends: whitespace and the punctuation that wraps or separates it.
const PATH_STOP: &[u8] = b"\"'()[]{}<>,;=|";

/// Where a URL ends; unlike a path it may hold `=` (a query string).
const URL_STOP: &[u8] = b"\"'()[]{}<>,;|";

/// Names that are part of a date or time when they stand next to a number.
const DATE_WORDS: &[&str] = &[
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "mon",
    "tue",
    "wed",
    "thu",
    "fri",
    "sat",
    "sun",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "utc",
    "gmt",
    "pst",
    "pdt",
    "est",
    "edt",
    "cst",
    "cdt",
    "mst",
    "mdt",
    "cet",
    "cest",
    "bst",
    "ist",
    "jst",
    "eet",
    "eest",
    "am",
    "pm",
];

/// Units that belong to the number before them: sizes, durations and rates are printed
/// in whichever unit reads best, so `93.0 B` and `5.2 KB`, `40 ms` and `3 days` are the
/// same field.
const UNITS: &[&str] = &[
    "b", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "tib", "bytes", "ns", "us", "ms", "s", "sec",
    "secs", "min", "mins", "second", "seconds", "minute", "minutes", "hour", "hours", "hr", "hrs",
    "day", "days", "bps", "kbps", "mbps", "gbps", "hz", "khz", "mhz", "ghz", "db", "dbm", "wh",
    "kwh", "kw", "mah",
];

/// Temperature units, not ASCII words, so outside the word list: `21.5 °C` is one field.
const TEMPERATURE_UNITS: &[&str] = &["°c", "°f", "℃", "℉"];

/// Words that are values whatever they follow (`literals`).
const LITERALS: &[&str] = &["true", "false", "null"];

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A variable part (`<*>`).
    Var,
    /// One field-separating punctuation byte.
    Delim(u8),
    /// A run of two or more dots (an ellipsis or a dotted leader).
    Dots,
    /// Anything else: a candidate constant.
    Word,
}

/// One token: what it is and where it lies in the message (byte offsets). An inserted
/// empty value has `start == end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Token {
    fn new(kind: TokenKind, start: usize, end: usize) -> Self {
        Token { kind, start, end }
    }

    /// The token's text in `message`.
    pub fn text<'a>(&self, message: &'a str) -> &'a str {
        message.get(self.start..self.end).unwrap_or("")
    }
}

/// Splits `message` into tokens and masks the plainly variable ones.
pub(crate) fn tokenize(message: &str, rules: &MinerSettings) -> Vec<Token> {
    let mut tokens = Vec::with_capacity(16);
    tokenize_into(message, rules, &mut tokens);
    tokens
}

/// [`tokenize`] into `tokens` (cleared first), so a caller that tokenises line after line
/// reuses one buffer instead of allocating per line.
pub(crate) fn tokenize_into(message: &str, rules: &MinerSettings, tokens: &mut Vec<Token>) {
    tokens.clear();
    let bytes = message.as_bytes();
    let mut word_start = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // ASCII bytes are judged directly (most messages are all ASCII); any other
        // character is decoded, so whitespace means exactly `char::is_whitespace`.
        let (white, width) = if b.is_ascii() {
            (IS_ASCII_WHITESPACE[b as usize], 1)
        } else {
            match message.get(i..).and_then(|rest| rest.chars().next()) {
                Some(c) => (c.is_whitespace(), c.len_utf8()),
                None => (false, 1),
            }
        };
        match (white, word_start) {
            (true, Some(start)) => {
                lex_word(message, start, i, rules, tokens);
                word_start = None;
            }
            (false, None) => word_start = Some(i),
            _ => {}
        }
        i += width;
    }
    if let Some(start) = word_start {
        lex_word(message, start, message.len(), rules, tokens);
    }
    mask_by_context(message, rules, tokens);
    if rules.quoted_values {
        mask_quoted(message, tokens, rules.quoted_own_words);
    }
    fold_adjacent_vars(tokens);
}

/// Longest quoted text (in tokens) taken for one value: a stray quote must not swallow
/// the rest of a long message.
const MAX_QUOTED_TOKENS: usize = 32;

/// Text between a pair of quotes is one value (`moved "Fix login" to Done`, `set 'Cafe
/// Guest' as default`): what an app quotes is what a user or a caller gave it. A single
/// quote counts only outside a word, not as an apostrophe (`don't`).
fn mask_quoted(message: &str, tokens: &mut [Token], own_words: bool) {
    let bytes = message.as_bytes();
    // A letter or digit, in any script (bytes of a non-ASCII character included).
    let in_word = |k: usize| {
        bytes
            .get(k)
            .is_some_and(|&b| b.is_ascii_alphanumeric() || b >= 0x80)
    };
    let opens = |t: &Token| {
        t.kind == TokenKind::Delim(b'"')
            || (t.kind == TokenKind::Delim(b'\'') && !t.start.checked_sub(1).is_some_and(in_word))
    };
    let closes = |t: &Token, open: TokenKind| {
        t.kind == open && (open == TokenKind::Delim(b'"') || !in_word(t.end))
    };
    // The quoted texts short enough to be values, as token ranges.
    let mut texts: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if !opens(&tokens[i]) {
            i += 1;
            continue;
        }
        let open = tokens[i].kind;
        // The pair is found whatever its length, so the closing quote of a long text
        // is not taken for the opening of the next one.
        match tokens[i + 1..].iter().position(|t| closes(t, open)) {
            Some(k) => {
                if k <= MAX_QUOTED_TOKENS {
                    texts.push((i + 1, i + 1 + k));
                }
                i += k + 2;
            }
            None => i += 1,
        }
    }
    if texts.is_empty() {
        // Most messages: nothing quoted, and no need to look for their own wording.
        return;
    }
    // In a message with no wording of its own, a quoted text that reads as a sentence
    // is the message (`msg="Scrape failed"`), or its part (`err="connection refused"`).
    let bare = own_words && !has_own_words(message, tokens, &texts);
    for &(a, b) in &texts {
        if bare && reads_as_sentence(message, &tokens[a..b]) {
            continue;
        }
        for t in &mut tokens[a..b] {
            t.kind = TokenKind::Var;
        }
    }
}

/// Whether `tokens` hold two neighbouring words of letters, the second in lower case
/// (`Scrape failed`, `connection refused`): the wording of a sentence, not a name.
fn reads_as_sentence(message: &str, tokens: &[Token]) -> bool {
    let plain =
        |t: &Token| t.kind == TokenKind::Word && t.text(message).chars().all(char::is_alphabetic);
    tokens.windows(2).any(|w| {
        plain(&w[0])
            && plain(&w[1])
            && w[1]
                .text(message)
                .chars()
                .next()
                .is_some_and(char::is_lowercase)
    })
}

/// Whether the message has wording outside its quoted texts: a word of letters, not all
/// capitals (a code such as `UF`), that is not a key (`id=`, `user:`) or a key's value
/// (`=moby`). Where it has none (`msg="shim disconnected" id=…`, `"GET / HTTP/1.1" 200
/// - "curl/8.5.0"`), the message is in its quoted texts.
fn has_own_words(message: &str, tokens: &[Token], texts: &[(usize, usize)]) -> bool {
    let mut quoted = texts.iter().peekable();
    tokens.iter().enumerate().any(|(i, t)| {
        while quoted.peek().is_some_and(|&&(_, b)| b <= i) {
            quoted.next();
        }
        let inside = quoted.peek().is_some_and(|&&(a, b)| a <= i && i < b);
        let key = tokens.get(i + 1).is_some_and(|n| {
            n.start == t.end && matches!(n.kind, TokenKind::Delim(b'=') | TokenKind::Delim(b':'))
        });
        let value = i
            .checked_sub(1)
            .and_then(|k| tokens.get(k))
            .is_some_and(|p| p.end == t.start && p.kind == TokenKind::Delim(b'='));
        let text = t.text(message);
        !inside
            && !key
            && !value
            && t.kind == TokenKind::Word
            && text.chars().all(char::is_alphabetic)
            && text.chars().any(char::is_lowercase)
    })
}

/// The message with every variable part written as `<*>`, spacing kept: what the miner
/// sees before it compares messages.
pub fn mask(message: &str) -> String {
    let tokens = tokenize(message, &MinerSettings::default());
    render(message, &tokens, |i| tokens[i].kind == TokenKind::Var)
}

/// Writes `message` back with the tokens for which `is_slot` holds replaced by `<*>`,
/// keeping the text between tokens as it was.
pub(crate) fn render(message: &str, tokens: &[Token], is_slot: impl Fn(usize) -> bool) -> String {
    let mut out = String::with_capacity(message.len());
    let mut at = tokens.first().map_or(0, |t| t.start);
    for (i, token) in tokens.iter().enumerate() {
        if token.start > at {
            out.push_str(message.get(at..token.start).unwrap_or(""));
        }
        if is_slot(i) {
            out.push_str("<*>");
        } else {
            out.push_str(token.text(message));
        }
        at = at.max(token.end);
    }
    out
}

/// `set` as a table indexed by byte: one load per byte where `contains` would compare
/// with every member (this runs on every byte of every message).
const fn byte_table(set: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < set.len() {
        table[set[i] as usize] = true;
        i += 1;
    }
    table
}

const IS_DELIMITER: [bool; 256] = byte_table(DELIMITERS);
/// The ASCII characters for which `char::is_whitespace` holds (tab to carriage return,
/// and space).
const IS_ASCII_WHITESPACE: [bool; 256] = byte_table(b"\t\n\x0b\x0c\r ");
const IS_PATH_STOP: [bool; 256] = byte_table(PATH_STOP);
const IS_URL_STOP: [bool; 256] = byte_table(URL_STOP);

fn is_delimiter(b: u8) -> bool {
    IS_DELIMITER[b as usize]
}

fn closing(open: u8) -> Option<u8> {
    match open {
        b'(' => Some(b')'),
        b'[' => Some(b']'),
        b'{' => Some(b'}'),
        b'<' => Some(b'>'),
        _ => None,
    }
}

/// Tokens of one whitespace-free word `message[start..end]`.
fn lex_word(message: &str, start: usize, end: usize, rules: &MinerSettings, out: &mut Vec<Token>) {
    let bytes = message.as_bytes();
    let first = out.len();
    // Bytes compared one by one: a slice comparison per window is a `memcmp` call.
    let has_scheme = bytes[start..end]
        .windows(3)
        .any(|w| w[0] == b':' && w[1] == b'/' && w[2] == b'/');
    let mut i = start;
    let mut at_boundary = true;
    while i < end {
        let b = bytes[i];
        if at_boundary {
            let url = if has_scheme {
                match_url(bytes, i, end)
            } else {
                None
            };
            if let Some(stop) = url.or_else(|| match_path(bytes, i, end)) {
                out.push(Token::new(TokenKind::Var, i, stop));
                i = stop;
                at_boundary = false;
                continue;
            }
            if let Some(stop) = match_hex_groups(bytes, i, end) {
                out.push(Token::new(TokenKind::Var, i, stop));
                i = stop;
                at_boundary = false;
                continue;
            }
        }
        // The chunk just before a comma may start a list (`qr,aa,rd`): looked at only
        // where a comma follows a chunk that begins the word or follows an opening
        // bracket or quote, so other words cost nothing.
        if b == b','
            && rules.comma_lists
            && bytes.get(i + 1).is_some_and(u8::is_ascii_alphanumeric)
            && out.len() > first
            && out.last().is_some_and(|t| {
                t.end == i
                    && t.kind != TokenKind::Dots
                    && (t.start == start
                        || matches!(bytes[t.start - 1], b'(' | b'[' | b'{' | b'<' | b'"' | b'\''))
            })
        {
            if let Some(stop) = comma_list(message, end, rules, out) {
                i = stop;
                at_boundary = false;
                continue;
            }
        }
        if is_delimiter(b) {
            out.push(Token::new(TokenKind::Delim(b), i, i + 1));
            i += 1;
            at_boundary = true;
            continue;
        }
        if b == b'.' && i + 1 < end && bytes[i + 1] == b'.' {
            let dots = i;
            while i < end && bytes[i] == b'.' {
                i += 1;
            }
            out.push(Token::new(TokenKind::Dots, dots, i));
            at_boundary = true;
            continue;
        }
        let chunk = i;
        // Whether the chunk holds a digit, noted while scanning it rather than in a
        // second pass (every byte of the chunk passes through this loop).
        let mut digit = false;
        while i < end {
            let c = bytes[i];
            digit |= c.is_ascii_digit();
            // A colon between digits is part of a time or an address:port, not a field
            // separator.
            if c == b':'
                && i > chunk
                && bytes[i - 1].is_ascii_digit()
                && i + 1 < end
                && bytes[i + 1].is_ascii_digit()
            {
                i += 1;
                continue;
            }
            if is_delimiter(c) || (c == b'.' && i + 1 < end && bytes[i + 1] == b'.') {
                break;
            }
            i += 1;
        }
        let variable = message
            .get(chunk..i)
            .is_some_and(|text| digit || is_literal(text, rules));
        let kind = if variable {
            TokenKind::Var
        } else {
            TokenKind::Word
        };
        out.push(Token::new(kind, chunk, i));
        at_boundary = false;
    }
    if rules.empty_values {
        insert_empty_values(first, end, out);
    }
}

/// A missing value is still a value: `()`, `""` and a trailing `key=` get a slot, so
/// `rhost=` and `rhost=10.0.0.1` have the same shape.
fn insert_empty_values(first: usize, word_end: usize, out: &mut Vec<Token>) {
    let mut i = first;
    let mut quotes_seen = [0usize; 2];
    while i < out.len() {
        let token = out[i];
        if let TokenKind::Delim(d) = token.kind {
            let next = out.get(i + 1).copied();
            let insert = match d {
                b'"' | b'\'' => {
                    let seen = &mut quotes_seen[usize::from(d == b'\'')];
                    *seen += 1;
                    *seen % 2 == 1 && next.is_some_and(|n| n.kind == TokenKind::Delim(d))
                }
                b'=' => next.is_none() && token.end == word_end,
                _ => {
                    closing(d).is_some_and(|c| next.is_some_and(|n| n.kind == TokenKind::Delim(c)))
                }
            };
            if insert {
                out.insert(i + 1, Token::new(TokenKind::Var, token.end, token.end));
                i += 1;
            }
        }
        i += 1;
    }
}

/// A chunk is a variable when it holds a digit (judged by the caller while it scans the
/// chunk) or is a boolean or null literal.
fn is_literal(chunk: &str, rules: &MinerSettings) -> bool {
    rules.literals && LITERALS.iter().any(|l| chunk.eq_ignore_ascii_case(l))
}

/// `scheme://...` up to the next wrapping punctuation.
fn match_url(bytes: &[u8], start: usize, end: usize) -> Option<usize> {
    if !bytes.get(start)?.is_ascii_alphabetic() {
        return None;
    }
    let mut i = start + 1;
    while i < end && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'+' | b'.' | b'-')) {
        i += 1;
    }
    if !bytes[i..end].starts_with(b"://") {
        return None;
    }
    i += 3;
    while i < end && !IS_URL_STOP[bytes[i] as usize] {
        i += 1;
    }
    Some(i)
}

/// An absolute or explicitly relative path (`/a`, `./a`, `../a`, `~/a`, `C:\a`), up to
/// the next wrapping punctuation, without trailing `:` or `.`.
fn match_path(bytes: &[u8], start: usize, end: usize) -> Option<usize> {
    let rest = &bytes[start..end];
    let prefix = if rest.starts_with(b"../") {
        3
    } else if rest.starts_with(b"./") || rest.starts_with(b"~/") {
        2
    } else if rest.starts_with(b"/") {
        1
    } else if rest.len() >= 3 && rest[0].is_ascii_alphabetic() && &rest[1..3] == b":\\" {
        3
    } else {
        return None;
    };
    let mut i = start + prefix;
    while i < end && !IS_PATH_STOP[bytes[i] as usize] {
        i += 1;
    }
    while i > start + prefix && matches!(bytes[i - 1], b':' | b'.') {
        i -= 1;
    }
    (i > start + prefix).then_some(i)
}

/// Items joined by commas without spaces (`qr,aa,rd`, `URX,UF`, `1,2,4`), standing alone
/// or as a bracketed or quoted whole: one value, a list whose length varies from line to
/// line, so one token (`comma_lists`). `out`'s last token is the chunk that would be the
/// list's first item (the caller checks where it starts); when it and what follows it
/// up to the word's `end` or a closing bracket or quote are such a list, that token
/// becomes the whole list. Not when a key follows (`ready=true,policy=3`: fields of a
/// record). Returns where the list ends.
#[cold]
fn comma_list(
    message: &str,
    end: usize,
    rules: &MinerSettings,
    out: &mut [Token],
) -> Option<usize> {
    let last = out.last_mut()?;
    let (stop, digit) = match_comma_list(message.as_bytes(), last.start, end)?;
    let literal = message
        .get(last.start..stop)
        .is_some_and(|text| text.split(',').any(|t| is_literal(t, rules)));
    let kind = if digit || literal {
        TokenKind::Var
    } else {
        TokenKind::Word
    };
    *last = Token::new(kind, last.start, stop);
    Some(stop)
}

/// The end of a list of items joined by commas from `start` ([`comma_list`]), and
/// whether it holds a digit.
fn match_comma_list(bytes: &[u8], start: usize, end: usize) -> Option<(usize, bool)> {
    let item = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'+');
    let mut i = start;
    let mut commas = 0;
    let mut digit = false;
    while i < end {
        let b = bytes[i];
        if item(b) {
            digit |= b.is_ascii_digit();
        } else if b == b',' && i > start && i + 1 < end && item(bytes[i + 1]) {
            // The byte before is an item: a comma is taken only with one after it.
            commas += 1;
        } else {
            break;
        }
        i += 1;
    }
    let closed = i == end || matches!(bytes[i], b')' | b']' | b'}' | b'>' | b'"' | b'\'' | b';');
    (commas > 0 && closed).then_some((i, digit))
}

/// Colon-separated groups of hex digits, at least four: MAC addresses, IPv6, byte dumps.
fn match_hex_groups(bytes: &[u8], start: usize, end: usize) -> Option<usize> {
    let mut i = start;
    let mut colons = 0;
    let mut group = 0;
    let mut last_good = None;
    while i < end {
        let b = bytes[i];
        if b.is_ascii_hexdigit() {
            group += 1;
            if group > 4 {
                return None;
            }
        } else if b == b':' {
            colons += 1;
            group = 0;
        } else {
            break;
        }
        if group > 0 && colons >= 3 {
            last_good = Some(i + 1);
        }
        i += 1;
    }
    let stop = last_good?;
    // The run must end the word or meet a separator; `ab:cd:ef:01x` is not an address.
    let clean_end = stop == end || is_delimiter(bytes[stop]) && bytes[stop] != b':';
    clean_end.then_some(stop)
}

/// Month, weekday and time-zone names next to a variable are part of a date; size and
/// duration units right after a number are part of it.
fn mask_by_context(message: &str, rules: &MinerSettings, tokens: &mut [Token]) {
    if !rules.date_words && !rules.units {
        return;
    }
    loop {
        let mut changed = false;
        for i in 0..tokens.len() {
            if tokens[i].kind != TokenKind::Word {
                continue;
            }
            let prev_var = i > 0 && tokens[i - 1].kind == TokenKind::Var;
            let next_var = tokens.get(i + 1).is_some_and(|t| t.kind == TokenKind::Var);
            if !prev_var && !next_var {
                continue;
            }
            let text = tokens[i].text(message);
            if (rules.date_words && in_list(&DATE_WORD_LIST, text))
                || (rules.units
                    && prev_var
                    && (in_list(&UNIT_LIST, text)
                        || (text.as_bytes().first().is_some_and(|&b| b >= 0x80)
                            && TEMPERATURE_UNITS
                                .iter()
                                .any(|u| text.eq_ignore_ascii_case(u)))))
            {
                tokens[i].kind = TokenKind::Var;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// Whether `text` is one of `list` (lower-case ASCII words of at most 9 letters), in
/// any case. Cheap: most words fail on length or the first letter.
fn in_list(list: &WordList, text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.is_empty() || bytes.len() > 9 || !bytes[0].is_ascii_alphabetic() {
        return false;
    }
    let first = bytes[0].to_ascii_lowercase();
    let last = bytes[bytes.len() - 1].to_ascii_lowercase();
    if list.starts[bytes.len()] & (1 << (first - b'a')) == 0
        || !last.is_ascii_lowercase()
        || list.ends[bytes.len()] & (1 << (last - b'a')) == 0
    {
        return false;
    }
    list.words
        .iter()
        .any(|w| w.len() == bytes.len() && w.as_bytes()[0] == first && text.eq_ignore_ascii_case(w))
}

/// Lower-case ASCII words of at most 9 letters, with the first and last letters its
/// words of each length start and end with (bit `c - 'a'` of `starts[len]`, `ends[len]`):
/// two lookups rule out most words before any comparison (this runs on every word next
/// to a variable).
struct WordList {
    words: &'static [&'static str],
    starts: [u32; 10],
    ends: [u32; 10],
}

const fn word_list(words: &'static [&'static str]) -> WordList {
    let mut starts = [0u32; 10];
    let mut ends = [0u32; 10];
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_bytes();
        // Every listed word must be 1 to 9 letters, lower case at both ends (`in_list`
        // lower-cases the text, not the list, and looks no further for longer words): a
        // word added against that would silently never match, so the build refuses it
        // (the lists are constants, so this is checked at compile time).
        assert!(
            !w.is_empty()
                && w.len() <= 9
                && w[0].is_ascii_lowercase()
                && w[w.len() - 1].is_ascii_lowercase(),
            "a listed word must be 1 to 9 letters, lower case at both ends"
        );
        starts[w.len()] |= 1 << (w[0] - b'a');
        ends[w.len()] |= 1 << (w[w.len() - 1] - b'a');
        i += 1;
    }
    WordList {
        words,
        starts,
        ends,
    }
}

const DATE_WORD_LIST: WordList = word_list(DATE_WORDS);
const UNIT_LIST: WordList = word_list(UNITS);

/// Adjacent variables are one slot: their number varies (`blk_1 blk_2 blk_3`), so
/// counting them would split one template into many.
fn fold_adjacent_vars(tokens: &mut Vec<Token>) {
    // In place: `kept` tokens are final, the rest are still to be read.
    let mut kept = 0;
    for i in 0..tokens.len() {
        let token = tokens[i];
        if token.kind == TokenKind::Var && kept > 0 && tokens[kept - 1].kind == TokenKind::Var {
            let last = &mut tokens[kept - 1];
            last.end = last.end.max(token.end);
            continue;
        }
        tokens[kept] = token;
        kept += 1;
    }
    tokens.truncate(kept);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_at_exactly_the_whitespace_of_char_is_whitespace() {
        for b in 0u8..128 {
            assert_eq!(
                IS_ASCII_WHITESPACE[b as usize],
                char::from(b).is_whitespace(),
                "byte {b}"
            );
        }
        // Non-ASCII whitespace (no-break space, ideographic space) splits too.
        let kinds: Vec<_> = tokenize("alpha\u{a0}beta\u{3000}gamma é", &MinerSettings::default())
            .into_iter()
            .map(|t| (t.start, t.end))
            .collect();
        assert_eq!(kinds, vec![(0, 5), (7, 11), (14, 19), (20, 22)]);
    }

    #[test]
    fn numbers_ids_and_hex_are_masked() {
        assert_eq!(
            mask("uid=0 euid=1000 flags=0x1f"),
            "uid=<*> euid=<*> flags=<*>"
        );
        assert_eq!(
            mask("Deleting block blk_-600839 now"),
            "Deleting block <*> now"
        );
        assert_eq!(mask("version 2.4.1-rc3 loaded"), "version <*> loaded");
    }

    #[test]
    fn addresses_are_one_slot() {
        assert_eq!(
            mask("connect 10.251.43.115:50010 via fe80:0:0:0:1c9f:ddff:fe0c:3f35"),
            "connect <*> via <*>"
        );
        assert_eq!(mask("chip FF:F2:9F:16:EB:27 up"), "chip <*> up");
        assert_eq!(
            mask("proxy.example.org:5070 open"),
            "proxy.example.org:<*> open"
        );
    }

    #[test]
    fn paths_and_urls_are_masked_whole() {
        assert_eq!(
            mask("Error loading /home/a/b-c: failed"),
            "Error loading <*>: failed"
        );
        assert_eq!(mask("chdir(/p/gb2/x) failed"), "chdir(<*>) failed");
        assert_eq!(
            mask("fetch https://example.org/a?b=c done"),
            "fetch <*> done"
        );
        assert_eq!(mask("open ./runtime_malloc: no"), "open <*>: no");
        // One slash between words is prose, not a path.
        assert_eq!(mask("Input/output error"), "Input/output error");
    }

    #[test]
    fn dates_times_and_durations_are_one_slot() {
        assert_eq!(
            mask("connection from 1.2.3.4 () at Mon Jul  4 12:52:44 2005"),
            "connection from <*> (<*>) at <*>"
        );
        assert_eq!(
            mask("status=M Thu Aug 04 15:29:45 PDT 2005"),
            "status=M <*>"
        );
        assert_eq!(mask("took 93.0 ms, free 317.1 KB"), "took <*>, free <*>");
        // Durations in words too: `after 3 days` and `after 40 min` are one field.
        assert_eq!(
            mask("back online after 3 days (last seen 2 hours ago)"),
            "back online after <*> (last seen <*> ago)"
        );
        // Not without the number before it.
        assert_eq!(mask("runs every day"), "runs every day");
        // Rates, frequencies, signal, energy and temperature.
        assert_eq!(
            mask("RSSI -61 dBm, 4.8 Mbps at 2412 MHz, 1.2 kWh, target 21.5 °C"),
            "RSSI <*>, <*> at <*>, <*>, target <*>"
        );
    }

    #[test]
    fn items_joined_by_commas_without_spaces_are_one_list() {
        let kinds = |msg: &str, comma_lists: bool| -> Vec<TokenKind> {
            let rules = MinerSettings {
                comma_lists,
                ..MinerSettings::default()
            };
            tokenize(msg, &rules).iter().map(|t| t.kind).collect()
        };
        let listed = |msg: &str| {
            let rules = MinerSettings {
                comma_lists: true,
                ..MinerSettings::default()
            };
            let tokens = tokenize(msg, &rules);
            render(msg, &tokens, |i| tokens[i].kind == TokenKind::Var)
        };
        // A list of codes of any length is one word, whatever its length.
        let one = kinds("NOERROR qr 62 0.0004s", true);
        let three = kinds("NOERROR qr,aa,rd 62 0.0004s", true);
        assert_eq!(one, three);
        assert_eq!(three[1], TokenKind::Word);
        assert_eq!(listed("200 URX,UF 0 -"), "<*> URX,UF <*> -");
        assert_eq!(
            listed("Shrinking ISR from 1,2,4 to 1"),
            "Shrinking ISR from <*> to <*>"
        );
        assert_eq!(listed("flags [qr,aa] set"), "flags [qr,aa] set");
        // Without the rule, each item and comma is a token.
        assert_eq!(kinds("NOERROR qr,aa,rd 62", false).len(), 7);
        // Fields of a record are not a list, nor is a comma before a space.
        assert_eq!(
            listed("ready=true,policy=3,mode=on"),
            "ready=<*>,policy=<*>,mode=on"
        );
        assert_eq!(kinds("a, b", true).len(), 3);
        assert_eq!(kinds("done,", true).len(), 2);
    }

    #[test]
    fn uuids_and_booleans_are_masked() {
        assert_eq!(
            mask("[instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] VM Started"),
            "[instance: <*>] VM Started"
        );
        assert_eq!(
            mask("isOverlap:false, ready=TRUE"),
            "isOverlap:<*>, ready=<*>"
        );
    }

    #[test]
    fn empty_values_get_a_slot() {
        assert_eq!(
            mask("logname= uid=0 rhost="),
            "logname=<*> uid=<*> rhost=<*>"
        );
        assert_eq!(mask("tag=\"\" list=[]"), "tag=\"<*>\" list=[<*>]");
    }

    #[test]
    fn text_in_double_quotes_is_one_value() {
        assert_eq!(
            mask("Priya moved \"Fix the login page\" to Done"),
            "Priya moved \"<*>\" to Done"
        );
        assert_eq!(
            mask("comment \"ok\" on \"Q3 plan, v2\" saved"),
            "comment \"<*>\" on \"<*>\" saved"
        );
        // Single quotes too, but not an apostrophe inside a word.
        assert_eq!(
            mask("policy: set 'Cafe Guest' as default"),
            "policy: set '<*>' as default"
        );
        assert_eq!(
            mask("José's phone isn't 'Pixel 8' now"),
            "José's phone isn't '<*>' now"
        );
        // A quote without its pair masks nothing; nor does text longer than a value.
        assert_eq!(mask("a \" stray quote here"), "a \" stray quote here");
        let long = format!("says \"{}\" to \"Ana\"", "word ".repeat(40).trim_end());
        let masked = mask(&long);
        assert!(masked.contains("word word"), "{masked}");
        // The long text's closing quote still closes it: the next pair is the value.
        assert!(masked.ends_with("\" to \"<*>\""), "{masked}");
    }

    #[test]
    fn in_a_message_without_wording_of_its_own_quoted_sentences_are_the_message() {
        // logfmt: every word outside quotes is a key or a key's value, so the quoted
        // sentences are the message and its error, not values.
        assert_eq!(
            mask("msg=\"shim disconnected\" id=4f2a namespace=moby"),
            "msg=\"shim disconnected\" id=<*> namespace=moby"
        );
        assert_eq!(
            mask("level=warn msg=\"Scrape failed\" err=\"context deadline exceeded\" job=\"api\""),
            "level=warn msg=\"Scrape failed\" err=\"context deadline exceeded\" job=\"<*>\""
        );
        // A quoted text that is not a sentence stays a value (a request line, a code
        // in capitals is not wording).
        assert_eq!(
            mask("\"GET /a HTTP/1.1\" 200 UF \"curl/8.5.0\""),
            "\"<*>\" <*> UF \"<*>\""
        );
        // With wording of its own the message's quoted texts are values, sentences too.
        assert_eq!(
            mask("Priya moved \"Fix the login page\" to Done"),
            "Priya moved \"<*>\" to Done"
        );
        // Without the rule, the message itself would be masked.
        let rules = MinerSettings {
            quoted_own_words: false,
            ..MinerSettings::default()
        };
        let msg = "msg=\"shim disconnected\" id=4f2a";
        let tokens = tokenize(msg, &rules);
        let masked = render(msg, &tokens, |i| tokens[i].kind == TokenKind::Var);
        assert_eq!(masked, "msg=\"<*>\" id=<*>");
    }

    #[test]
    fn words_and_dotted_leaders_are_kept() {
        assert_eq!(mask("startAnimation begin"), "startAnimation begin");
        assert_eq!(
            mask("wait state enable.........0"),
            "wait state enable.........<*>"
        );
        assert_eq!(mask("getMode..."), "getMode...");
    }

    #[test]
    fn month_names_without_numbers_are_words() {
        assert_eq!(mask("may not start"), "may not start");
        assert_eq!(mask("the s key"), "the s key");
    }

    #[test]
    fn tokens_split_at_field_punctuation() {
        let msg = "tag=\"RILJ\", pid=2626";
        // Quoted text kept as it is, to see how it splits.
        let rules = MinerSettings {
            quoted_values: false,
            ..MinerSettings::default()
        };
        let kinds: Vec<_> = tokenize(msg, &rules).iter().map(|t| t.kind).collect();
        assert_eq!(
            kinds,
            vec![
                TokenKind::Word,
                TokenKind::Delim(b'='),
                TokenKind::Delim(b'"'),
                TokenKind::Word,
                TokenKind::Delim(b'"'),
                TokenKind::Delim(b','),
                TokenKind::Word,
                TokenKind::Delim(b'='),
                TokenKind::Var,
            ]
        );
    }

    proptest::proptest! {
        #[test]
        fn any_message_tokenises_into_ordered_spans(message in "\\PC{0,80}") {
            let tokens = tokenize(&message, &MinerSettings::default());
            let mut at = 0;
            for t in &tokens {
                proptest::prop_assert!(t.start >= at && t.end >= t.start && t.end <= message.len());
                proptest::prop_assert!(message.is_char_boundary(t.start) && message.is_char_boundary(t.end));
                at = t.start;
            }
            // Masking only replaces tokens: without variables the text is unchanged.
            if tokens.iter().all(|t| t.kind != TokenKind::Var) {
                proptest::prop_assert_eq!(mask(&message), message.trim().to_string());
            }
        }

        #[test]
        fn log_like_messages_tokenise(message in "[a-zA-Z0-9 =:,;()\\[\\]{}<>\"'|./\\\\@_-]{0,60}") {
            let tokens = tokenize(&message, &MinerSettings::default());
            for pair in tokens.windows(2) {
                proptest::prop_assert!(pair[0].end <= pair[1].start || pair[1].start == pair[1].end);
                proptest::prop_assert!(!(pair[0].kind == TokenKind::Var && pair[1].kind == TokenKind::Var));
            }
        }
    }

    #[test]
    fn odd_input_does_not_panic() {
        for msg in [
            "", "   ", "=", "\"", "é:ü=ß", "a..", "..", "/", "::::", "x://", "C:\\",
        ] {
            let _ = mask(msg);
        }
    }
}
