//! The structural choice: the first clean candidate in the order of
//! [`CandidateKind`], with no model call.

use std::time::Instant;

use super::{ArbiterError, CandidateArbiter, Resolution};
use crate::merge::candidates::{Candidate, CandidateKind};

impl CandidateArbiter {
    /// The first clean candidate (structural order), or with none clean the best
    /// lossless candidate flagged for review; `why` says why structure decided and
    /// `note` what a model method tried first.
    pub(super) fn by_structure(
        &self,
        all: &[Candidate],
        clean: &[&Candidate],
        started: Instant,
        why: &str,
        note: &str,
    ) -> Result<Resolution, ArbiterError> {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let Some(c) = clean.first() else {
            // Nothing a person would accept unseen: the best candidate that loses
            // nothing (rival versions side by side), flagged; else say why not.
            // Verbatim sides before a word merge: a person then picks, nothing is reworded.
            let lossless = all
                .iter()
                .find(|c| c.check.is_clean() && c.kind != CandidateKind::WordMerge)
                .or_else(|| all.iter().find(|c| c.check.is_clean()));
            return match lossless {
                Some(c) => Ok(Resolution {
                    text: c.text.clone(),
                    detail: format!(
                        "{}: rival edits, both kept (0 of {} candidates clean){note}, {ms:.0} ms",
                        c.kind.label(),
                        all.len(),
                    ),
                    score: None,
                    needs_review: true,
                }),
                None => Err(ArbiterError::NoValidCandidate(format!(
                    "all {} candidates drop or invent text{note}",
                    all.len()
                ))),
            };
        };
        Ok(Resolution {
            text: c.text.clone(),
            detail: format!(
                "{}: {why} ({} of {} candidates clean){note}, {ms:.0} ms",
                c.kind.label(),
                clean.len(),
                all.len(),
            ),
            score: None,
            needs_review: false,
        })
    }
}
