//! Byte-level BPE tokenizer built from a GGUF file's own metadata.
//!
//! The vocabulary, merges, token types and special-token ids come from the
//! `tokenizer.ggml.*` keys, so no `tokenizer.json` is needed. The pre-tokenizer (how text
//! is cut into words before BPE) follows llama.cpp's hand-written splitters for the
//! `tokenizer.ggml.pre` types we support, so the ids equal llama.cpp's (checked against
//! `llama-tokenize` in the tests). candle's own GGUF tokenizer helper is not used: it
//! adds a leading space that SmolLM2's tokenizer does not.

use std::collections::HashMap;

use candle_core::quantized::gguf_file::Value;

use super::gguf::{invalid, GgufFile};
use super::ModelError;

/// How text is split into words before BPE (`tokenizer.ggml.pre`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreTokenizer {
    /// GPT-2's splitter (`gpt2`, and `smollm`, which first isolates every digit).
    Gpt2 {
        /// Split every numeric character into its own word first (SmolLM, StarCoder).
        isolate_digits: bool,
    },
    /// Qwen2's splitter: case-insensitive contractions, one digit per word, newlines kept
    /// with the punctuation or whitespace before them.
    Qwen2,
}

impl PreTokenizer {
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "gpt2" | "default" | "mpt" | "olmo" => Some(PreTokenizer::Gpt2 {
                isolate_digits: false,
            }),
            "smollm" | "starcoder" | "refact" | "codeshell" => Some(PreTokenizer::Gpt2 {
                isolate_digits: true,
            }),
            "qwen2" | "stablelm2" => Some(PreTokenizer::Qwen2),
            _ => None,
        }
    }
}

/// GGUF token types (`tokenizer.ggml.token_type`).
const TOKEN_TYPE_CONTROL: i32 = 3;
const TOKEN_TYPE_USER_DEFINED: i32 = 4;

/// A byte-level BPE tokenizer.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    tokens: Vec<String>,
    ids: HashMap<String, u32>,
    /// (left id, right id) → (merge rank, merged id).
    merges: HashMap<(u32, u32), (u32, u32)>,
    /// Tokens matched verbatim in text when special tokens are parsed, longest first.
    specials: Vec<(String, u32)>,
    control: Vec<bool>,
    pre: PreTokenizer,
    byte_to_char: [char; 256],
    char_to_byte: HashMap<char, u8>,
    /// Beginning-of-text id.
    pub bos: Option<u32>,
    /// End-of-text id.
    pub eos: Option<u32>,
    /// End-of-turn id, where the model has one.
    pub eot: Option<u32>,
    /// Whether the model expects BOS before a prompt.
    pub add_bos: bool,
}

/// GPT-2's reversible map from bytes to printable characters, so every byte sequence
/// is a string of vocabulary characters.
fn byte_level_chars() -> [char; 256] {
    let mut map = ['\0'; 256];
    let mut n = 0u32;
    for b in 0..256u32 {
        let printable =
            (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b);
        let c = if printable {
            b
        } else {
            n += 1;
            255 + n
        };
        map[b as usize] = char::from_u32(c).unwrap_or('\u{fffd}');
    }
    map
}

fn string_array(gguf: &GgufFile, key: &str) -> Result<Vec<String>, ModelError> {
    let values = gguf
        .meta_array(key)
        .ok_or_else(|| invalid(gguf.path(), format!("metadata {key} is missing")))?;
    values
        .iter()
        .map(|v| match v {
            Value::String(s) => Ok(s.clone()),
            _ => Err(invalid(
                gguf.path(),
                format!("metadata {key} holds a non-string"),
            )),
        })
        .collect()
}

