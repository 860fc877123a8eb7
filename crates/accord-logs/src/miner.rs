//! Template mining: grouping log messages that come from the same logging statement.
//!
//! Every message is tokenised and masked ([`super::token`]); messages with the same masked
//! token sequence share a *shape*. [`TemplateMiner::add`] only counts shapes, so memory
//! grows with the number of distinct shapes, not with the number of lines. Grouping
//! shapes into templates ([`TemplateMiner::templates`]) looks at all of them at once, so
//! the result does not depend on the order the lines came in:
//!
//! 1. Shapes of the same tag and length are split into candidate groups by the tokens
//!    that are frequent in them (Brain's longest common pattern): the constant words of
//!    one logging statement occur in every one of its lines, so for each shape the
//!    largest set of its words sharing one frequency marks the statement, with the first
//!    word (messages start with their constant part).
//! 2. Inside a candidate group, each position whose token varies is judged from how it
//!    varies across the group's lines. It is a variable when a mask fired there in some
//!    line, when the message's punctuation puts a value there (after `key=`, between
//!    quotes), when its values name something (`com.app.Main`, `a/b`, `x@y`, `xhci_hcd`),
//!    when each of its words also varies in another candidate group and is no group's
//!    own text (a value the data carries between statements: a user, a queue; at least
//!    `shared_values` of them), or when it takes at least `min_values_for_variable`
//!    values; names in capitals (`RUNNING`) need `min_enum_values`. Otherwise it is a
//!    constant and the group is split by it; so is a word whose value decides whether
//!    another position holds a masked value or a word (`--> GET <url>` against
//!    `--> END GET`: two statements), and two neighbouring plain words that change
//!    together (a different phrase, not a value).
//! 3. The groups of one tag are merged by alignment: each is aligned (longest common
//!    subsequence of tokens) with the larger groups that share most of its words, and
//!    joins the first one where every stretch in which the two differ is a slot. A
//!    stretch is a slot when it holds only variables and punctuation and touches a
//!    variable (an optional value such as a unit in brackets, a list of any length), when
//!    one side of it is a variable of the other (a value that looked like a word in some
//!    lines, a name with a space in it), or when it lies between one pair of quotes.
//!    A stretch with a constant word on either side is a different statement. This is
//!    the one criterion for merging, and it names no value, word or log. (A stretch the
//!    alignment cut in two at a bracket both sides have is judged whole.)
//! 4. Templates of one tag that are the same outside one place (a token, the gap
//!    between two tokens, or the inside of a pair of brackets or quotes) are merged when
//!    what they hold there varies like a value across all of them: one token that names
//!    something, or is a variable in one template and a word in another; or, inside
//!    brackets, several tokens taking many values (a name with spaces) or a value with
//!    an optional bracketed detail, with no word common to all and no phrase among them.
//!    Outside brackets, a run of several tokens is a slot only when at least
//!    `open_values` different fillers take it (an open set of values: names with
//!    spaces, lists of words, also a name starting the message), none of them the
//!    wording of a sentence unless they are a list (items standing in another order in
//!    another filler), and then one word outside the run is skeleton enough (`Water
//!    Leak Sensor battery 71%`); a template left over then joins a larger one that
//!    differs from it only at those slots (a statement whose lines vary at two places,
//!    a name of one word).
//!    Step 2's statistic taken over templates instead of lines: it undoes splits step 1
//!    made where a value looked like a constant word in some lines. Last, a template of
//!    a few lines joins a larger one that differs from it only where the larger one
//!    has a variable, there holding a run of words without the wording of a sentence
//!    (`in Cape Town` against `in <*>`, the variable shown by the larger one's lines):
//!    a value of several words that steps 1-3 kept apart by its token count.
//!
//! Every rule of steps 1-4 is a knob of [`MinerSettings`], whose default is chosen on
//! labelled logs by leave-one-system-out (`accord-bench ga`); there is one configuration
//! for every log, nothing here is tuned per app.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::line::{LogLevel, LogLine};
use super::settings::MinerSettings;
use super::token::{mask, render, tokenize, tokenize_into, Token, TokenKind};

/// Examples of raw messages kept per shape (for slot examples and the report).
const EXAMPLES_PER_SHAPE: usize = 3;

/// Distinct example values kept per slot of a template.
const EXAMPLES_PER_SLOT: usize = 3;

/// Longest pair of templates (tokens × tokens) aligned in the region merge; beyond it
/// the alignment would cost more than it can win.
const MAX_ALIGNMENT_CELLS: usize = 250_000;

/// Larger templates (those sharing most words with it) one template is aligned with in
/// the region merge: enough to find its statement among look-alikes, and the merge stays
/// linear in the number of templates.
const ALIGNED_PARTNERS: usize = 4;

/// Longest run of tokens outside brackets step 4 tries as one place (`open_values`):
/// names and short lists, not sentences.
const MAX_OPEN_STRETCH: usize = 8;

/// End of a chain of stretches in step 4's skeleton map.
const NO_NEXT: u32 = u32::MAX;

/// Words a skeleton of step 4 holds outside a stretch that is not an open run, and a
/// template keeps of its own for its variables to take runs of words in.
const SKELETON_WORDS: usize = 2;

const VAR: u32 = 0;
const DOTS: u32 = 1;
const DELIM_BASE: u32 = 2;
const FIRST_WORD: u32 = 32;
const DELIMITERS: &[u8] = b"=,;:()[]{}<>\"'|";
const EQUALS: u32 = delimiter_code(b'=');
const DOUBLE_QUOTE: u32 = delimiter_code(b'"');
const SINGLE_QUOTE: u32 = delimiter_code(b'\'');

/// The code of a delimiter byte (the first delimiter's for an unknown byte).
const fn delimiter_code(b: u8) -> u32 {
    DELIMITER_CODES[b as usize]
}

/// [`delimiter_code`] of every byte, worked out once: it is asked for every delimiter
/// token of every line.
const DELIMITER_CODES: [u32; 256] = {
    let mut codes = [DELIM_BASE; 256];
    let mut i = DELIMITERS.len();
    // Backwards, so a byte listed twice gets its first position's code.
    while i > 0 {
        i -= 1;
        codes[DELIMITERS[i] as usize] = DELIM_BASE + i as u32;
    }
    codes
};

/// A quick hash for the miner's small integer keys (FxHash's multiply-rotate); the keys
/// are not attacker-chosen in a way that matters for a local batch computation.
#[derive(Default, Clone, Copy)]
struct QuickHasher(u64);

