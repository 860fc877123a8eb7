//! Choosing the miner's settings on labelled logs, and measuring how well the choice
//! carries to a log it was not chosen on (leave one system out).
//!
//! 1. Every knob of [`MinerSettings`] starts at its first candidate: every rule off.
//! 2. Each round tries every single change of one knob and keeps the one that most raises
//!    the mean Grouping Accuracy of the training systems; a change that raises nothing is
//!    not made, so a rule is on only when it helps some system other than by chance of
//!    ties. Rounds repeat until no change helps.
//! 3. Leave-one-system-out: for each system, steps 1-2 on all the others, then that
//!    system is scored with what they chose. The mean of these held-out scores is the
//!    figure for logs the miner has never seen; the in-sample figure scores every
//!    system with the choice made on all of them, which is the shipped default.
//!
//! Shapes are recorded once per system and per tokenizer setting, so a round costs only
//! the grouping.

use std::collections::HashMap;

use accord_logs::{MinerSettings, ShapeId, TemplateMiner, KNOBS};

use crate::logs_eval::{grouping_accuracy, LabelledLog};

/// A labelled log with its shapes recorded under each tokenizer setting tried so far.
pub struct DevLog {
    /// The log.
    pub log: LabelledLog,
    recorded: HashMap<Vec<usize>, (TemplateMiner, Vec<ShapeId>)>,
}

impl DevLog {
    /// Wraps a labelled log.
    pub fn new(log: LabelledLog) -> Self {
        DevLog {
            log,
            recorded: HashMap::new(),
        }
    }

    /// Grouping Accuracy of the miner with `settings` on this log.
    pub fn score(&mut self, settings: &MinerSettings) -> f64 {
        let key: Vec<usize> = KNOBS
            .iter()
            .filter(|k| k.tokenizer)
            .map(|k| settings.get(k.name).unwrap_or(0))
            .collect();
        let messages = &self.log.messages;
        let (miner, shapes) = self.recorded.entry(key).or_insert_with(|| {
            let mut miner = TemplateMiner::with_settings(settings.clone());
            let shapes = messages.iter().map(|m| miner.add(m)).collect();
            (miner, shapes)
        });
        let mined = miner.templates_with(settings);
        let groups: Vec<usize> = shapes.iter().map(|&s| mined.group_of(s)).collect();
        grouping_accuracy(&self.log.templates, &groups).accuracy
    }
}

/// Mean Grouping Accuracy of `settings` over the logs at `indices`.
pub fn mean_score(logs: &mut [DevLog], indices: &[usize], settings: &MinerSettings) -> f64 {
    if indices.is_empty() {
        return 0.0;
    }
    let sum: f64 = indices.iter().map(|&i| logs[i].score(settings)).sum();
    sum / indices.len() as f64
}

/// The settings chosen on the logs at `train` (steps 1 and 2 above).
pub fn select(logs: &mut [DevLog], train: &[usize]) -> MinerSettings {
    let mut current = MinerSettings::start();
    let mut best = mean_score(logs, train, &current);
    loop {
        let mut step: Option<(f64, MinerSettings)> = None;
        for knob in KNOBS {
            for &value in knob.candidates {
                if current.get(knob.name) == Some(value) {
                    continue;
                }
                let mut tried = current.clone();
                tried.set(knob.name, value);
                let score = mean_score(logs, train, &tried);
                // Strictly better than staying, and than the best change so far (the
                // first of equals wins, so the order of KNOBS breaks ties).
                if score > best + 1e-9 && step.as_ref().is_none_or(|(s, _)| score > *s + 1e-12) {
                    step = Some((score, tried));
                }
            }
        }
        match step {
            Some((score, settings)) => {
                best = score;
                current = settings;
            }
            None => return current,
        }
    }
}

/// One system's figures.
#[derive(Debug, Clone)]
pub struct HeldOut {
    /// System name.
    pub system: String,
    /// Score with the settings chosen on every system.
    pub in_sample: f64,
    /// Score with the settings chosen without it.
    pub held_out: f64,
    /// Knobs whose choice without it differs from the choice on all (`name=value`).
    pub differs: Vec<String>,
}

/// Leave-one-system-out over `logs` (step 3): the settings chosen on all of them, and
/// each system's in-sample and held-out score.
pub fn leave_one_out(logs: &mut [DevLog]) -> (MinerSettings, Vec<HeldOut>) {
    let all: Vec<usize> = (0..logs.len()).collect();
    let chosen = select(logs, &all);
    let mut rows = Vec::new();
    for held in 0..logs.len() {
        let train: Vec<usize> = all.iter().copied().filter(|&i| i != held).collect();
        let fold = select(logs, &train);
        rows.push(HeldOut {
            system: logs[held].log.system.clone(),
            in_sample: logs[held].score(&chosen),
            held_out: logs[held].score(&fold),
            differs: fold.diff(&chosen),
        });
    }
    (chosen, rows)
}

/// For each knob not at its starting value in `chosen`: the change of each system's
/// score when that knob alone goes back to its start, i.e. which systems the rule is
/// there for (negative) and which it costs (positive).
pub fn motivations(
    logs: &mut [DevLog],
    chosen: &MinerSettings,
) -> Vec<(String, Vec<(String, f64)>)> {
    let base: Vec<f64> = logs.iter_mut().map(|l| l.score(chosen)).collect();
    let start = MinerSettings::start();
    let mut out = Vec::new();
    for knob in KNOBS {
        let (Some(now), Some(first)) = (chosen.get(knob.name), start.get(knob.name)) else {
            continue;
        };
        if now == first {
            continue;
        }
        let mut without = chosen.clone();
        without.set(knob.name, first);
        let deltas: Vec<(String, f64)> = logs
            .iter_mut()
            .zip(&base)
            .map(|(l, b)| (l.log.system.clone(), l.score(&without) - b))
            .filter(|(_, d)| d.abs() > 1e-9)
            .collect();
        out.push((format!("{}={now}", knob.name), deltas));
    }
    out
}