impl Tokenizer {
    /// Builds the tokenizer from `tokenizer.ggml.*` metadata.
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self, ModelError> {
        let path = gguf.path();
        match gguf.meta_str("tokenizer.ggml.model") {
            Some("gpt2") => {}
            other => {
                return Err(invalid(
                    path,
                    format!(
                        "tokenizer model {:?} is not supported (byte-level BPE \"gpt2\" is)",
                        other.unwrap_or("(missing)")
                    ),
                ))
            }
        }
        let pre_name = gguf.meta_str("tokenizer.ggml.pre").unwrap_or("default");
        let pre = PreTokenizer::from_name(pre_name)
            .ok_or_else(|| invalid(path, format!("pre-tokenizer '{pre_name}' is not supported")))?;
        let tokens = string_array(gguf, "tokenizer.ggml.tokens")?;
        let merges_text = string_array(gguf, "tokenizer.ggml.merges")?;
        let types: Vec<i32> = match gguf.meta_array("tokenizer.ggml.token_type") {
            Some(values) => values
                .iter()
                .map(|v| match v {
                    Value::I32(t) => *t,
                    Value::U32(t) => *t as i32,
                    _ => 1,
                })
                .collect(),
            None => vec![1; tokens.len()],
        };
        if types.len() != tokens.len() {
            return Err(invalid(path, "token_type and tokens differ in length"));
        }
        let mut ids = HashMap::with_capacity(tokens.len());
        for (i, t) in tokens.iter().enumerate() {
            ids.entry(t.clone()).or_insert(i as u32);
        }
        let mut merges = HashMap::with_capacity(merges_text.len());
        for (rank, m) in merges_text.iter().enumerate() {
            let Some((a, b)) = m.split_once(' ') else {
                return Err(invalid(path, format!("merge {rank} ('{m}') has no space")));
            };
            let (Some(&ia), Some(&ib), Some(&im)) =
                (ids.get(a), ids.get(b), ids.get(&format!("{a}{b}")))
            else {
                // A merge whose parts or result are not tokens can never apply.
                continue;
            };
            merges.entry((ia, ib)).or_insert((rank as u32, im));
        }
        let mut specials: Vec<(String, u32)> = tokens
            .iter()
            .zip(&types)
            .enumerate()
            .filter(|(_, (t, ty))| {
                (**ty == TOKEN_TYPE_CONTROL || **ty == TOKEN_TYPE_USER_DEFINED) && !t.is_empty()
            })
            .map(|(i, (t, _))| (t.clone(), i as u32))
            .collect();
        specials.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        let control = types.iter().map(|t| *t == TOKEN_TYPE_CONTROL).collect();
        let byte_to_char = byte_level_chars();
        let char_to_byte = byte_to_char
            .iter()
            .enumerate()
            .map(|(b, c)| (*c, b as u8))
            .collect();
        let id = |key: &str| {
            gguf.meta_u64(key)
                .and_then(|v| u32::try_from(v).ok())
                .filter(|v| (*v as usize) < tokens.len())
        };
        let eot = id("tokenizer.ggml.eot_token_id").or_else(|| ids.get("<|im_end|>").copied());
        Ok(Tokenizer {
            bos: id("tokenizer.ggml.bos_token_id"),
            eos: id("tokenizer.ggml.eos_token_id"),
            eot,
            add_bos: gguf
                .meta_bool("tokenizer.ggml.add_bos_token")
                .unwrap_or(false),
            tokens,
            ids,
            merges,
            specials,
            control,
            pre,
            byte_to_char,
            char_to_byte,
        })
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// The id of a token spelled exactly `text`, if the vocabulary has it.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }

    /// True for control tokens (`<|im_end|>`, `<|endoftext|>`, ...), which decode to
    /// nothing.
    pub fn is_control(&self, id: u32) -> bool {
        self.control.get(id as usize).copied().unwrap_or(false)
    }

    /// Token ids of `text`, without BOS. With `parse_special`, spellings of special
    /// tokens in the text (`<|im_start|>`) become those tokens, as in a chat prompt;
    /// without it they are ordinary text, which is what user content must be.
    pub fn encode(&self, text: &str, parse_special: bool) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 1);
        if !parse_special || self.specials.is_empty() {
            self.encode_plain(text, &mut out);
            return out;
        }
        let mut rest = text;
        let mut plain_start = 0;
        let mut pos = 0;
        while pos < rest.len() {
            let tail = &rest[pos..];
            if let Some((special, id)) = self
                .specials
                .iter()
                .find(|(s, _)| tail.starts_with(s.as_str()))
            {
                self.encode_plain(&rest[plain_start..pos], &mut out);
                out.push(*id);
                rest = &rest[pos + special.len()..];
                pos = 0;
                plain_start = 0;
                continue;
            }
            pos += tail.chars().next().map_or(1, char::len_utf8);
        }
        self.encode_plain(&rest[plain_start..], &mut out);
        out
    }

    /// The text of `ids`; control tokens give nothing, bytes that are not valid UTF-8
    /// become U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::new();
        for &id in ids {
            self.append_bytes(id, &mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Appends the raw bytes of one token (nothing for a control token).
    pub fn append_bytes(&self, id: u32, bytes: &mut Vec<u8>) {
        if self.is_control(id) {
            return;
        }
        let Some(token) = self.tokens.get(id as usize) else {
            return;
        };
        for c in token.chars() {
            match self.char_to_byte.get(&c) {
                Some(b) => bytes.push(*b),
                // User-defined tokens are stored as plain text, not byte-mapped.
                None => {
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
    }

    fn encode_plain(&self, text: &str, out: &mut Vec<u32>) {
        if text.is_empty() {
            return;
        }
        for word in pre_tokenize(self.pre, text) {
            self.encode_word(word, out);
        }
    }

    /// BPE over one word: start from one symbol per byte, repeatedly merge the adjacent
    /// pair of lowest rank (leftmost on ties), as llama.cpp does.
    fn encode_word(&self, word: &str, out: &mut Vec<u32>) {
        // No whole-word shortcut: merges can segment a word differently from the
        // vocabulary entry that spells it, and llama.cpp follows the merges.
        let mapped: String = word
            .bytes()
            .map(|b| self.byte_to_char[b as usize])
            .collect();
        let mut symbols: Vec<u32> = Vec::with_capacity(mapped.len());
        for c in mapped.chars() {
            let mut buf = [0u8; 4];
            match self.ids.get(c.encode_utf8(&mut buf) as &str) {
                Some(&id) => symbols.push(id),
                // A byte with no token cannot be encoded; llama.cpp drops it too.
                None => continue,
            }
        }
        loop {
            let mut best: Option<(u32, usize, u32)> = None;
            for i in 0..symbols.len().saturating_sub(1) {
                if let Some(&(rank, merged)) = self.merges.get(&(symbols[i], symbols[i + 1])) {
                    if best.is_none_or(|(r, _, _)| rank < r) {
                        best = Some((rank, i, merged));
                    }
                }
            }
            let Some((_, i, merged)) = best else { break };
            symbols[i] = merged;
            symbols.remove(i + 1);
        }
        out.extend_from_slice(&symbols);
    }
}

/// The Unicode classes llama.cpp's splitters use.
#[derive(Clone, Copy, Default)]
struct Flags {
    letter: bool,
    number: bool,
    whitespace: bool,
    /// Assigned code point (llama.cpp's `as_uint() != 0`); out-of-range positions are not.
    any: bool,
}

fn flags_of(c: Option<char>) -> Flags {
    match c {
        None => Flags::default(),
        Some(c) => Flags {
            letter: c.is_alphabetic() && !c.is_numeric(),
            number: c.is_numeric(),
            whitespace: c.is_whitespace(),
            any: true,
        },
    }
}

/// Cuts `text` into words for BPE. Ports llama.cpp's `unicode_regex_split_custom_gpt2`
/// and `_qwen2`, which implement the tokenizers' regexes by hand.
fn pre_tokenize<'a>(pre: PreTokenizer, text: &'a str) -> Vec<&'a str> {
    // Char boundaries, so words can be sliced out of `text` by code point index.
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte_at = |i: usize| chars.get(i).map_or(text.len(), |(b, _)| *b);
    let mut segments: Vec<(usize, usize)> = Vec::new();
    match pre {
        PreTokenizer::Gpt2 {
            isolate_digits: true,
        } => {
            // First pass `\p{N}`: each numeric character is a word of its own.
            let mut start = 0;
            for (i, (_, c)) in chars.iter().enumerate() {
                if c.is_numeric() {
                    if start < i {
                        segments.push((start, i));
                    }
                    segments.push((i, i + 1));
                    start = i + 1;
                }
            }
            if start < chars.len() {
                segments.push((start, chars.len()));
            }
        }
        _ => segments.push((0, chars.len())),
    }
    let mut words = Vec::new();
    for (ini, end) in segments {
        let cpt = |p: usize| {
            if p >= ini && p < end {
                Some(chars[p].1)
            } else {
                None
            }
        };
        let flags = |p: usize| flags_of(cpt(p));
        let mut prev = ini;
        let mut add = |to: usize, words: &mut Vec<&'a str>| {
            if to > prev {
                words.push(&text[byte_at(prev)..byte_at(to)]);
            }
            prev = to;
        };
        let mut pos = ini;
        while pos < end {
            let c = cpt(pos);
            let f = flags(pos);
            // 's|'t|'re|'ve|'m|'ll|'d (case-insensitive for Qwen2)
            if c == Some('\'') && pos + 1 < end {
                let lower = |p: usize| {
                    let ch = cpt(p);
                    if pre == PreTokenizer::Qwen2 {
                        ch.map(|x| x.to_ascii_lowercase())
                    } else {
                        ch
                    }
                };
                let n1 = lower(pos + 1);
                if matches!(n1, Some('s' | 't' | 'm' | 'd')) {
                    pos += 2;
                    add(pos, &mut words);
                    continue;
                }
                if pos + 2 < end {
                    let n2 = lower(pos + 2);
                    if matches!(
                        (n1, n2),
                        (Some('r'), Some('e')) | (Some('v'), Some('e')) | (Some('l'), Some('l'))
                    ) {
                        pos += 3;
                        add(pos, &mut words);
                        continue;
                    }
                }
            }
            match pre {
                PreTokenizer::Gpt2 { .. } => {
                    let mut f2 = if c == Some(' ') { flags(pos + 1) } else { f };
                    // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+'
                    let class: Option<fn(&Flags) -> bool> = if f2.letter {
                        Some(|f| f.letter)
                    } else if f2.number {
                        Some(|f| f.number)
                    } else if !(f2.whitespace || f2.letter || f2.number) && f2.any {
                        Some(|f| !(f.whitespace || f.letter || f.number) && f.any)
                    } else {
                        None
                    };
                    if let Some(class) = class {
                        if c == Some(' ') {
                            pos += 1;
                        }
                        while class(&f2) {
                            pos += 1;
                            f2 = flags(pos);
                        }
                        add(pos, &mut words);
                        continue;
                    }
                }
                PreTokenizer::Qwen2 => {
                    // [^\r\n\p{L}\p{N}]?\p{L}+
                    if !(c == Some('\r') || c == Some('\n') || f.number)
                        && (f.letter || flags(pos + 1).letter)
                    {
                        pos += 1;
                        while flags(pos).letter {
                            pos += 1;
                        }
                        add(pos, &mut words);
                        continue;
                    }
                    // \p{N}
                    if f.number {
                        pos += 1;
                        add(pos, &mut words);
                        continue;
                    }
                    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
                    let mut f2 = if c == Some(' ') { flags(pos + 1) } else { f };
                    if !(f2.whitespace || f2.letter || f2.number) && f.any {
                        if c == Some(' ') {
                            pos += 1;
                        }
                        while !(f2.whitespace || f2.letter || f2.number) && f2.any {
                            pos += 1;
                            f2 = flags(pos);
                        }
                        while matches!(cpt(pos), Some('\r' | '\n')) {
                            pos += 1;
                        }
                        add(pos, &mut words);
                        continue;
                    }
                }
            }
            let mut spaces = 0;
            let mut last_newline_end = 0;
            while flags(pos + spaces).whitespace {
                if pre == PreTokenizer::Qwen2 && matches!(cpt(pos + spaces), Some('\r' | '\n')) {
                    last_newline_end = pos + spaces + 1;
                }
                spaces += 1;
            }
            // \s*[\r\n]+ (Qwen2 only)
            if last_newline_end > 0 {
                pos = last_newline_end;
                add(pos, &mut words);
                continue;
            }
            // \s+(?!\S): leave the last space to the word that follows
            if spaces > 1 && cpt(pos + spaces).is_some() {
                pos += spaces - 1;
                add(pos, &mut words);
                continue;
            }
            // \s+
            if spaces > 0 {
                pos += spaces;
                add(pos, &mut words);
                continue;
            }
            pos += 1;
            add(pos, &mut words);
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(pre: PreTokenizer, text: &str) -> Vec<&str> {
        pre_tokenize(pre, text)
    }

    #[test]
    fn gpt2_splitter_keeps_one_space_before_words_and_isolates_digits_for_smollm() {
        let smollm = PreTokenizer::Gpt2 {
            isolate_digits: true,
        };
        assert_eq!(
            split(smollm, "Hello  world, it's 42!\n"),
            vec!["Hello", " ", " world", ",", " it", "'s", " ", "4", "2", "!", "\n"]
        );
    }

    #[test]
    fn qwen2_splitter_keeps_newlines_with_punctuation() {
        assert_eq!(
            split(PreTokenizer::Qwen2, "fn main() {\n    x\n}"),
            vec!["fn", " main", "()", " {\n", "   ", " x", "\n", "}"]
        );
    }

    #[test]
    fn byte_map_is_a_bijection() {
        let chars = byte_level_chars();
        let mut seen = std::collections::HashSet::new();
        assert!(chars.iter().all(|c| seen.insert(*c)));
        assert_eq!(chars[b' ' as usize], 'Ġ');
        assert_eq!(chars[b'\n' as usize], 'Ċ');
    }
}