impl Hasher for QuickHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    /// Eight bytes at a time, little-endian, the last chunk padded with zeros. Hashes
    /// decide template order and map order, so this value must not change; whole chunks
    /// are read with a fixed-size copy and the tail byte by byte, because a copy of a
    /// variable length is a `memcpy` call per chunk (it showed in profiles).
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(buf));
        }
        let tail = chunks.remainder();
        if !tail.is_empty() {
            let n = tail
                .iter()
                .enumerate()
                .fold(0u64, |n, (i, &b)| n | u64::from(b) << (8 * i));
            self.write_u64(n);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

type QuickMap<K, V> = HashMap<K, V, BuildHasherDefault<QuickHasher>>;

/// Tokens (position, code) that mark a candidate group.
type GroupKey = Vec<(usize, u32)>;

/// The exact masked shape of a message: lines with the same shape always share a
/// template. Returned by [`TemplateMiner::add`]; [`MinedTemplates::group_of`] maps it to
/// its template once templates are mined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShapeId(u32);

impl ShapeId {
    /// Position of the shape in order of first appearance.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What the grouping needs to know about a word.
struct WordInfo {
    /// Looks like a name of something (`com.app.Main`, `a/b`, `user@host`): a value.
    identifier: bool,
    /// ALL_CAPS enum name (`RUNNING`, `E_FAIL`).
    enum_name: bool,
    /// Parts joined by `_` or `-` (`xhci_hcd`, `get-details`).
    joined: bool,
    /// Letters only: a plain word of the sentence.
    alphabetic: bool,
    /// The word itself.
    text: Box<str>,
}

impl WordInfo {
    fn new(text: &str) -> Self {
        let b = text.as_bytes();
        let inner = if b.len() > 2 {
            &b[1..b.len() - 1]
        } else {
            &[][..]
        };
        WordInfo {
            identifier: inner
                .iter()
                .any(|c| matches!(c, b'.' | b'/' | b'\\' | b'@' | b'$' | b',')),
            enum_name: b.len() >= 2
                && b[0].is_ascii_uppercase()
                && b[b.len() - 1] != b'_'
                && b.iter()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_'),
            alphabetic: b.iter().all(u8::is_ascii_alphabetic),
            joined: inner.iter().any(|c| matches!(c, b'_' | b'-'))
                && b.iter().any(u8::is_ascii_lowercase),
            text: text.into(),
        }
    }
}

/// Counts and examples of one shape.
struct Shape {
    tag: u32,
    codes: Box<[u32]>,
    count: u64,
    first_ms: i64,
    last_ms: i64,
    levels: u8,
    examples: Vec<String>,
    /// The tokens of `examples[0]`, so templates are written without tokenising again.
    tokens: Box<[Token]>,
    critical_example: Option<String>,
}

/// Groups log messages into templates with `<*>` slots.
///
/// Feed it lines with [`add`](Self::add) or [`add_line`](Self::add_line), then call
/// [`templates`](Self::templates). Lines of different tags never share a template.
/// Memory is bounded by the number of distinct masked shapes (a few examples each), not
/// by the number of lines.
#[derive(Default)]
pub struct TemplateMiner {
    words: Vec<WordInfo>,
    word_ids: QuickMap<Box<str>, u32>,
    tags: Vec<String>,
    tag_ids: QuickMap<String, u32>,
    /// The tag of the last line recorded.
    last_tag: Option<u32>,
    shape_ids: QuickMap<Box<[u32]>, ShapeId>,
    shapes: Vec<Shape>,
    scratch: Vec<u32>,
    /// The tokens of the line being recorded, kept to reuse the allocation.
    token_scratch: Vec<Token>,
    lines: u64,
    bytes: u64,
    settings: MinerSettings,
}

/// One mined template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// Tag of its lines (empty for untagged messages).
    pub tag: String,
    /// Message text with `<*>` for each variable part.
    pub text: String,
    /// Lines that matched.
    pub count: u64,
    /// Time of the first line, milliseconds since the Unix epoch.
    pub first_ms: i64,
    /// Time of the last line.
    pub last_ms: i64,
    /// Levels seen, lowest first.
    pub levels: Vec<LogLevel>,
    /// A few distinct values seen in each `<*>` slot, in slot order.
    pub slot_examples: Vec<Vec<String>>,
    /// One raw message.
    pub example: String,
    /// One raw message logged at ERROR or FATAL, if any was.
    pub critical_example: Option<String>,
}

impl Template {
    /// The highest level seen.
    pub fn max_level(&self) -> LogLevel {
        self.levels.last().copied().unwrap_or(LogLevel::Info)
    }

    /// True when some of its lines were ERROR or FATAL.
    pub fn is_critical(&self) -> bool {
        self.max_level().is_critical()
    }
}

/// The result of mining: the templates, and which template each shape belongs to.
#[derive(Debug, Clone)]
pub struct MinedTemplates {
    templates: Vec<Template>,
    shape_template: Vec<u32>,
    lines: u64,
    bytes: u64,
}

impl MinedTemplates {
    /// Templates, by tag and then by their text: an order that depends on the templates
    /// alone, not on the order their lines came in.
    pub fn templates(&self) -> &[Template] {
        &self.templates
    }

    /// Index (into [`templates`](Self::templates)) of the template a shape belongs to.
    pub fn group_of(&self, shape: ShapeId) -> usize {
        self.shape_template
            .get(shape.index())
            .map_or(0, |&t| t as usize)
    }

    /// Lines mined.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Bytes of tag and message text mined.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl TemplateMiner {
    /// An empty miner.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty miner with other settings than the default (for choosing them).
    #[cfg(any(test, feature = "tuning"))]
    pub fn with_settings(settings: MinerSettings) -> Self {
        TemplateMiner {
            settings,
            ..Self::default()
        }
    }

    /// Records an untagged message with no time or level and returns its shape.
    pub fn add(&mut self, message: &str) -> ShapeId {
        self.record(0, LogLevel::Info, "", message)
    }

    /// Records a captured line and returns its shape.
    pub fn add_line(&mut self, line: &LogLine) -> ShapeId {
        self.record(line.time_ms, line.level, &line.tag, &line.message)
    }

    /// Lines recorded so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Distinct shapes recorded so far.
    pub fn shapes(&self) -> usize {
        self.shapes.len()
    }

    fn record(&mut self, time_ms: i64, level: LogLevel, tag: &str, message: &str) -> ShapeId {
        self.lines += 1;
        self.bytes += (tag.len() + message.len()) as u64;
        // Runs of lines share a tag (or have none): the last line's tag is tried before
        // the map, comparing lengths first so an empty tag costs no `memcmp` call.
        let last = self.last_tag.and_then(|id| {
            let known = self.tags.get(id as usize)?;
            (known.len() == tag.len() && (tag.is_empty() || known == tag)).then_some(id)
        });
        let tag_id = match last.or_else(|| self.tag_ids.get(tag).copied()) {
            Some(id) => id,
            None => {
                let id = self.tags.len() as u32;
                self.tags.push(tag.to_string());
                self.tag_ids.insert(tag.to_string(), id);
                id
            }
        };
        self.last_tag = Some(tag_id);
        let mut tokens = std::mem::take(&mut self.token_scratch);
        tokenize_into(message, &self.settings, &mut tokens);
        let mut key = std::mem::take(&mut self.scratch);
        key.clear();
        key.push(tag_id);
        for token in &tokens {
            key.push(self.code(token, message));
        }
        let id = match self.shape_ids.get(key.as_slice()) {
            Some(&id) => id,
            None => {
                let id = ShapeId(self.shapes.len() as u32);
                self.shapes.push(Shape {
                    tag: tag_id,
                    codes: key[1..].into(),
                    count: 0,
                    first_ms: time_ms,
                    last_ms: time_ms,
                    levels: 0,
                    examples: Vec::new(),
                    tokens: tokens.as_slice().into(),
                    critical_example: None,
                });
                self.shape_ids.insert(key.as_slice().into(), id);
                id
            }
        };
        self.scratch = key;
        self.token_scratch = tokens;
        let shape = &mut self.shapes[id.index()];
        shape.count += 1;
        shape.first_ms = shape.first_ms.min(time_ms);
        shape.last_ms = shape.last_ms.max(time_ms);
        shape.levels |= level.bit();
        if shape.examples.len() < EXAMPLES_PER_SHAPE && !shape.examples.iter().any(|e| e == message)
        {
            shape.examples.push(message.to_string());
        }
        if level.is_critical() && shape.critical_example.is_none() {
            shape.critical_example = Some(message.to_string());
        }
        id
    }

    fn code(&mut self, token: &Token, message: &str) -> u32 {
        match token.kind {
            TokenKind::Var => VAR,
            TokenKind::Dots => DOTS,
            TokenKind::Delim(b) => delimiter_code(b),
            TokenKind::Word => {
                let text = token.text(message);
                match self.word_ids.get(text) {
                    Some(&id) => id,
                    None => {
                        let id = FIRST_WORD + self.words.len() as u32;
                        self.words.push(WordInfo::new(text));
                        self.word_ids.insert(text.into(), id);
                        id
                    }
                }
            }
        }
    }

    fn word(&self, code: u32) -> Option<&WordInfo> {
        code.checked_sub(FIRST_WORD)
            .and_then(|i| self.words.get(i as usize))
    }

    fn is_identifier(&self, code: u32, s: &MinerSettings) -> bool {
        self.word(code)
            .is_some_and(|w| w.identifier || (s.joined_identifiers && w.joined))
    }

    /// The first token is a constant unless it is a variable or names something.
    fn anchored(&self, codes: &[u32], s: &MinerSettings) -> bool {
        s.first_word_anchor
            && codes
                .first()
                .is_some_and(|&c| c != VAR && !self.is_identifier(c, s))
    }

    /// Groups the shapes recorded so far into templates.
    pub fn templates(&self) -> MinedTemplates {
        self.group(&self.settings)
    }

    /// Groups the shapes recorded so far with other grouping settings (the tokenizer's
    /// settings are those the shapes were recorded with).
    #[cfg(feature = "tuning")]
    pub fn templates_with(&self, s: &MinerSettings) -> MinedTemplates {
        self.group(s)
    }

    fn group(&self, s: &MinerSettings) -> MinedTemplates {
        let clusters = self.candidate_clusters(s);
        let mut patterns: Vec<Vec<u32>> = clusters.iter().map(|c| self.generalise(c)).collect();
        let counts: Vec<u64> = clusters
            .iter()
            .map(|c| c.iter().map(|s| self.shapes[s.index()].count).sum())
            .collect();
        let roots = if s.region_merge {
            let (roots, slots) = self.merge_regions(&clusters, &patterns, &counts, s);
            // What other clusters hold where a root has constants is a slot of the
            // merged template.
            for (root, from, to) in slots {
                for c in &mut patterns[root][from..to] {
                    *c = VAR;
                }
            }
            roots
        } else {
            (0..clusters.len()).collect()
        };
        let roots = if s.skeleton_merge {
            let (roots, slots) = self.merge_skeletons(&clusters, &patterns, &counts, roots, s);
            for (root, from, to) in slots {
                for c in &mut patterns[root][from..to] {
                    *c = VAR;
                }
            }
            roots
        } else {
            roots
        };

        // Template order: by tag, then by a hash of the root's pattern, so the numbering
        // does not depend on the order the lines came in.
        let mut roots_seen: Vec<usize> = roots.clone();
        roots_seen.sort_unstable();
        roots_seen.dedup();
        let mut order: Vec<((&str, u64), usize)> = roots_seen
            .into_iter()
            .map(|r| {
                let tag = self.shapes[clusters[r][0].index()].tag as usize;
                let tag = self.tags.get(tag).map_or("", String::as_str);
                ((tag, self.canonical(&patterns[r])), r)
            })
            .collect();
        order.sort_unstable();
        let mut template_of_root: QuickMap<usize, u32> = QuickMap::default();
        for (t, &(_, root)) in order.iter().enumerate() {
            template_of_root.insert(root, t as u32);
        }
        let mut shape_template = vec![0u32; self.shapes.len()];
        let mut members: Vec<Vec<ShapeId>> = vec![Vec::new(); order.len()];
        for (ci, cluster) in clusters.iter().enumerate() {
            let t = template_of_root.get(&roots[ci]).copied().unwrap_or(0);
            for &s in cluster {
                shape_template[s.index()] = t;
                members[t as usize].push(s);
            }
        }
        let templates = order
            .iter()
            .zip(&members)
            .map(|(&(_, root), shapes)| self.describe(&clusters[root], &patterns[root], shapes))
            .collect();
        MinedTemplates {
            templates,
            shape_template,
            lines: self.lines,
            bytes: self.bytes,
        }
    }

    /// Steps 1 and 2: candidate groups by frequent tokens, split by constant positions.
    fn candidate_clusters(&self, s: &MinerSettings) -> Vec<Vec<ShapeId>> {
        let mut bucket_index: QuickMap<(u32, usize), usize> = QuickMap::default();
        let mut buckets: Vec<Vec<ShapeId>> = Vec::new();
        for (i, shape) in self.shapes.iter().enumerate() {
            let key = (shape.tag, shape.codes.len());
            let b = *bucket_index.entry(key).or_insert_with(|| {
                buckets.push(Vec::new());
                buckets.len() - 1
            });
            buckets[b].push(ShapeId(i as u32));
        }
        // Every candidate group with its varying positions, split only once all are
        // known: `shared_values` asks what the other groups hold.
        let mut pending: Vec<(Vec<ShapeId>, Vec<usize>)> = Vec::new();
        // Words some group keeps as its own text (for `shared_values`).
        let mut constants: QuickMap<u32, ()> = QuickMap::default();
        for bucket in &buckets {
            // Sized up front (it is only looked up, never iterated): growing it was a
            // visible share of mining.
            let mut freq: QuickMap<(usize, u32), u64> = QuickMap::default();
            let len = bucket
                .first()
                .map_or(0, |sh| self.shapes[sh.index()].codes.len());
            freq.reserve(bucket.len() * len);
            for sh in bucket {
                let shape = &self.shapes[sh.index()];
                for (i, &c) in shape.codes.iter().enumerate() {
                    *freq.entry((i, c)).or_insert(0) += shape.count;
                }
            }
            let mut group_index: QuickMap<GroupKey, usize> = QuickMap::default();
            let mut groups: Vec<(GroupKey, Vec<ShapeId>)> = Vec::new();
            for &sh in bucket {
                let key = self.frequent_key(&self.shapes[sh.index()].codes, &freq, s);
                match group_index.get(&key) {
                    Some(&g) => groups[g].1.push(sh),
                    None => {
                        group_index.insert(key.clone(), groups.len());
                        groups.push((key, vec![sh]));
                    }
                }
            }
            for (key, shapes) in groups {
                let len = self.shapes[shapes[0].index()].codes.len();
                let cols: Vec<usize> = (0..len)
                    .filter(|i| !key.iter().any(|(p, _)| p == i))
                    .collect();
                if s.shared_values > 0 {
                    constants.extend(key.iter().map(|&(_, c)| (c, ())));
                }
                pending.push((shapes, cols));
            }
        }
        let shared = if s.shared_values > 0 {
            self.shared_words(&pending, &constants)
        } else {
            QuickMap::default()
        };
        let mut clusters = Vec::new();
        for (shapes, cols) in pending {
            clusters.extend(self.split_by_constants(shapes, cols, &shared, s));
        }
        clusters
    }

    /// Words standing at a varying position of two or more candidate groups and in no
    /// group's own text: values the log's data carries from one statement to another (a
    /// user, a space, a queue), where a word from a set one statement defines stays in
    /// that statement, and a word of the program's vocabulary (`on`, `off`) is some
    /// statement's text too.
    fn shared_words(
        &self,
        groups: &[(Vec<ShapeId>, Vec<usize>)],
        constants: &QuickMap<u32, ()>,
    ) -> QuickMap<u32, ()> {
        // Per word: the first group it was seen varying in, and whether another followed.
        let mut seen: QuickMap<u32, (usize, bool)> = QuickMap::default();
        for (g, (shapes, cols)) in groups.iter().enumerate() {
            if shapes.len() < 2 {
                continue;
            }
            for &c in cols {
                for sh in shapes {
                    let code = self.shapes[sh.index()].codes[c];
                    if code < FIRST_WORD || constants.contains_key(&code) {
                        continue;
                    }
                    let entry = seen.entry(code).or_insert((g, false));
                    if entry.0 != g {
                        entry.1 = true;
                    }
                }
            }
        }
        seen.into_iter()
            .filter(|&(_, (_, shared))| shared)
            .map(|(code, _)| (code, ()))
            .collect()
    }

    /// The tokens that mark a shape's logging statement: its words at the frequency most
    /// of its words share, words more frequent than that unless they name something, and
    /// the first token.
    fn frequent_key(
        &self,
        codes: &[u32],
        freq: &QuickMap<(usize, u32), u64>,
        s: &MinerSettings,
    ) -> GroupKey {
        let f: Vec<u64> = codes
            .iter()
            .enumerate()
            .map(|(i, &c)| freq.get(&(i, c)).copied().unwrap_or(0))
            .collect();
        let mut level_sizes: Vec<(u64, usize)> = Vec::new();
        for (i, &c) in codes.iter().enumerate() {
            if c >= FIRST_WORD {
                match level_sizes.iter_mut().find(|(v, _)| *v == f[i]) {
                    Some(entry) => entry.1 += 1,
                    None => level_sizes.push((f[i], 1)),
                }
            }
        }
        let Some(&(root, _)) = level_sizes.iter().max_by_key(|&&(v, n)| (n, v)) else {
            return codes.iter().copied().enumerate().collect();
        };
        let anchored = self.anchored(codes, s);
        codes
            .iter()
            .copied()
            .enumerate()
            .filter(|&(i, c)| {
                c != VAR
                    && (f[i] == root
                        || (f[i] > root && !self.is_identifier(c, s))
                        || (i == 0 && anchored))
            })
            .collect()
    }

    /// Splits a candidate group at positions judged constant, most constant first, until
    /// every varying position is a variable.
    fn split_by_constants(
        &self,
        shapes: Vec<ShapeId>,
        cols: Vec<usize>,
        shared: &QuickMap<u32, ()>,
        s: &MinerSettings,
    ) -> Vec<Vec<ShapeId>> {
        let mut done = Vec::new();
        let mut work = vec![(shapes, cols)];
        while let Some((group, cols)) = work.pop() {
            if group.len() <= 1 {
                done.push(group);
                continue;
            }
            let mut varying: Vec<(usize, Vec<u32>)> = Vec::new();
            for &c in &cols {
                let mut values: Vec<u32> = Vec::new();
                for sh in &group {
                    let v = self.shapes[sh.index()].codes[c];
                    if !values.contains(&v) {
                        values.push(v);
                    }
                }
                if values.len() > 1 {
                    varying.push((c, values));
                }
            }
            let mut constants: Vec<(usize, usize)> = varying
                .iter()
                .filter(|(c, values)| !self.is_variable_position(*c, values, &group, shared, s))
                .map(|(c, values)| (values.len(), *c))
                .collect();
            if constants.is_empty() && s.phrase_split {
                let plain: Vec<(usize, usize)> = varying
                    .iter()
                    .filter(|(_, values)| {
                        values
                            .iter()
                            .all(|&v| self.word(v).is_some_and(|w| w.alphabetic))
                    })
                    .map(|(c, values)| (values.len(), *c))
                    .collect();
                if plain.windows(2).any(|w| w[1].1 == w[0].1 + 1) {
                    constants = plain;
                }
            }
            if constants.is_empty() && s.kind_split {
                if let Some(q) = self.kind_decided(&group, &varying) {
                    // Two statements: the lines with a masked value at `q`, and the rest.
                    let (masked, words): (Vec<ShapeId>, Vec<ShapeId>) = group
                        .into_iter()
                        .partition(|sh| self.shapes[sh.index()].codes[q] == VAR);
                    work.push((words, cols.clone()));
                    work.push((masked, cols));
                    continue;
                }
            }
            let Some(&(_, split_at)) = constants.iter().min() else {
                done.push(group);
                continue;
            };
            let mut parts: Vec<(u32, Vec<ShapeId>)> = Vec::new();
            for sh in group {
                let v = self.shapes[sh.index()].codes[split_at];
                match parts.iter_mut().find(|(pv, _)| *pv == v) {
                    Some(part) => part.1.push(sh),
                    None => parts.push((v, vec![sh])),
                }
            }
            let rest: Vec<usize> = cols.into_iter().filter(|&c| c != split_at).collect();
            // Reversed so the first part is finished first: template order stays the
            // order of first appearance.
            for (_, part) in parts.into_iter().rev() {
                work.push((part, rest.clone()));
            }
        }
        done
    }

    /// A position `q` that holds a masked value in some lines of `group` and a word in
    /// others, where which of the two it holds is decided by the word at another varying
    /// position: the mark of two statements sharing a skeleton (`--> GET <url>` against
    /// `--> END GET`), not of one statement's values.
    fn kind_decided(&self, group: &[ShapeId], varying: &[(usize, Vec<u32>)]) -> Option<usize> {
        let code_at = |sh: &ShapeId, i: usize| self.shapes[sh.index()].codes[i];
        let mixed = varying
            .iter()
            .filter(|(_, values)| values.contains(&VAR) && values.iter().any(|&v| v >= FIRST_WORD))
            .map(|(c, _)| *c);
        for q in mixed {
            let decided = varying.iter().any(|(p, values)| {
                if *p == q || values.contains(&VAR) {
                    return false;
                }
                // One pass: the kind at `q` first seen with each value at `p` must be the
                // kind at `q` in every line with that value.
                let mut kind_of: QuickMap<u32, bool> = QuickMap::default();
                group.iter().all(|sh| {
                    let kind = code_at(sh, q) == VAR;
                    *kind_of.entry(code_at(sh, *p)).or_insert(kind) == kind
                })
            });
            if decided {
                return Some(q);
            }
        }
        None
    }

    /// Whether a varying position of a candidate group holds a variable.
    fn is_variable_position(
        &self,
        col: usize,
        values: &[u32],
        group: &[ShapeId],
        shared: &QuickMap<u32, ()>,
        s: &MinerSettings,
    ) -> bool {
        if values.contains(&VAR) {
            return true;
        }
        let code_at = |sh: &ShapeId, i: usize| self.shapes[sh.index()].codes.get(i).copied();
        // Where the message's punctuation says a value goes: after `key=`, inside quotes.
        let quote = |c: Option<u32>| c == Some(DOUBLE_QUOTE) || c == Some(SINGLE_QUOTE);
        let is_value = |sh: &ShapeId| {
            col > 0
                && (code_at(sh, col - 1) == Some(EQUALS)
                    || (col > 1
                        && quote(code_at(sh, col - 1))
                        && code_at(sh, col - 2) == Some(EQUALS)))
        };
        if s.key_values_vary && group.iter().all(is_value) {
            return true;
        }
        if s.enum_constants
            && values
                .iter()
                .all(|&v| self.word(v).is_some_and(|w| w.enum_name))
        {
            return values.len() >= s.min_enum_values;
        }
        let is_key = group.iter().all(|sh| code_at(sh, col + 1) == Some(EQUALS));
        if s.identifiers_vary && !is_key && values.iter().any(|&v| self.is_identifier(v, s)) {
            return true;
        }
        if s.shared_values > 0
            && values.len() >= s.shared_values
            && values.iter().all(|v| shared.contains_key(v))
        {
            return true;
        }
        values.len() >= s.min_values_for_variable
    }

    /// The cluster's token pattern: positions where its shapes differ become variables.
    fn generalise(&self, cluster: &[ShapeId]) -> Vec<u32> {
        let mut pattern: Vec<u32> = self.shapes[cluster[0].index()].codes.to_vec();
        for s in &cluster[1..] {
            for (p, &c) in pattern.iter_mut().zip(self.shapes[s.index()].codes.iter()) {
                if *p != c {
                    *p = VAR;
                }
            }
        }
        pattern
    }

    /// A hash of the tokens of `codes` as text: a key that depends on the tokens only,
    /// never on the order they were first seen in (codes are numbered by first sight).
    fn canonical(&self, codes: &[u32]) -> u64 {
        let mut h = QuickHasher::default();
        for &c in codes {
            match c {
                c if c < FIRST_WORD => h.write_u32(c),
                c => {
                    h.write(self.word(c).map_or(&b""[..], |w| w.text.as_bytes()));
                    h.write_u32(u32::MAX);
                }
            }
        }
        h.finish()
    }

    /// Step 3: each cluster is aligned with the larger clusters of its tag that share
    /// most of its words, and joins the first where every stretch they differ in is a
    /// slot. Returns each cluster's root, and the stretches of roots that became slots.
    fn merge_regions(
        &self,
        clusters: &[Vec<ShapeId>],
        patterns: &[Vec<u32>],
        counts: &[u64],
        s: &MinerSettings,
    ) -> (Vec<usize>, Vec<(usize, usize, usize)>) {
        let n = clusters.len();
        let mut parent: Vec<usize> = (0..n).collect();
        let tag_of = |c: usize| self.shapes[clusters[c][0].index()].tag;
        // Largest first; equal counts by their pattern, so the order (and which cluster
        // anchors a merge) does not depend on the order lines came in.
        let keys: Vec<u64> = patterns.iter().map(|p| self.canonical(p)).collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&i, &j| {
            (tag_of(i), std::cmp::Reverse(counts[i]), &keys[i]).cmp(&(
                tag_of(j),
                std::cmp::Reverse(counts[j]),
                &keys[j],
            ))
        });
        // Each pattern's words, sorted: how many two share bounds how many an alignment
        // can match, so most pairs are ruled out without aligning them.
        let words: Vec<Vec<u32>> = patterns
            .iter()
            .map(|p| {
                let mut w: Vec<u32> = p.iter().copied().filter(|&c| c >= FIRST_WORD).collect();
                w.sort_unstable();
                w
            })
            .collect();
        let mut rank = vec![0usize; n];
        for (r, &c) in order.iter().enumerate() {
            rank[c] = r;
        }
        // Pass 1: for each cluster, the larger clusters it aligns best with.
        let mut proposals: Vec<Vec<(usize, Vec<Gap>)>> = vec![Vec::new(); n];
        let mut start = 0;
        for (rank, &b) in order.iter().enumerate() {
            if rank > 0 && tag_of(order[rank - 1]) != tag_of(b) {
                start = rank;
            }
            let needed = |a: usize| s.region_min_match * words[a].len().max(words[b].len());
            let mut scored: Vec<(usize, usize)> = order[start..rank]
                .iter()
                .map(|&a| (shared(&words[a], &words[b]), a))
                .filter(|&(sh, a)| sh * 100 >= needed(a))
                .collect();
            scored.sort_by_key(|&(sh, _)| std::cmp::Reverse(sh));
            scored.truncate(ALIGNED_PARTNERS);
            let mut aligned: Vec<(usize, usize, Vec<Gap>)> = Vec::new();
            for &(_, a) in &scored {
                let (pa, pb) = (&patterns[a], &patterns[b]);
                if (pa.len() + 1) * (pb.len() + 1) > MAX_ALIGNMENT_CELLS {
                    continue;
                }
                let (matched, matched_words, gaps) = align(pa, pb);
                // The share of words matched: variables and punctuation, which lists
                // and optional values add, do not count against a match.
                if matched_words * 100 >= needed(a) {
                    aligned.push((matched, a, gaps));
                }
            }
            aligned.sort_by_key(|&(m, _, _)| std::cmp::Reverse(m));
            proposals[b] = aligned.into_iter().map(|(_, a, g)| (a, g)).collect();
        }
        // Pass 2: join the best-matching larger cluster all of whose differences are
        // slots.
        let mut slots = Vec::new();
        for &b in &order {
            for (a, gaps) in &proposals[b] {
                let slot = |g: &Gap| self.gap_is_slot(&patterns[*a], &patterns[b], g, s);
                let gaps = if gaps.iter().all(slot) {
                    gaps.clone()
                } else {
                    // The alignment may cut one optional part in two at a bracket both
                    // sides have (`(1 KB)` against `(1 KB (1024 bytes))`): judged again
                    // with stretches joined across matched punctuation and variables.
                    let joined = coalesce(&patterns[*a], gaps);
                    if !joined.iter().all(slot) {
                        continue;
                    }
                    joined
                };
                let ra = find(&mut parent, *a);
                let rb = find(&mut parent, b);
                // The root of a union is its cluster that comes first in `order`.
                if ra != rb {
                    let (first, second) = if rank[ra] < rank[rb] {
                        (ra, rb)
                    } else {
                        (rb, ra)
                    };
                    parent[second] = first;
                }
                if ra == *a {
                    slots.extend(gaps.iter().map(|g| (ra, g.a.0, g.a.1)));
                }
                break;
            }
        }
        ((0..n).map(|i| find(&mut parent, i)).collect(), slots)
    }

    /// Step 4: templates of one tag that are the same outside one stretch (their
    /// *skeleton*: the tokens before and after it) are one statement when what they hold
    /// in the stretch varies like a value across all of them
    /// ([`fillers_are_slot`](Self::fillers_are_slot)). The stretches tried are each
    /// token, each place between two tokens (an optional value), the inside of each
    /// pair of brackets or quotes and, with `open_values`, each run of up to
    /// `MAX_OPEN_STRETCH` tokens outside brackets. This is the statistic of step 2 taken
    /// over templates instead of lines: it reaches a value that step 1 kept apart because
    /// it looked like a constant word in some lines, and a value of several tokens (a
    /// name with spaces, a value with an optional detail, a list of words). The skeleton
    /// must hold at least two words (around an open run, `skeleton_words`: an open run
    /// asks for many fillers instead) and, except around an open run, at least as many
    /// as the stretch, so statements sharing a word or two are not taken for one with a
    /// long slot. With `open_values`, templates left over then join a larger one that
    /// differs from them only at its new slots
    /// ([`absorb_into_slots`](Self::absorb_into_slots)).
    /// Returns each cluster's root and the stretches of roots that became slots.
    fn merge_skeletons(
        &self,
        clusters: &[Vec<ShapeId>],
        patterns: &[Vec<u32>],
        counts: &[u64],
        roots: Vec<usize>,
        s: &MinerSettings,
    ) -> (Vec<usize>, Vec<(usize, usize, usize)>) {
        let n = clusters.len();
        let tag_of = |c: usize| self.shapes[clusters[c][0].index()].tag;
        let mut totals = vec![0u64; n];
        for (c, &r) in roots.iter().enumerate() {
            totals[r] += counts[c];
        }
        let mut distinct: Vec<usize> = roots.clone();
        distinct.sort_unstable();
        distinct.dedup();
        // The largest template leads a union, equal ones by pattern, so which one leads
        // does not depend on the order lines came in.
        let rank: Vec<(u32, std::cmp::Reverse<u64>, u64)> = (0..n)
            .map(|r| {
                let canonical = if roots[r] == r {
                    self.canonical(&patterns[r])
                } else {
                    0
                };
                (tag_of(r), std::cmp::Reverse(totals[r]), canonical)
            })
            .collect();
        // (tag, prefix length, suffix length, prefix hash, suffix hash) -> stretches.
        type SkeletonKey = (u32, u32, u32, u64, u64);
        // Most keys have one stretch, so a key holds the first and last of a chain of
        // stretches in `stretches` (each with the index of the next) instead of a Vec of
        // its own: an allocation per key was a large share of this step.
        let mut skeletons: QuickMap<SkeletonKey, (u32, u32)> = QuickMap::default();
        let mut stretches: Vec<((usize, usize, usize), u32)> = Vec::new();
        // Each template's prefix and suffix hashes and its count of words before each
        // position.
        struct Hashes {
            prefix: Vec<u64>,
            suffix: Vec<u64>,
            words: Vec<usize>,
        }
        let hashes: Vec<Hashes> = distinct
            .iter()
            .map(|&r| {
                let p = &patterns[r];
                let len = p.len();
                let mut prefix = vec![0u64; len + 1];
                let mut words = vec![0usize; len + 1];
                for i in 0..len {
                    let mut h = QuickHasher(prefix[i]);
                    h.write_u32(p[i]);
                    prefix[i + 1] = h.finish();
                    words[i + 1] = words[i] + usize::from(p[i] >= FIRST_WORD);
                }
                let mut suffix = vec![0u64; len + 1];
                for j in (0..len).rev() {
                    let mut h = QuickHasher(suffix[j + 1]);
                    h.write_u32(p[j]);
                    suffix[j] = h.finish();
                }
                Hashes {
                    prefix,
                    suffix,
                    words,
                }
            })
            .collect();
        // How many templates share each prefix and each suffix: an open run is only
        // worth a key where another template has the same tokens before it and after
        // it (a key with one template never merges), which keeps the many runs cheap.
        let mut shared_ends: QuickMap<(u32, bool, u32, u64), u32> = QuickMap::default();
        if s.open_values > 0 {
            // Sized up front (only looked up, never iterated): growing it cost more than
            // filling it.
            shared_ends.reserve(hashes.iter().map(|h| 2 * h.prefix.len()).sum());
            for (&r, h) in distinct.iter().zip(&hashes) {
                let len = h.prefix.len() - 1;
                for i in 0..=len {
                    *shared_ends
                        .entry((tag_of(r), true, i as u32, h.prefix[i]))
                        .or_insert(0) += 1;
                    *shared_ends
                        .entry((tag_of(r), false, (len - i) as u32, h.suffix[i]))
                        .or_insert(0) += 1;
                }
            }
        }
        let shared = |r: usize, before: bool, at: usize, hash: u64| {
            shared_ends
                .get(&(tag_of(r), before, at as u32, hash))
                .is_some_and(|&n| n >= 2)
        };
        for (&r, h) in distinct.iter().zip(&hashes) {
            let p = &patterns[r];
            let len = p.len();
            let (prefix, suffix, words) = (&h.prefix, &h.suffix, &h.words);
            let tokens = (0..len).flat_map(|i| [(i, i), (i, i + 1)]);
            let bracketed = bracket_pairs(p)
                .into_iter()
                .map(|(open, close)| (open + 1, close))
                .filter(|&(i, j)| j > i + 1);
            let open_runs = (0..len)
                .filter(|&i| s.open_values > 0 && shared(r, true, i, prefix[i]))
                .flat_map(|i| (i + 2..=len.min(i + MAX_OPEN_STRETCH)).map(move |j| (i, j)))
                .filter(|&(_, j)| shared(r, false, len - j, suffix[j]));
            for (i, j) in tokens.chain([(len, len)]).chain(bracketed).chain(open_runs) {
                let skeleton = words[i] + words[len] - words[j];
                // Around an open run many fillers are asked for instead
                // ([`open_slot`](Self::open_slot)).
                let enclosed = i > 0 && p.get(j).is_some_and(|&c| closes(p[i - 1], c));
                let open = s.open_values > 0 && j >= i + 2 && !enclosed;
                let least = if open {
                    s.skeleton_words
                } else {
                    SKELETON_WORDS
                };
                if skeleton < least || (!open && skeleton < words[j] - words[i]) {
                    continue;
                }
                let key = (tag_of(r), i as u32, (len - j) as u32, prefix[i], suffix[j]);
                let at = stretches.len() as u32;
                stretches.push(((r, i, j), NO_NEXT));
                skeletons
                    .entry(key)
                    .and_modify(|(_, last)| {
                        if let Some(prev) = stretches.get_mut(*last as usize) {
                            prev.1 = at;
                        }
                        *last = at;
                    })
                    .or_insert((at, at));
            }
        }
        let mut parent: Vec<usize> = (0..n).collect();
        // Positions of each template that became slots here.
        let mut marks: Vec<Vec<bool>> = patterns.iter().map(|p| vec![false; p.len()]).collect();
        let mut members: Vec<(usize, usize, usize)> = Vec::new();
        for &(first, _) in skeletons.values() {
            members.clear();
            let mut at = first;
            while let Some(&(stretch, next)) = stretches.get(at as usize) {
                members.push(stretch);
                at = next;
            }
            if members.len() < 2 {
                continue;
            }
            let (r0, i0, j0) = members[0];
            let p0 = &patterns[r0];
            // The same skeleton for real, not only the same hash.
            let same: Vec<(usize, usize, usize)> = members
                .iter()
                .copied()
                .filter(|&(r, i, j)| {
                    let p = &patterns[r];
                    p[..i] == p0[..i0] && p[j..] == p0[j0..]
                })
                .collect();
            let mut fillers: Vec<&[u32]> =
                same.iter().map(|&(r, i, j)| &patterns[r][i..j]).collect();
            fillers.sort_unstable();
            fillers.dedup();
            let place = Place {
                enclosed: i0 > 0 && p0.get(j0).is_some_and(|&close| closes(p0[i0 - 1], close)),
                first: i0 == 0,
            };
            if fillers.len() < 2 || !self.fillers_are_slot(&fillers, place, s) {
                continue;
            }
            for &(r, i, j) in &same {
                let (a, b) = (find(&mut parent, r0), find(&mut parent, r));
                if a != b {
                    let (first, second) = if rank[a] <= rank[b] { (a, b) } else { (b, a) };
                    parent[second] = first;
                }
                for m in &mut marks[r][i..j] {
                    *m = true;
                }
            }
        }
        for (c, &r) in roots.iter().enumerate() {
            if c != r {
                parent[c] = find(&mut parent, r);
            }
        }
        if s.open_values > 0 || s.var_absorb {
            self.absorb_into_slots(clusters, patterns, counts, &marks, &mut parent, s);
        }
        let roots: Vec<usize> = (0..n).map(|c| find(&mut parent, c)).collect();
        let mut slots = Vec::new();
        for (r, m) in marks.iter().enumerate() {
            if roots[r] == r {
                slots.extend((0..m.len()).filter(|&k| m[k]).map(|k| (r, k, k + 1)));
            }
        }
        (roots, slots)
    }

    /// After step 4, a template too rare to have been judged with others at a place
    /// (a statement whose lines vary at two places, one of them seen with fewer
    /// fillers than a slot needs) joins a larger template of its tag that it matches
    /// when each slot step 4 made in that template may hold any run of up to
    /// `MAX_OPEN_STRETCH` tokens and every other token is the same: its difference is
    /// only where the larger one's lines were already shown to vary like a value. With
    /// `var_absorb`, each variable of the larger template (of two words or more) may
    /// also hold a run of words without the wording of a sentence: a value of several
    /// words in the few lines that kept them out of the larger template's group.
    fn absorb_into_slots(
        &self,
        clusters: &[Vec<ShapeId>],
        patterns: &[Vec<u32>],
        counts: &[u64],
        marks: &[Vec<bool>],
        parent: &mut [usize],
        s: &MinerSettings,
    ) {
        let n = clusters.len();
        let tag_of = |c: usize| self.shapes[clusters[c][0].index()].tag;
        let mut totals = vec![0u64; n];
        for (c, &count) in counts.iter().enumerate() {
            let r = find(parent, c);
            totals[r] += count;
        }
        let mut roots: Vec<usize> = (0..n).filter(|&c| find(parent, c) == c).collect();
        roots.sort_by_key(|&r| {
            (
                tag_of(r),
                std::cmp::Reverse(totals[r]),
                self.canonical(&patterns[r]),
            )
        });
        // Each root as it reads now, and what each of its tokens may stand for.
        let written: Vec<(Vec<u32>, Vec<Stands>)> = roots
            .iter()
            .map(|&r| {
                let (codes, spans) = written_with_slots(&patterns[r], &marks[r]);
                let words = codes.iter().filter(|&&c| c >= FIRST_WORD).count();
                // A template keeping fewer than two words of its own: only its open
                // slots, shown by many fillers, take runs in; its variables do not.
                let thin = words < SKELETON_WORDS;
                let stands = spans
                    .iter()
                    .zip(&codes)
                    .map(|(&(a, b), &c)| {
                        if marks[r][a..b].iter().any(|&m| m) {
                            Stands::Run
                        } else if c == VAR && s.var_absorb && !thin {
                            Stands::Value
                        } else {
                            Stands::Itself
                        }
                    })
                    .collect();
                (codes, stands)
            })
            .collect();
        // Only templates with such slots can take others in, and only those keeping
        // `skeleton_words` words of their own outside them (a thinner one would take in
        // any short message); a cheap look at length and first token rules out most
        // pairs before they are matched.
        let takers: Vec<usize> = (0..roots.len())
            .filter(|&m| {
                let (codes, stands) = (&written[m].0, &written[m].1);
                let kept = codes
                    .iter()
                    .zip(stands)
                    .filter(|&(&c, &x)| x == Stands::Itself && c >= FIRST_WORD)
                    .count();
                kept >= s.skeleton_words.max(1) && stands.iter().any(|&x| x != Stands::Itself)
            })
            .collect();
        // A run a variable takes: several tokens, none a variable or a bracket or quote
        // (words beside a value, an optional part of the statement), and no wording of
        // a sentence.
        let value = |run: &[u32]| {
            run.len() >= 2
                && !run.iter().any(|&c| c == VAR || is_bracket(c))
                && !self.has_wording(run)
        };
        for (k, &small) in roots.iter().enumerate() {
            let codes = &written[k].0;
            for &m in takers.iter().take_while(|&&m| m < k) {
                let large = roots[m];
                let (pattern, slots) = (&written[m].0, &written[m].1);
                let runs = slots.iter().filter(|&&x| x != Stands::Itself).count();
                let fixed = pattern.len() - runs;
                let fits =
                    fixed + runs <= codes.len() && codes.len() <= fixed + runs * MAX_OPEN_STRETCH;
                let starts = slots.first().is_some_and(|&x| x != Stands::Itself)
                    || pattern.first() == codes.first();
                let ends = slots.last().is_some_and(|&x| x != Stands::Itself)
                    || pattern.last() == codes.last();
                if tag_of(large) != tag_of(small) || !fits || !starts || !ends {
                    continue;
                }
                if !keeps_in_order(pattern, slots, codes) {
                    continue;
                }
                if glob_match(pattern, slots, codes, value) {
                    let (a, b) = (find(parent, large), find(parent, small));
                    if a != b {
                        parent[b] = a;
                    }
                    break;
                }
            }
        }
    }

    /// Whether what templates sharing a skeleton hold at one place (`fillers`, distinct)
    /// is a value. One token or none: when one of them names something, or one is a
    /// variable and another a word (a value that looked like a word in some lines), but
    /// not at the start when the first word is a constant (`first_word_anchor`).
    /// Several tokens: only inside brackets or quotes, when they take at least
    /// `min_values_for_variable` values or each is a value with an optional bracketed
    /// detail, no word is in all of them (a word every one has is a constant, so the
    /// stretch is not the slot) and none is a phrase ([`is_phrase`](Self::is_phrase):
    /// different wording of a message, not a name).
    fn fillers_are_slot(&self, fillers: &[&[u32]], place: Place, s: &MinerSettings) -> bool {
        if fillers.iter().all(|f| f.len() <= 1) {
            let names = fillers
                .iter()
                .any(|f| f.first().is_some_and(|&c| self.is_identifier(c, s)));
            let variable = fillers.iter().any(|f| f == &[VAR]);
            let anchored = place.first && s.first_word_anchor;
            return (s.identifiers_vary && names) || (variable && !anchored);
        }
        let enough = fillers.len() >= s.min_values_for_variable
            || fillers.iter().all(|f| optional_detail(f));
        if !place.enclosed {
            return self.open_slot(fillers, place, s);
        }
        if !enough {
            return false;
        }
        let in_all = |c: &u32| fillers.iter().all(|f| f.contains(c));
        if fillers[0].iter().any(|c| *c >= FIRST_WORD && in_all(c)) {
            return false;
        }
        !fillers.iter().any(|f| self.is_phrase(f))
    }

    /// Whether fillers of several tokens outside brackets are a value (`open_values`).
    /// There the Loghub labels keep phrases (states, error texts) as constants, so only
    /// an open set of values is a slot: at least `open_values` distinct non-empty
    /// fillers, that differ in their first and in their last token (the place is where
    /// they differ, not the words around it), with no word common to all, and no
    /// wording of a sentence in any (two neighbouring plain words, lower case after the
    /// first: `Connection refused`), unless the fillers are a list of words
    /// ([`is_list`](Self::is_list)). Not at the start when the first word is a constant,
    /// unless lists are told by their order (`list_items_move`): at the start the old
    /// list test took a statement's words, shifted by names of different lengths before
    /// them, for a list.
    fn open_slot(&self, fillers: &[&[u32]], place: Place, s: &MinerSettings) -> bool {
        let filled: Vec<&[u32]> = fillers.iter().copied().filter(|f| !f.is_empty()).collect();
        if s.open_values == 0
            || filled.len() < s.open_values
            || (place.first && s.first_word_anchor && !s.list_items_move)
        {
            return false;
        }
        let same_first = filled.iter().all(|f| f.first() == filled[0].first());
        let same_last = filled.iter().all(|f| f.last() == filled[0].last());
        if same_first || same_last {
            return false;
        }
        let in_all = |c: &u32| filled.iter().all(|f| f.contains(c));
        if filled[0].iter().any(|c| *c >= FIRST_WORD && in_all(c)) {
            return false;
        }
        self.is_list(&filled, s) || !filled.iter().any(|f| self.has_wording(f))
    }

    /// Whether the fillers of a place are a list of words: items with nothing but spaces
    /// between them, the same items in another order or number. With `list_items_move`,
    /// two words stand in one order in one filler and in the other order in another,
    /// and every pair of words reading as a sentence has such an item in it: the words
    /// of a statement keep their order when names of different lengths before them
    /// shift them (`Mom read up to` against `Chen Wei read up to`), so a word at another
    /// offset is not enough. Without it, a word of one filler at another offset in
    /// another makes a list.
    fn is_list(&self, filled: &[&[u32]], s: &MinerSettings) -> bool {
        let spaced = filled
            .iter()
            .all(|f| f.iter().all(|&c| c == VAR || c >= FIRST_WORD));
        if !spaced {
            return false;
        }
        if !s.list_items_move {
            let mut seen: QuickMap<u32, (usize, usize)> = QuickMap::default();
            let mut moved = false;
            for (n, f) in filled.iter().enumerate() {
                for (k, &c) in f.iter().enumerate().filter(|&(_, &c)| c >= FIRST_WORD) {
                    let (offset, filler) = *seen.entry(c).or_insert((k, n));
                    moved |= filler != n && offset != k;
                }
            }
            return moved;
        }
        let mut before: QuickMap<(u32, u32), ()> = QuickMap::default();
        for f in filled {
            let words: Vec<u32> = f.iter().copied().filter(|&c| c >= FIRST_WORD).collect();
            for (k, &a) in words.iter().enumerate() {
                for &b in words[k + 1..].iter().filter(|&&b| b != a) {
                    before.insert((a, b), ());
                }
            }
        }
        let items: QuickMap<u32, ()> = before
            .keys()
            .filter(|&&(a, b)| before.contains_key(&(b, a)))
            .map(|&(a, _)| (a, ()))
            .collect();
        !items.is_empty()
            && filled.iter().all(|f| {
                f.windows(2).all(|w| {
                    !self.is_wording(w[0], w[1])
                        || items.contains_key(&w[0])
                        || items.contains_key(&w[1])
                })
            })
    }

    /// Whether two neighbouring tokens are plain words (letters only), the second in
    /// lower case: the wording of a sentence, not a name.
    fn is_wording(&self, a: u32, b: u32) -> bool {
        match (self.word(a), self.word(b)) {
            (Some(a), Some(b)) => {
                a.alphabetic
                    && b.alphabetic
                    && b.text
                        .as_bytes()
                        .first()
                        .is_some_and(u8::is_ascii_lowercase)
            }
            _ => false,
        }
    }

    /// Whether `codes` holds the wording of a sentence ([`is_wording`](Self::is_wording)).
    fn has_wording(&self, codes: &[u32]) -> bool {
        codes.windows(2).any(|w| self.is_wording(w[0], w[1]))
    }

    /// Whether `codes` is two or more words and nothing else, all plain words of a
    /// sentence (letters only, lower case after the first): wording, not a name (and not
    /// a list, whose items punctuation separates).
    fn is_phrase(&self, codes: &[u32]) -> bool {
        let words: Vec<&WordInfo> = codes.iter().filter_map(|&c| self.word(c)).collect();
        words.len() >= 2
            && words.len() == codes.len()
            && words.iter().enumerate().all(|(k, w)| {
                w.alphabetic
                    && (k == 0
                        || w.text
                            .as_bytes()
                            .first()
                            .is_some_and(u8::is_ascii_lowercase))
            })
    }

    /// Whether one stretch where two aligned patterns differ is a variable part: only
    /// variables and punctuation on both sides, touching a variable (an optional value,
    /// a list of any length, a value with punctuation in it).
    fn gap_is_slot(&self, a: &[u32], b: &[u32], g: &Gap, s: &MinerSettings) -> bool {
        let (ga, gb) = (&a[g.a.0..g.a.1], &b[g.b.0..g.b.1]);
        let word = |c: &u32| *c >= FIRST_WORD && !(s.identifiers_vary && self.is_identifier(*c, s));
        let before = g.a.0.checked_sub(1).map(|i| a[i]);
        let after = a.get(g.a.1).copied();
        !ga.iter().any(word)
            && !gb.iter().any(word)
            && (ga.contains(&VAR) || gb.contains(&VAR) || before == Some(VAR) || after == Some(VAR))
    }

    /// Builds the template of a union of clusters, rendered from its largest cluster.
    fn describe(&self, root: &[ShapeId], pattern: &[u32], members: &[ShapeId]) -> Template {
        let lead = &self.shapes[root[0].index()];
        let example = lead.examples.first().cloned().unwrap_or_default();
        let slots: Vec<usize> = (0..pattern.len()).filter(|&i| pattern[i] == VAR).collect();
        let text = if lead.tokens.len() == pattern.len() {
            render(&example, &lead.tokens, |i| pattern[i] == VAR)
        } else {
            mask(&example)
        };
        // Slot values from each shape's first example (its tokens are kept), then, while
        // a slot has fewer than it may show, from the other examples.
        let mut slot_examples: Vec<Vec<String>> = vec![Vec::new(); slots.len()];
        let collect = |found: &mut [Vec<String>], message: &str, tokens: &[Token]| {
            if tokens.len() != pattern.len() {
                return;
            }
            for (seen, &pos) in found.iter_mut().zip(&slots) {
                let value = tokens[pos].text(message);
                if seen.len() < EXAMPLES_PER_SLOT && !seen.iter().any(|v| v == value) {
                    seen.push(value.to_string());
                }
            }
        };
        for s in root {
            let shape = &self.shapes[s.index()];
            if let Some(first) = shape.examples.first() {
                collect(&mut slot_examples, first, &shape.tokens);
            }
        }
        'more: for s in root {
            for message in self.shapes[s.index()].examples.iter().skip(1) {
                if slot_examples.iter().all(|e| e.len() >= EXAMPLES_PER_SLOT) {
                    break 'more;
                }
                let tokens = tokenize(message, &self.settings);
                collect(&mut slot_examples, message, &tokens);
            }
        }
        let mut count = 0;
        let mut first_ms = i64::MAX;
        let mut last_ms = i64::MIN;
        let mut levels = 0u8;
        let mut critical_example = None;
        let mut sorted: Vec<ShapeId> = members.to_vec();
        sorted.sort_unstable();
        for s in &sorted {
            let shape = &self.shapes[s.index()];
            count += shape.count;
            first_ms = first_ms.min(shape.first_ms);
            last_ms = last_ms.max(shape.last_ms);
            levels |= shape.levels;
            if critical_example.is_none() {
                critical_example = shape.critical_example.clone();
            }
        }
        Template {
            tag: self
                .tags
                .get(lead.tag as usize)
                .cloned()
                .unwrap_or_default(),
            text,
            count,
            first_ms,
            last_ms,
            levels: LogLevel::ALL
                .into_iter()
                .filter(|l| levels & l.bit() != 0)
                .collect(),
            slot_examples,
            example,
            critical_example,
        }
    }
}

