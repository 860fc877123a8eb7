//! [`FakeModel`]: a [`LanguageModel`] whose answers the test chooses, recording what it
//! was asked, for testing the layers above a model without loading one.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use accord_model_api::{
    Budget, ChatMessage, ContinuationScore, Generation, LanguageModel, ModelError, StopReason,
};

type Scorer = Box<dyn Fn(&str, &str) -> f64 + Send + Sync>;

/// A model that generates a fixed answer, scores continuations with a function the test
/// gives, or fails; it records every prompt and the token cap of the last generation.
///
/// Its chat template joins the turns' contents with a newline; it counts a token per
/// whitespace-separated word. Generation stops as the budget says (cancelled, out of
/// time) or at the end of the answer.
pub struct FakeModel {
    name: String,
    answer: Option<String>,
    scorer: Option<Scorer>,
    error: Option<fn() -> ModelError>,
    prompts: Mutex<Vec<String>>,
    max_tokens: Mutex<Option<usize>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock has failed already.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeModel {
    fn new() -> FakeModel {
        FakeModel {
            name: "fake-model".into(),
            answer: None,
            scorer: None,
            error: None,
            prompts: Mutex::new(Vec::new()),
            max_tokens: Mutex::new(None),
        }
    }

    /// Generates `text` for any prompt; scoring fails.
    pub fn answering(text: &str) -> FakeModel {
        FakeModel {
            answer: Some(text.to_string()),
            ..FakeModel::new()
        }
    }

    /// Scores each continuation after a prompt as `logprob(prompt, continuation)` (one
    /// token each); generation fails.
    pub fn scoring(logprob: impl Fn(&str, &str) -> f64 + Send + Sync + 'static) -> FakeModel {
        FakeModel {
            scorer: Some(Box::new(logprob)),
            ..FakeModel::new()
        }
    }

    /// Fails every generation and scoring call with `error()`.
    pub fn failing(error: fn() -> ModelError) -> FakeModel {
        FakeModel {
            error: Some(error),
            ..FakeModel::new()
        }
    }

    /// The same model, generating `text` for any prompt as well (for a scoring model).
    pub fn with_answer(mut self, text: &str) -> FakeModel {
        self.answer = Some(text.to_string());
        self
    }

    /// The same model under another name (what reports and the conflict log show).
    pub fn named(mut self, name: &str) -> FakeModel {
        self.name = name.to_string();
        self
    }

    /// Every prompt it was given, in order.
    pub fn prompts(&self) -> Vec<String> {
        lock(&self.prompts).clone()
    }

    /// The last prompt it was given ("" before any).
    pub fn last_prompt(&self) -> String {
        lock(&self.prompts).last().cloned().unwrap_or_default()
    }

    /// The token cap of the last generation asked for.
    pub fn last_max_tokens(&self) -> Option<usize> {
        *lock(&self.max_tokens)
    }

    fn fail(&self) -> Result<(), ModelError> {
        match self.error {
            Some(error) => Err(error()),
            None => Ok(()),
        }
    }
}

impl LanguageModel for FakeModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn chat_prompt(&self, messages: &[ChatMessage]) -> Result<String, ModelError> {
        Ok(messages
            .iter()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>()
            .join("\n"))
    }

    fn count_tokens(&self, text: &str) -> Result<usize, ModelError> {
        Ok(text.split_whitespace().count())
    }

    fn score(
        &self,
        prompt: &str,
        continuations: &[&str],
        budget: &Budget,
    ) -> Result<Vec<ContinuationScore>, ModelError> {
        self.fail()?;
        if let Some(stop) = budget.exhausted() {
            return Err(stop);
        }
        lock(&self.prompts).push(prompt.to_string());
        let scorer = self
            .scorer
            .as_ref()
            .ok_or_else(|| ModelError::Runtime("this fake model does not score".into()))?;
        Ok(continuations
            .iter()
            .map(|c| ContinuationScore {
                logprob: scorer(prompt, c),
                tokens: 1,
            })
            .collect())
    }

    fn generate(&self, prompt: &str, budget: &Budget) -> Result<Generation, ModelError> {
        self.fail()?;
        lock(&self.prompts).push(prompt.to_string());
        *lock(&self.max_tokens) = Some(budget.max_tokens);
        let text = self
            .answer
            .clone()
            .ok_or_else(|| ModelError::Runtime("this fake model does not generate".into()))?;
        let stop = match budget.exhausted() {
            Some(ModelError::Cancelled) => StopReason::Cancelled,
            Some(_) => StopReason::OutOfTime,
            None => StopReason::EndOfText,
        };
        Ok(Generation {
            tokens: text.split_whitespace().count().min(budget.max_tokens),
            text,
            prompt_tokens: prompt.split_whitespace().count(),
            stop,
            elapsed: Duration::from_millis(5),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_answers_scores_and_fails_as_told_and_records_prompts() {
        let budget = Budget::new(7, Duration::from_secs(5));
        let answering = FakeModel::answering("Disk full [C2].");
        let g = answering.generate("why?", &budget).unwrap();
        assert_eq!(
            (g.text.as_str(), g.stop),
            ("Disk full [C2].", StopReason::EndOfText)
        );
        assert_eq!(answering.last_prompt(), "why?");
        assert_eq!(answering.last_max_tokens(), Some(7));
        assert!(answering.score("p", &["a"], &budget).is_err());

        let scoring = FakeModel::scoring(|_, c| -(c.len() as f64)).named("fake");
        let s = scoring.score("p", &["a", "abc"], &budget).unwrap();
        assert_eq!(
            s.iter().map(|s| s.logprob).collect::<Vec<_>>(),
            [-1.0, -3.0]
        );
        assert_eq!(scoring.name(), "fake");
        assert!(scoring.generate("p", &budget).is_err());

        let failing = FakeModel::failing(|| ModelError::OutOfTime);
        assert!(matches!(
            failing.generate("p", &budget),
            Err(ModelError::OutOfTime)
        ));
        assert!(failing.prompts().is_empty());
    }
}
