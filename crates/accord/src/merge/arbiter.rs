//! The arbiter: the merge step for text hunks that line and word diff3 cannot merge.

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

/// What the arbiter chose for a hunk.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    /// The text that replaces the hunk.
    pub text: String,
    /// Which candidate or method won, for the conflict log.
    pub detail: String,
    /// The winning candidate's score, when the method scores.
    pub score: Option<f64>,
    /// True when the resolution drops something one side added or adds text that is in
    /// neither side: allowed, but a person should look.
    pub needs_review: bool,
}

/// Why the arbiter gave no resolution; the pipeline then keeps both sides.
#[derive(Debug, thiserror::Error)]
pub enum ArbiterError {
    /// The model failed or ran out of budget.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// No candidate passed validation.
    #[error("no valid candidate: {0}")]
    NoValidCandidate(String),
}

/// Decides overlapping hunks. Implemented over a [`crate::model::LanguageModel`]; the
/// pipeline works, and is tested, with none.
pub trait Arbiter: Send + Sync {
    /// Name recorded in the conflict log as `arbiter:<name>`.
    fn name(&self) -> &str;

    /// Resolves one hunk, or says why it cannot.
    fn resolve(&self, hunk: &ConflictHunk<'_>) -> Result<Resolution, ArbiterError>;
}