/// One stretch where two aligned patterns differ: `a.0..a.1` of the first against
/// `b.0..b.1` of the second (either may be empty).
#[derive(Debug, Clone)]
struct Gap {
    a: (usize, usize),
    b: (usize, usize),
}

/// Where a stretch of step 4 lies in its skeleton.
#[derive(Debug, Clone, Copy)]
struct Place {
    /// Inside one pair of brackets or quotes.
    enclosed: bool,
    /// At the start of the message.
    first: bool,
}

/// Whether `code` is a bracket or a quote.
fn is_bracket(code: u32) -> bool {
    b"()[]{}<>\"'".iter().any(|&b| code == delimiter_code(b))
}

/// The root of `x`'s union in a union-find forest (halving the path on the way): how
/// the merge steps join clusters.
fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// What a token of a template may stand for when another template is matched with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stands {
    /// The same token.
    Itself,
    /// A run of 1 to `MAX_OPEN_STRETCH` tokens.
    Run,
    /// Such a run that `value` accepts, or a variable.
    Value,
}

/// Whether `codes` reads as `pattern` where each token of `pattern` stands for what
/// `slots` says: itself, any run of 1 to `MAX_OPEN_STRETCH` tokens, or such a run that
/// `value` accepts.
fn glob_match(
    pattern: &[u32],
    slots: &[Stands],
    codes: &[u32],
    value: impl Fn(&[u32]) -> bool,
) -> bool {
    let (n, m) = (pattern.len(), codes.len());
    // can[i][j]: pattern[i..] matches codes[j..].
    let width = m + 1;
    let mut can = vec![false; (n + 1) * width];
    can[n * width + m] = true;
    for i in (0..n).rev() {
        for j in (0..=m).rev() {
            can[i * width + j] = match slots.get(i).copied().unwrap_or(Stands::Itself) {
                Stands::Itself => j < m && pattern[i] == codes[j] && can[(i + 1) * width + j + 1],
                stands => (1..=MAX_OPEN_STRETCH).take_while(|l| j + l <= m).any(|l| {
                    can[(i + 1) * width + j + l]
                        && (stands == Stands::Run
                            || (l == 1 && codes[j] == VAR)
                            || value(&codes[j..j + l]))
                }),
            };
        }
    }
    can[0]
}

