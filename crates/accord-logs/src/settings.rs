//! The miner's settings: every rule switch and threshold the grouping depends on.
//!
//! There is one configuration for every log, [`MinerSettings::default`]. Its values are
//! not written by hand: `accord-bench ga` chooses them by leave-one-system-out on the
//! development logs (every knob starts at its first candidate, and the one change that
//! most raises the mean Grouping Accuracy of the systems in the training fold is made,
//! until no change raises it), and the default is the choice made on all of them. The
//! same procedure run without one system scores that system, which is how the miner's
//! accuracy on logs it has never seen is measured (bench/results/logs.md).
//!
//! The knobs are public only with the `tuning` feature (accord-bench); apps get the
//! default and nothing to turn.
#![cfg_attr(not(feature = "tuning"), allow(dead_code))]

/// The knobs of the template miner. Each rule can be switched off, so the selection can
/// leave out a rule that does not help logs it was not written for. What each rule is
/// there for, measured, is in bench/results/logs.md ("What each rule is there for").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MinerSettings {
    /// `true`, `false` and `null` are masked.
    pub literals: bool,
    /// Month, weekday and time-zone names next to a number are masked with it.
    pub date_words: bool,
    /// Units after a number (sizes, durations in letters or words, rates, frequencies,
    /// signal, energy, temperature) are masked with it.
    pub units: bool,
    /// A missing value (`key=`, `()`, `""`) gets a slot.
    pub empty_values: bool,
    /// The first token of a message counts as a constant of its statement.
    pub first_word_anchor: bool,
    /// A varying position with at least this many distinct words is a variable.
    pub min_values_for_variable: usize,
    /// All-caps enum names (`RUNNING`) at a varying position are constants, unless there
    /// are `min_enum_values` of them.
    pub enum_constants: bool,
    /// See `enum_constants`.
    pub min_enum_values: usize,
    /// A varying position holding identifiers (`a.b`, `a/b`, `x@y`) is a variable.
    pub identifiers_vary: bool,
    /// Words joined by `_` or `-` (`xhci_hcd`, `get-details`) are identifiers.
    pub joined_identifiers: bool,
    /// A varying position after `key=` is a variable.
    pub key_values_vary: bool,
    /// Two neighbouring plain words changing together are a different phrase (split).
    pub phrase_split: bool,
    /// A word whose value decides whether another position holds a masked value or a
    /// word starts a different statement (split).
    pub kind_split: bool,
    /// Templates of one tag merge where their aligned differences are slots.
    pub region_merge: bool,
    /// Least share of words (percent of the longer's) two aligned templates must match.
    pub region_min_match: usize,
    /// Templates that are the same around one stretch (a skeleton) merge when what they
    /// hold there varies like a value across the group (step 4 of the miner).
    pub skeleton_merge: bool,
    /// Outside brackets, a stretch of several tokens that at least this many distinct
    /// fillers take across templates sharing a skeleton is a slot, and a template then
    /// joins a larger one that differs from it only at step 4's slots (0: neither).
    pub open_values: usize,
    /// A template left over joins a larger one that differs from it only where the
    /// larger one has a variable, that variable taking a run of words there without the
    /// wording of a sentence (a value of several words: `Cape Town`, `OkHttp Dispatcher`).
    pub var_absorb: bool,
    /// Fillers of an open place are a list of words only when two words stand in both
    /// orders among them and every pair reading as a sentence holds such an item (else:
    /// when a word stands at different offsets); and then an open place may be at the
    /// start of a message even when the first word is otherwise a constant (a name of
    /// several words starting it).
    pub list_items_move: bool,
    /// Text between a pair of quotes (a single quote only outside a word) is masked as
    /// one value.
    pub quoted_values: bool,
    /// With `quoted_values`, in a message with no wording of its own outside quotes
    /// (every word there a key, a key's value or a code in capitals), a quoted text that
    /// reads as a sentence is the message, not a value (`msg="shim disconnected" id=…`).
    pub quoted_own_words: bool,
    /// Items joined by commas without spaces (`qr,aa,rd`) are one token, a list: a value
    /// whose length varies, not as many fields.
    pub comma_lists: bool,
    /// A varying position taking at least this many words, every one of them varying in
    /// another candidate group too and kept as text by none (a value the data carries
    /// between statements: a user, a queue), is a variable (0: no such rule).
    pub shared_values: usize,
    /// Least number of words a template keeps outside an open run (`open_values`) for
    /// step 4 to compare it there, and outside its slots to take others in.
    pub skeleton_words: usize,
}

