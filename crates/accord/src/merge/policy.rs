//! Per-field merge policies of a collection.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How one field of a record is merged when both devices changed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldPolicy {
    /// Three-way text merge (line diff3), then the arbiter, then keep-both.
    Text,
    /// Last writer wins, ordered by hybrid logical clock.
    Lww,
    /// A number whose changes on each side add up (`local + remote - base`).
    Counter,
    /// An array treated as a set: additions on either side are kept, removals on
    /// either side are applied.
    Set,
    /// An object merged key by key with the same rules, recursively.
    Json,
}

impl FieldPolicy {
    /// The name used in configuration and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldPolicy::Text => "text",
            FieldPolicy::Lww => "lww",
            FieldPolicy::Counter => "counter",
            FieldPolicy::Set => "set",
            FieldPolicy::Json => "json",
        }
    }
}

impl fmt::Display for FieldPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FieldPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(FieldPolicy::Text),
            "lww" => Ok(FieldPolicy::Lww),
            "counter" => Ok(FieldPolicy::Counter),
            "set" => Ok(FieldPolicy::Set),
            "json" => Ok(FieldPolicy::Json),
            other => Err(format!(
                "unknown merge policy '{other}': expected text, lww, counter, set or json"
            )),
        }
    }
}

/// Field names that default to [`FieldPolicy::Text`] when a collection does not declare
/// them; every other undeclared field is [`FieldPolicy::Lww`].
pub const TEXT_FIELD_NAMES: [&str; 4] = ["body", "content", "text", "description"];

/// The merge policies declared for one collection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionSchema {
    /// Declared policies by top-level field name.
    pub fields: BTreeMap<String, FieldPolicy>,
}

impl CollectionSchema {
    /// A schema with no declared fields: the defaults apply everywhere.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares `field`'s policy.
    pub fn with(mut self, field: &str, policy: FieldPolicy) -> Self {
        self.fields.insert(field.to_string(), policy);
        self
    }

    /// The policy of a top-level field: declared, or the default for its name.
    pub fn policy_for(&self, field: &str) -> FieldPolicy {
        if let Some(p) = self.fields.get(field) {
            return *p;
        }
        if TEXT_FIELD_NAMES.contains(&field) {
            FieldPolicy::Text
        } else {
            FieldPolicy::Lww
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undeclared_fields_get_their_default_policy() {
        let schema = CollectionSchema::new().with("likes", FieldPolicy::Counter);
        assert_eq!(schema.policy_for("likes"), FieldPolicy::Counter);
        assert_eq!(schema.policy_for("body"), FieldPolicy::Text);
        assert_eq!(schema.policy_for("title"), FieldPolicy::Lww);
    }

    #[test]
    fn policies_parse_from_their_names() {
        for p in [
            FieldPolicy::Text,
            FieldPolicy::Lww,
            FieldPolicy::Counter,
            FieldPolicy::Set,
            FieldPolicy::Json,
        ] {
            assert_eq!(p.as_str().parse::<FieldPolicy>(), Ok(p));
        }
        assert!("merge".parse::<FieldPolicy>().is_err());
    }
}