/// Whether the tokens of `pattern` that stand for themselves occur in `codes` in the
/// same order: what [`glob_match`] needs before anything else, checked in one pass.
fn keeps_in_order(pattern: &[u32], slots: &[Stands], codes: &[u32]) -> bool {
    let mut rest = codes.iter();
    pattern
        .iter()
        .zip(slots)
        .filter(|&(_, &x)| x == Stands::Itself)
        .all(|(p, _)| rest.any(|c| c == p))
}

/// `pattern` with the positions in `marks` made slots and each run of slots written as
/// one, with the positions of `pattern` each of its tokens covers.
fn written_with_slots(pattern: &[u32], marks: &[bool]) -> (Vec<u32>, Vec<(usize, usize)>) {
    let mut codes: Vec<u32> = Vec::with_capacity(pattern.len());
    let mut spans: Vec<(usize, usize)> = Vec::with_capacity(pattern.len());
    let mut last_marked = false;
    for (k, &c) in pattern.iter().enumerate() {
        let marked = marks.get(k).copied().unwrap_or(false);
        let c = if marked { VAR } else { c };
        match (codes.last(), spans.last_mut()) {
            (Some(&VAR), Some(span)) if c == VAR && (marked || last_marked) => {
                span.1 = k + 1;
                last_marked |= marked;
            }
            _ => {
                codes.push(c);
                spans.push((k, k + 1));
                last_marked = marked;
            }
        }
    }
    (codes, spans)
}