impl Default for MinerSettings {
    /// The choice `accord-bench ga` makes on all development logs.
    fn default() -> Self {
        MinerSettings {
            literals: true,
            date_words: true,
            units: true,
            empty_values: true,
            first_word_anchor: true,
            min_values_for_variable: 4,
            enum_constants: true,
            min_enum_values: 8,
            identifiers_vary: true,
            joined_identifiers: true,
            key_values_vary: true,
            phrase_split: true,
            kind_split: true,
            region_merge: true,
            region_min_match: 50,
            skeleton_merge: true,
            open_values: 4,
            var_absorb: true,
            list_items_move: true,
            quoted_values: true,
            quoted_own_words: true,
            comma_lists: false,
            skeleton_words: 1,
            shared_values: 3,
        }
    }
}

/// One knob the selection may turn: its name, its candidate values (the first is where
/// the selection starts; `0`/`1` for a switch), and whether it changes how messages are
/// tokenised (so shapes must be recorded again) or only how shapes are grouped.
#[derive(Debug, Clone, Copy)]
pub struct Knob {
    /// Field name.
    pub name: &'static str,
    /// Candidate values, the starting one first.
    pub candidates: &'static [usize],
    /// Changes tokenisation.
    pub tokenizer: bool,
}

const OFF_ON: &[usize] = &[0, 1];

macro_rules! knobs {
    ($( $name:ident : $kind:tt $(= $cands:expr)? , $tok:expr ; )*) => {
        /// Every knob, in a fixed order.
        pub const KNOBS: &[Knob] = &[
            $( Knob { name: stringify!($name), candidates: knobs!(@cands $kind $(, $cands)?), tokenizer: $tok }, )*
        ];

        impl MinerSettings {
            /// The value of a knob (`0`/`1` for a switch); `None` for an unknown name.
            pub fn get(&self, name: &str) -> Option<usize> {
                match name {
                    $( stringify!($name) => Some(knobs!(@get self.$name, $kind)), )*
                    _ => None,
                }
            }

            /// Sets a knob; false for an unknown name.
            pub fn set(&mut self, name: &str, value: usize) -> bool {
                match name {
                    $( stringify!($name) => { knobs!(@set self.$name, $kind, value); true } )*
                    _ => false,
                }
            }
        }
    };
    (@cands switch) => { OFF_ON };
    (@cands count, $cands:expr) => { $cands };
    (@get $field:expr, switch) => { usize::from($field) };
    (@get $field:expr, count) => { $field };
    (@set $field:expr, switch, $v:expr) => { $field = $v != 0 };
    (@set $field:expr, count, $v:expr) => { $field = $v };
}

knobs! {
    literals: switch, true;
    date_words: switch, true;
    units: switch, true;
    empty_values: switch, true;
    first_word_anchor: switch, false;
    min_values_for_variable: count = &[3, 2, 4, 5, 6], false;
    enum_constants: switch, false;
    min_enum_values: count = &[8, 4, 16], false;
    identifiers_vary: switch, false;
    joined_identifiers: switch, false;
    key_values_vary: switch, false;
    phrase_split: switch, false;
    kind_split: switch, false;
    region_merge: switch, false;
    region_min_match: count = &[50, 30, 70], false;
    skeleton_merge: switch, false;
    open_values: count = &[0, 4, 5, 6, 8], false;
    var_absorb: switch, false;
    list_items_move: switch, false;
    quoted_values: switch, true;
    quoted_own_words: switch, true;
    comma_lists: switch, true;
    skeleton_words: count = &[2, 1], false;
    shared_values: count = &[0, 2, 3], false;
}

impl MinerSettings {
    /// Where the selection starts: every knob at its first candidate (every rule off).
    pub fn start() -> Self {
        let mut s = MinerSettings::default();
        for k in KNOBS {
            s.set(k.name, k.candidates[0]);
        }
        s
    }

    /// The knobs whose value differs from `other`'s, as `name=value`.
    pub fn diff(&self, other: &MinerSettings) -> Vec<String> {
        KNOBS
            .iter()
            .filter(|k| self.get(k.name) != other.get(k.name))
            .map(|k| format!("{}={}", k.name, self.get(k.name).unwrap_or(0)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_knob_reads_back_what_was_set() {
        let mut s = MinerSettings::default();
        for k in KNOBS {
            for &v in k.candidates {
                assert!(s.set(k.name, v), "{}", k.name);
                assert_eq!(s.get(k.name), Some(v), "{}", k.name);
            }
        }
        assert!(!s.set("no_such_knob", 1));
        assert_eq!(MinerSettings::start().get("region_merge"), Some(0));
    }
}