/// Whether `codes` is a value, alone or followed by one bracketed part (`<*>`,
/// `<*> (<*> bytes)`, `<*> (Linux; Android <*>)`): a value with an optional detail.
fn optional_detail(codes: &[u32]) -> bool {
    match codes {
        [VAR] => true,
        [VAR, rest @ ..] => bracket_pairs(rest).contains(&(0, rest.len() - 1)),
        _ => false,
    }
}

/// Positions of each opening bracket or quote of `codes` and of the one that closes it.
fn bracket_pairs(codes: &[u32]) -> Vec<(usize, usize)> {
    let mut open: Vec<usize> = Vec::new();
    let mut pairs = Vec::new();
    for (k, &c) in codes.iter().enumerate() {
        if let Some(&o) = open.last() {
            if closes(codes[o], c) {
                open.pop();
                pairs.push((o, k));
                continue;
            }
        }
        let opening = [b'(', b'[', b'{', b'<', b'"', b'\'']
            .iter()
            .any(|&b| c == delimiter_code(b));
        if opening {
            open.push(k);
        }
    }
    pairs
}

/// Whether `close` is the delimiter that closes `open` (a bracket, or the same quote).
fn closes(open: u32, close: u32) -> bool {
    let pair = |a: u8, b: u8| open == delimiter_code(a) && close == delimiter_code(b);
    pair(b'(', b')')
        || pair(b'[', b']')
        || pair(b'{', b'}')
        || pair(b'<', b'>')
        || (open == close && (open == DOUBLE_QUOTE || open == SINGLE_QUOTE))
}

/// `gaps` with neighbouring stretches joined where all `a` holds between them is
/// punctuation and variables.
fn coalesce(a: &[u32], gaps: &[Gap]) -> Vec<Gap> {
    let mut out: Vec<Gap> = Vec::with_capacity(gaps.len());
    for g in gaps {
        if let Some(last) = out.last_mut() {
            if a[last.a.1..g.a.0].iter().all(|&c| c < FIRST_WORD) {
                last.a.1 = g.a.1;
                last.b.1 = g.b.1;
                continue;
            }
        }
        out.push(g.clone());
    }
    out
}

/// Number of elements two sorted lists share, counting repeats as often as both have
/// them.
fn shared(x: &[u32], y: &[u32]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < x.len() && j < y.len() {
        match x[i].cmp(&y[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// Longest common subsequence of `a` and `b`: how many tokens match, how many of them
/// are words, and the stretches between matches.
fn align(a: &[u32], b: &[u32]) -> (usize, usize, Vec<Gap>) {
    let (n, m) = (a.len(), b.len());
    let width = m + 1;
    let mut lcs = vec![0u32; (n + 1) * width];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * width + j] = if a[i] == b[j] {
                lcs[(i + 1) * width + j + 1] + 1
            } else {
                lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let (mut gi, mut gj) = (0, 0);
    let mut gaps = Vec::new();
    let mut matched = 0;
    let mut matched_words = 0;
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] && lcs[i * width + j] == lcs[(i + 1) * width + j + 1] + 1
        {
            if gi < i || gj < j {
                gaps.push(Gap {
                    a: (gi, i),
                    b: (gj, j),
                });
            }
            matched += 1;
            matched_words += usize::from(a[i] >= FIRST_WORD);
            i += 1;
            j += 1;
            gi = i;
            gj = j;
        } else if j >= m || (i < n && lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
            i += 1;
        } else {
            j += 1;
        }
    }
    if gi < n || gj < m {
        gaps.push(Gap {
            a: (gi, n),
            b: (gj, m),
        });
    }
    (matched, matched_words, gaps)
}

/// Groups `messages` and returns one template index per message, in order: the same
/// grouping `accord logs parse` prints.
pub fn group_messages<S: AsRef<str>>(messages: &[S]) -> Vec<usize> {
    let mut miner = TemplateMiner::new();
    let shapes: Vec<ShapeId> = messages.iter().map(|m| miner.add(m.as_ref())).collect();
    let mined = miner.templates();
    shapes.into_iter().map(|s| mined.group_of(s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The groups of `messages` numbered by first appearance, so a test states which
    /// lines share a template whatever numbers the miner gives templates.
    fn groups(messages: &[&str]) -> Vec<usize> {
        groups_with(messages, MinerSettings::default())
    }

    /// [`groups`] with other settings: what a rule changes when it is switched off.
    fn groups_with(messages: &[&str], settings: MinerSettings) -> Vec<usize> {
        let mut miner = TemplateMiner::with_settings(settings);
        let shapes: Vec<ShapeId> = messages.iter().map(|m| miner.add(m)).collect();
        let mined = miner.templates();
        let mut seen: Vec<usize> = Vec::new();
        shapes
            .into_iter()
            .map(|s| mined.group_of(s))
            .map(|g| match seen.iter().position(|&x| x == g) {
                Some(i) => i,
                None => {
                    seen.push(g);
                    seen.len() - 1
                }
            })
            .collect()
    }

    fn texts(mined: &MinedTemplates) -> Vec<&str> {
        mined.templates().iter().map(|t| t.text.as_str()).collect()
    }

    #[test]
    fn quick_hash_of_bytes_is_the_zero_padded_chunk_hash() {
        let bytes: Vec<u8> = (0u8..40)
            .map(|b| b.wrapping_mul(37).wrapping_add(11))
            .collect();
        for len in 0..bytes.len() {
            let mut expected = QuickHasher::default();
            for chunk in bytes[..len].chunks(8) {
                let mut buf = [0u8; 8];
                buf[..chunk.len()].copy_from_slice(chunk);
                expected.write_u64(u64::from_le_bytes(buf));
            }
            let mut h = QuickHasher::default();
            h.write(&bytes[..len]);
            assert_eq!(h.finish(), expected.finish(), "length {len}");
        }
    }

    #[test]
    fn lines_differing_in_numbers_share_a_template() {
        let groups = groups(&[
            "Received block blk_1 of size 67108864 from /10.0.0.1",
            "Received block blk_2 of size 3 from /10.0.0.7",
            "PacketResponder 1 for block blk_1 terminating",
        ]);
        assert_eq!(groups, vec![0, 0, 1]);
    }

    #[test]
    fn a_word_with_many_values_is_a_variable() {
        let mut miner = TemplateMiner::new();
        for user in ["news", "cyrus", "test", "news", "root"] {
            miner.add(&format!("session opened for user {user} by (uid=0)"));
        }
        let mined = miner.templates();
        assert_eq!(
            texts(&mined),
            vec!["session opened for user <*> by (uid=<*>)"]
        );
        assert_eq!(mined.templates()[0].count, 5);
        assert_eq!(
            mined.templates()[0].slot_examples[0],
            vec!["news", "cyrus", "test"]
        );
    }

    #[test]
    fn a_word_with_two_values_names_two_events() {
        let groups = groups(&[
            "The change in focus caused us to need to do a layout begin",
            "The change in focus caused us to need to do a layout end",
            "The change in focus caused us to need to do a layout begin",
        ]);
        assert_eq!(groups, vec![0, 1, 0]);
    }

    #[test]
    fn the_first_word_is_a_constant() {
        let groups = groups(&[
            "boot (command 1911)",
            "wait (command 1975)",
            "halt (command 1982)",
            "boot (command 2000)",
        ]);
        assert_eq!(groups, vec![0, 1, 2, 0]);
    }

    #[test]
    fn states_in_capitals_are_constants_each_transition_its_own_event() {
        let lines = [
            "task_1 Task Transitioned from NEW to SCHEDULED",
            "task_1 Task Transitioned from SCHEDULED to RUNNING",
            "task_2 Task Transitioned from RUNNING to SUCCEEDED",
            "task_3 Task Transitioned from NEW to SCHEDULED",
            "Worker result SUCCESS for job 1",
            "Worker result RETRY for job 2",
            "Worker result SUCCESS for job 3",
        ];
        assert_eq!(groups(&lines), vec![0, 1, 2, 0, 3, 4, 3]);
        // Without `enum_constants`, states taking `min_values_for_variable` values are
        // a variable; two results stay two events.
        let vary = groups_with(
            &lines,
            MinerSettings {
                enum_constants: false,
                min_values_for_variable: 3,
                ..MinerSettings::default()
            },
        );
        assert_eq!(vary, vec![0, 0, 0, 0, 1, 2, 1]);
    }

    #[test]
    fn identifiers_and_key_values_are_variables_even_with_two_values() {
        let groups = groups(&[
            "received broadcast android.intent.action.TIME_TICK",
            "received broadcast android.intent.action.BATTERY_CHANGED",
            "acquire lock=1, tag=\"RILJ_ACK_WL\", name=com.android.phone",
            "acquire lock=2, tag=\"*launch*\", name=android",
        ]);
        assert_eq!(groups, vec![0, 0, 1, 1]);
    }

    #[test]
    fn two_neighbouring_words_changing_together_are_a_different_phrase() {
        let groups = groups(&[
            "program interrupt: illegal instruction......0",
            "program interrupt: privileged instruction...0",
            "program interrupt: imprecise exception......0",
            "program interrupt: illegal instruction......0",
        ]);
        assert_eq!(groups, vec![0, 1, 2, 0]);
    }

    #[test]
    fn optional_and_multi_token_values_merge_across_lengths() {
        let mut miner = TemplateMiner::new();
        let a =
            miner.add("chrome.exe - proxy.example.org:5070 close, 403 bytes sent, lifetime 00:02");
        let b =
            miner.add("chrome.exe - proxy.example.org:5070 close, 9 bytes sent, lifetime <1 sec");
        let c = miner.add("chrome.exe *64 - proxy.example.org:5070 open through proxy");
        let d = miner.add("chrome.exe - proxy.example.org:5070 open through proxy");
        let mined = miner.templates();
        assert_eq!(mined.group_of(a), mined.group_of(b));
        assert_eq!(mined.group_of(c), mined.group_of(d));
        assert_ne!(mined.group_of(a), mined.group_of(c));
    }

    #[test]
    fn an_optional_bracketed_value_is_part_of_the_template() {
        let groups = groups(&[
            "chrome.exe - proxy.example.org:5070 close, 403 bytes sent, 426 bytes received, lifetime 00:02",
            "chrome.exe - proxy.example.org:5070 close, 1190 bytes (1.16 KB) sent, 1671 bytes (1.63 KB) received, lifetime 00:05",
            "chrome.exe - proxy.example.org:5070 close, 7 bytes sent, 26 bytes received, lifetime 00:01",
        ]);
        assert_eq!(groups, vec![0, 0, 0]);
    }

    #[test]
    fn an_optional_clause_with_words_is_a_different_template() {
        let groups = groups(&[
            "Displayed com.example/.Main: +612ms",
            "Displayed com.example/.Main: +1s20ms (total +2s4ms)",
            "Displayed org.example/.Settings: +88ms",
            "Displayed org.example/.Settings: +301ms (total +1s9ms)",
        ]);
        assert_eq!(groups, vec![0, 1, 0, 1]);
    }

    #[test]
    fn a_trailing_protocol_word_keeps_templates_apart() {
        let groups = groups(&[
            "app.exe - example.org:443 open through proxy p.example.org:5070 HTTPS",
            "app.exe - example.org:443 open through proxy p.example.org:5070 SOCKS5",
            "app.exe - example.org:80 open through proxy p.example.org:5070 HTTPS",
        ]);
        assert_eq!(groups, vec![0, 1, 0]);
    }

    #[test]
    fn extra_constant_words_are_a_different_template() {
        let groups = groups(&[
            "Failed password for root from 1.2.3.4 port 22 ssh2",
            "Failed password for invalid user admin from 1.2.3.4 port 22 ssh2",
            "Failed password for invalid user guest from 1.2.3.5 port 23 ssh2",
            "Failed password for invalid user oracle from 1.2.3.5 port 23 ssh2",
            "Failed password for invalid user pi from 1.2.3.6 port 24 ssh2",
        ]);
        assert_eq!(groups, vec![0, 1, 1, 1, 1]);
    }

    #[test]
    fn a_quoted_name_with_spaces_is_one_slot() {
        let groups = groups(&[
            "Connecting to \"HomeNet\" networkId=3",
            "Connecting to \"Cafe Guest\" networkId=8",
            "Connecting to \"Free Airport WiFi\" networkId=1",
            "Connecting to \"eduroam\" networkId=4",
            "Connecting to \"Office-5G\" networkId=2",
        ]);
        assert_eq!(groups, vec![0, 0, 0, 0, 0]);
    }

    #[test]
    fn a_list_of_any_length_is_one_slot() {
        let groups = groups(&[
            "flushed blocks [17, 19, 23] to disk",
            "flushed blocks [4] to disk",
            "flushed blocks [5, 8] to disk",
            "flushed blocks [] to disk",
        ]);
        assert_eq!(groups, vec![0, 0, 0, 0]);
    }

    #[test]
    fn a_value_with_an_optional_bracketed_detail_is_one_slot() {
        let groups = groups(&[
            "client 10.0.0.1 connected (curl/8.5.0)",
            "client 10.0.0.2 connected (Mozilla/5.0 (X11; Linux x86_64; rv:121.0))",
            "client 10.0.0.3 connected (okhttp/4.12.0)",
            "purged 12 keys (512 B) from sessions",
            "purged 7 keys (1.5 KB (1536 bytes)) from sessions",
            "purged 3 keys (9 B) from sessions",
        ]);
        assert_eq!(groups, vec![0, 0, 0, 1, 1, 1]);
    }

    #[test]
    fn a_bracketed_name_with_spaces_is_one_slot() {
        let groups = groups(&[
            "paired speaker 11 (Kitchen) over bluetooth",
            "paired speaker 12 (Living Room Left) over bluetooth",
            "paired speaker 13 (Bath) over bluetooth",
            "paired speaker 14 (Garden Shed) over bluetooth",
            "paired speaker 15 (Kitchen) over bluetooth",
        ]);
        assert_eq!(groups, vec![0, 0, 0, 0, 0]);
    }

    #[test]
    fn bracketed_phrases_of_a_message_stay_apart() {
        let groups = groups(&[
            "upload 1 failed (connection refused)",
            "upload 2 failed (disk quota exceeded)",
            "upload 3 failed (permission denied)",
            "upload 4 failed (connection refused)",
        ]);
        assert_eq!(groups, vec![0, 1, 2, 0]);
    }

    #[test]
    fn names_of_several_words_outside_brackets_are_one_slot() {
        let groups = groups(&[
            "mail sent to Carol Danvers <u1@example.com>",
            "mail sent to Bob <u2@example.com>",
            "mail sent to Alice Liddell <u3@example.com>",
            "mail sent to Dave <u4@example.com>",
            "mail sent to Peter Parker Jr <u5@example.com>",
            "mail sent to Bob <u6@example.com>",
        ]);
        assert_eq!(groups, vec![0; 6]);
    }

    #[test]
    fn a_few_phrases_or_sentence_wording_outside_brackets_stay_apart() {
        // Three reason phrases are too few to be an open set of values.
        let reasons = groups(&[
            "request 1 done: OK in 5",
            "request 2 done: Not Modified in 7",
            "request 3 done: Service Unavailable in 9",
            "request 4 done: OK in 3",
        ]);
        assert_eq!(reasons, vec![0, 1, 2, 0]);
        // Many error texts, but each is the wording of a sentence.
        let errors = groups(&[
            "upload 1 failed: connection refused",
            "upload 2 failed: connection reset by peer",
            "upload 3 failed: network is unreachable",
            "upload 4 failed: no route to host",
            "upload 5 failed: broken pipe",
        ]);
        assert_eq!(errors, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_statement_varying_at_two_places_is_one_template() {
        // A name with spaces in brackets and a list of words after it. The lines of one
        // device show the list varying, the lines with one list show the name varying;
        // a line that differs from both at both places joins the template where both
        // became slots.
        let lines = [
            "Device 0A:01 (Car Audio) connected, profiles: battery",
            "Device 0A:02 (Car Audio) connected, profiles: hfp avrcp",
            "Device 0A:03 (Car Audio) connected, profiles: avrcp",
            "Device 0A:04 (Car Audio) connected, profiles: hfp battery avrcp",
            "Device 0A:05 (Car Audio) connected, profiles: avrcp hfp",
            "Device 0A:06 (Mi Band) connected, profiles: battery",
            "Device 0A:07 (Pixel Buds Pro) connected, profiles: battery",
            "Device 0A:08 (Fitbit Charge) connected, profiles: battery",
            "Device 0A:09 (Car Audio) connected, profiles: battery",
            "Device 0A:10 (Galaxy Watch Classic) connected, profiles: avrcp battery hfp",
        ];
        assert_eq!(groups(&lines), vec![0; 10]);
    }

    #[test]
    fn a_value_of_several_words_in_a_few_lines_joins_the_template_where_it_varies() {
        // The variable after `in` is shown by the one-word cities; the two lines with a
        // city of two words join that template.
        let mut lines: Vec<String> = ["Austin", "Tokyo", "Lagos", "Oslo", "Lima"]
            .iter()
            .enumerate()
            .map(|(k, city)| format!("product {k}0{k} is out of stock in {city}"))
            .collect();
        lines.push("product 977 is out of stock in Cape Town".into());
        lines.push("product 978 is out of stock in São Paulo".into());
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_eq!(groups(&refs), vec![0; 7]);
        // What a variable does not take: the wording of a sentence (`invalid user`
        // before the user name is another statement).
        let mut lines: Vec<String> = ["root", "admin", "pi", "oracle", "test"]
            .iter()
            .enumerate()
            .map(|(k, user)| format!("Failed password for {user} from 10.0.0.{k} port 22"))
            .collect();
        lines.push("Failed password for invalid user guest from 10.0.0.9 port 22".into());
        lines.push("Failed password for invalid user ftp from 10.0.0.8 port 22".into());
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let got = groups(&refs);
        assert_eq!(got[..5], [got[0]; 5]);
        assert_ne!(got[5], got[0]);
    }

    #[test]
    fn a_list_of_codes_joined_by_commas_is_one_value() {
        // A DNS server's flags: one code or several, joined without spaces.
        let flags = ["qr", "qr,aa,rd", "qr,rd", "qr", "qr,aa,rd,ra", "qr"];
        let lines: Vec<String> = flags
            .iter()
            .enumerate()
            .map(|(k, f)| {
                format!(
                    "[INFO] 10.0.0.{k}:53{k} - 41{k} \"A IN host{k}.\" NOERROR {f} 6{k} 0.00{k}s"
                )
            })
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let on = groups_with(
            &refs,
            MinerSettings {
                comma_lists: true,
                ..MinerSettings::default()
            },
        );
        assert_eq!(on, vec![0; 6]);
        // Without the rule (the default since the labels of issue 12's seventh round)
        // the lists of different lengths are apart.
        let off = groups(&refs);
        assert_ne!(off[0], off[1]);
    }

    #[test]
    fn words_the_data_carries_between_statements_are_values() {
        // Three user names, each in two statements: values, though three words at a
        // place are otherwise too few for a variable. Three sources that one statement
        // names stay its text, and so do words another statement keeps as text.
        let mut lines: Vec<String> = Vec::new();
        for (k, user) in ["cyrus", "news", "test"].iter().enumerate() {
            lines.push(format!("session opened for user {user} by (uid={k})"));
            lines.push(format!("session closed for user {user}"));
        }
        for (k, from) in ["memory", "disk", "network"].iter().enumerate() {
            lines.push(format!("loaded product {k} from {from}"));
        }
        for (k, state) in ["on", "off", "idle"].iter().enumerate() {
            lines.push(format!("lamp {k} turned {state}"));
        }
        // The same three in a second statement, but kept as text by others.
        for (k, state) in ["on", "off", "idle"].iter().enumerate() {
            lines.push(format!("fan {k} set to {state}"));
        }
        lines.push("wake on lan enabled".to_string());
        lines.push("all off".to_string());
        lines.push("fan idle".to_string());
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let with = |shared_values: usize| {
            groups_with(
                &refs,
                MinerSettings {
                    shared_values,
                    min_values_for_variable: 4,
                    ..MinerSettings::default()
                },
            )
        };
        let on = with(3);
        assert_eq!(on[0], on[2]);
        assert_eq!(on[0], on[4]);
        assert_eq!(on[1], on[3]);
        assert_eq!(on[1], on[5]);
        assert_ne!(on[6], on[7]);
        assert_ne!(on[7], on[8]);
        assert_ne!(on[9], on[10]);
        assert_ne!(on[12], on[13]);
        // Without the rule the names are three templates of each statement.
        let off = with(0);
        assert_ne!(off[0], off[2]);
    }

    #[test]
    fn names_of_any_length_before_one_constant_word_are_one_slot() {
        // One word of its own (`battery`) and a name users gave of one to four words.
        let names = [
            "Garage Door",
            "Water Leak Sensor",
            "Remote",
            "Back Door Contact",
            "Kitchen Button",
            "Smoke Alarm Upstairs",
            "Doorbell",
            "Office TRV",
            "Garage Side Door Lock",
        ];
        let lines: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(k, name)| format!("{name} battery {}%", 10 + 7 * k))
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_eq!(groups(&refs), vec![0; names.len()]);
        // With two words asked of a skeleton, the names keep them apart.
        let off = groups_with(
            &refs,
            MinerSettings {
                skeleton_words: 2,
                ..MinerSettings::default()
            },
        );
        assert_ne!(off[0], off[2]);
        // A template with one word of its own takes nothing in at a plain variable:
        // `Initializing <*>` (from numbered CPUs) is not `Initializing Cryptographic API`.
        let lines: Vec<String> = (0..6)
            .map(|k| format!("Initializing CPU#{k}"))
            .chain(["Initializing Cryptographic API".to_string()])
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let got = groups(&refs);
        assert_eq!(got[..6], [0; 6]);
        assert_ne!(got[6], 0);
    }

    #[test]
    fn a_name_of_several_words_starting_a_message_is_a_slot() {
        let lines: Vec<String> = ["Sofia", "Ana Souza", "Chen Wei", "Jon", "José María García"]
            .iter()
            .enumerate()
            .map(|(k, name)| format!("{name} read up to ${k}f3a in Flatmates"))
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_eq!(groups(&refs), vec![0; 5]);
    }

    #[test]
    fn statements_after_one_name_are_not_a_list_of_words() {
        // After `Ana Souza` the words of each statement stand at other offsets as the
        // names in them differ in length, but never in another order: statements, not
        // the items of a list.
        let lines = [
            "Ana Souza read up to $1a in Priya Patel",
            "Ana Souza read up to $2b in Jon",
            "Ana Souza read up to $3c in Family Chat",
            "Ana Souza is typing in Book Club",
            "Ana Souza is typing in Mom",
            "Ana Souza added Priya Patel to Jon",
            "Ana Souza reacted to $4d in Jon",
        ];
        let got = groups(&lines);
        assert_ne!(got[0], got[3], "{got:?}");
        assert_ne!(got[3], got[5], "{got:?}");
        assert_ne!(got[0], got[6], "{got:?}");
    }

    #[test]
    fn names_joined_by_underscores_or_hyphens_are_values() {
        let lines = [
            "usb 1-4: new SuperSpeed USB device number 9 using xhci_hcd",
            "usb 3-2: new SuperSpeed USB device number 20 using ehci-pci",
            "usb 1-1: new SuperSpeed USB device number 3 using xhci_hcd",
        ];
        let joined = groups_with(
            &lines,
            MinerSettings {
                joined_identifiers: true,
                ..MinerSettings::default()
            },
        );
        assert_eq!(joined, vec![0, 0, 0]);
        assert_eq!(groups(&lines), joined);
        // Without the rule, two drivers are two templates.
        let off = groups_with(
            &lines,
            MinerSettings {
                joined_identifiers: false,
                ..MinerSettings::default()
            },
        );
        assert_eq!(off, vec![0, 1, 0]);
    }

    #[test]
    fn a_word_that_decides_what_follows_starts_another_statement() {
        let lines = [
            "--> GET https://api.example.com/v1/notes?since=3",
            "--> POST https://api.example.com/v1/notes",
            "--> END GET",
            "--> PUT https://api.example.com/v1/notes/7",
            "--> END POST",
            "--> END PUT",
        ];
        // With the methods taken as values (not as names in capitals from a fixed set),
        // `END` still makes another statement.
        let methods_vary = groups_with(
            &lines,
            MinerSettings {
                enum_constants: false,
                min_values_for_variable: 3,
                ..MinerSettings::default()
            },
        );
        assert_eq!(methods_vary, vec![0, 0, 1, 0, 1, 1]);
        let off = groups_with(
            &lines,
            MinerSettings {
                enum_constants: false,
                min_values_for_variable: 3,
                kind_split: false,
                ..MinerSettings::default()
            },
        );
        assert_ne!(off, methods_vary);
    }

    #[test]
    fn grouping_and_template_ids_do_not_depend_on_line_order() {
        let mut lines: Vec<String> = Vec::new();
        for i in 0..40 {
            lines.push(format!(
                "session opened for user {} by (uid={i})",
                ["news", "cyrus", "test", "root"][i % 4]
            ));
            lines.push(format!(
                "flushed blocks [{}] to disk",
                (0..i % 5)
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            lines.push(format!("{} startup succeeded", ["cupsd", "syslogd"][i % 2]));
            lines.push(format!(
                "Connecting to \"{}\" networkId={i}",
                ["HomeNet", "Cafe Guest", "eduroam"][i % 3]
            ));
        }
        let forward = group_messages(&lines);
        // Any fixed permutation that mixes the lines: every 7th, wrapping around.
        let order: Vec<usize> = (0..lines.len()).map(|k| k * 7 % lines.len()).collect();
        let shuffled: Vec<&str> = order.iter().map(|&i| lines[i].as_str()).collect();
        let mut backward = vec![usize::MAX; lines.len()];
        for (k, g) in group_messages(&shuffled).into_iter().enumerate() {
            backward[order[k]] = g;
        }
        assert_eq!(forward, backward);
        let distinct: std::collections::BTreeSet<usize> = forward.iter().copied().collect();
        assert_eq!(distinct.len(), 5, "{forward:?}");
    }

    #[test]
    fn tags_keep_templates_apart() {
        let mut miner = TemplateMiner::new();
        let a = miner.add_line(&LogLine::new(1, "I", "net", "retry 1"));
        let b = miner.add_line(&LogLine::new(2, "I", "db", "retry 2"));
        let mined = miner.templates();
        assert_ne!(mined.group_of(a), mined.group_of(b));
        assert_eq!(mined.templates()[mined.group_of(b)].tag, "db");
    }

    #[test]
    fn templates_count_times_levels_and_keep_a_critical_example() {
        let mut miner = TemplateMiner::new();
        miner.add_line(&LogLine::new(
            30,
            "W",
            "io",
            "write failed: errno 28 on /data/a.db",
        ));
        miner.add_line(&LogLine::new(
            10,
            "E",
            "io",
            "write failed: errno 28 on /data/b.db",
        ));
        miner.add_line(&LogLine::new(
            20,
            "I",
            "io",
            "write failed: errno 5 on /data/c.db",
        ));
        let mined = miner.templates();
        let t = &mined.templates()[0];
        assert_eq!(t.text, "write failed: errno <*> on <*>");
        assert_eq!((t.count, t.first_ms, t.last_ms), (3, 10, 30));
        assert_eq!(
            t.levels,
            vec![LogLevel::Info, LogLevel::Warn, LogLevel::Error]
        );
        assert!(t.is_critical());
        assert_eq!(
            t.critical_example.as_deref(),
            Some("write failed: errno 28 on /data/b.db")
        );
        assert_eq!(
            t.slot_examples,
            vec![
                vec!["28", "5"],
                vec!["/data/a.db", "/data/b.db", "/data/c.db"]
            ]
        );
        let text_bytes = [
            "write failed: errno 28 on /data/a.db",
            "write failed: errno 28 on /data/b.db",
            "write failed: errno 5 on /data/c.db",
        ]
        .iter()
        .map(|m| m.len() as u64 + 2)
        .sum::<u64>();
        assert_eq!((mined.lines(), mined.bytes()), (3, text_bytes));
    }

    #[test]
    fn shapes_not_lines_are_stored() {
        let mut miner = TemplateMiner::new();
        for i in 0..10_000 {
            miner.add(&format!("heartbeat {i} ok"));
        }
        assert_eq!((miner.lines(), miner.shapes()), (10_000, 1));
    }

    #[test]
    fn empty_and_odd_messages_are_grouped() {
        let groups = groups(&["", "", "<*>", "==", "\"\""]);
        assert_eq!(groups.len(), 5);
        assert_eq!(groups[0], groups[1]);
    }
}
