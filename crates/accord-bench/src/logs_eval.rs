//! Scoring template mining against labelled logs: the Loghub-2k benchmark files and the
//! Grouping Accuracy metric. Used by `accord-bench logs` and by the regression test that
//! keeps the miner's accuracy from slipping; apps have no need for it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use accord_logs::{parse_log_line, LogDigest, LogLine, Summary};

/// The ten Loghub-2k systems of the development benchmark.
pub const LOGHUB_SYSTEMS: [&str; 10] = [
    "Android", "Apache", "BGL", "HDFS", "HPC", "Hadoop", "Linux", "OpenSSH", "Spark", "Windows",
];

/// Our own labelled logs (bench/logs/extra), read like Loghub's: the three made by
/// make_extra.py, ShopApp, ChatApp, HomeApp, InfraOps and MediaApp (written as never-tuned
/// checks, development data once judged on), TeamApp (make_dev_team.py), and DataStack
/// and OpsPlatform, system software (make_dev_data.py, make_dev_ops.py). NetOffice, the
/// never-tuned one, is not here: bench/logs/held_out_ga.sh. All are labelled to
/// bench/logs/LABELLING.md.
pub const EXTRA_SYSTEMS: [&str; 11] = [
    "AppLogcat",
    "SyncServer",
    "DesktopDaemons",
    "ShopApp",
    "ChatApp",
    "TeamApp",
    "HomeApp",
    "DataStack",
    "OpsPlatform",
    "InfraOps",
    "MediaApp",
];

/// Why labelled log data could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LogDataError {
    /// A file is missing or unreadable.
    #[error("cannot read {path}: {source} (is the benchmark data at this path? set ACCORD_SHARED_DIR to the folder holding bench/loghub)")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is not in the expected format.
    #[error("{path} is not a Loghub structured CSV: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// One labelled log: messages, their ground-truth templates, and their levels.
#[derive(Debug, Clone)]
pub struct LabelledLog {
    /// System name, e.g. `HDFS`.
    pub system: String,
    /// The message part of each line (the `Content` column).
    pub messages: Vec<String>,
    /// Ground-truth template of each line (the `EventTemplate` column).
    pub templates: Vec<String>,
    /// Level of each line where the file has a `Level` column, else empty strings.
    pub levels: Vec<String>,
    /// Component of each line where the file has a `Component` column, else empty
    /// strings: the tag an app would log under.
    pub components: Vec<String>,
    /// Size of the raw log file (headers included), in bytes.
    pub raw_bytes: u64,
}

/// Reads `<dir>/<system>/<system>_2k.log_structured_corrected.csv` (the corrected
/// labels) and the size of `<dir>/<system>/<system>_2k.log`.
pub fn read_loghub(dir: &Path, system: &str) -> Result<LabelledLog, LogDataError> {
    let folder = dir.join(system);
    let csv_path = folder.join(format!("{system}_2k.log_structured_corrected.csv"));
    let raw_path = folder.join(format!("{system}_2k.log"));
    let raw_bytes = std::fs::metadata(&raw_path)
        .map_err(|source| LogDataError::Io {
            path: raw_path.clone(),
            source,
        })?
        .len();
    let bytes = std::fs::read(&csv_path).map_err(|source| LogDataError::Io {
        path: csv_path.clone(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let rows = parse_csv(&text).map_err(|reason| LogDataError::Format {
        path: csv_path.clone(),
        reason,
    })?;
    let Some((header, rows)) = rows.split_first() else {
        return Err(LogDataError::Format {
            path: csv_path,
            reason: "the file is empty".into(),
        });
    };
    let column = |name: &str| header.iter().position(|h| h == name);
    let (Some(content), Some(template)) = (column("Content"), column("EventTemplate")) else {
        return Err(LogDataError::Format {
            path: csv_path,
            reason: "no Content or EventTemplate column".into(),
        });
    };
    let level = column("Level");
    let component = column("Component");
    let field = |row: &Vec<String>, i: usize| row.get(i).cloned().unwrap_or_default();
    Ok(LabelledLog {
        system: system.to_string(),
        messages: rows.iter().map(|r| field(r, content)).collect(),
        templates: rows.iter().map(|r| field(r, template)).collect(),
        levels: rows
            .iter()
            .map(|r| level.map(|l| field(r, l)).unwrap_or_default())
            .collect(),
        components: rows
            .iter()
            .map(|r| component.map(|c| field(r, c)).unwrap_or_default())
            .collect(),
        raw_bytes,
    })
}

/// RFC 4180 CSV: quoted fields may hold commas, newlines and doubled quotes.
fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            ',' => {
                row.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                at_field_start = true;
            }
            _ => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

/// Grouping Accuracy and the group counts behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupingScore {
    /// Fraction of lines whose predicted group is exactly their true group.
    pub accuracy: f64,
    /// Lines scored (lines with an empty true label are left out).
    pub lines: usize,
    /// Lines in exactly right groups.
    pub correct: usize,
    /// Distinct true templates.
    pub true_groups: usize,
    /// Distinct predicted groups.
    pub predicted_groups: usize,
}

/// Grouping Accuracy (Zhu et al., ICSE-SEIP 2019), as `ga.py` computes it: a line is
/// right when the set of lines in its predicted group equals the set in its true group.
pub fn grouping_accuracy<T: AsRef<str>, P: Eq + std::hash::Hash>(
    truth: &[T],
    predicted: &[P],
) -> GroupingScore {
    let keep: Vec<usize> = (0..truth.len().min(predicted.len()))
        .filter(|&i| !truth[i].as_ref().is_empty())
        .collect();
    let mut true_size: HashMap<&str, usize> = HashMap::new();
    for &i in &keep {
        *true_size.entry(truth[i].as_ref()).or_insert(0) += 1;
    }
    let mut groups: HashMap<&P, Vec<usize>> = HashMap::new();
    for &i in &keep {
        groups.entry(&predicted[i]).or_default().push(i);
    }
    let mut correct = 0;
    for members in groups.values() {
        let label = truth[members[0]].as_ref();
        if members.iter().all(|&i| truth[i].as_ref() == label)
            && true_size.get(label) == Some(&members.len())
        {
            correct += members.len();
        }
    }
    GroupingScore {
        accuracy: if keep.is_empty() {
            0.0
        } else {
            correct as f64 / keep.len() as f64
        },
        lines: keep.len(),
        correct,
        true_groups: true_size.len(),
        predicted_groups: groups.len(),
    }
}

/// A log window with one failure whose cause is known.
#[derive(Debug, Clone)]
pub struct Incident {
    /// Short name, e.g. `disk_full`.
    pub name: String,
    /// The window's lines.
    pub lines: Vec<LogLine>,
    /// Phrases (lower case) any of which names the cause.
    pub causes: Vec<String>,
    /// What happened, for people.
    pub description: String,
    /// In the test half: never used to change a summary (causes.tsv's fourth column).
    pub test: bool,
}

/// Reads the incidents of `dir`: `causes.tsv` (name, `|`-separated cause phrases, what
/// happened, and `dev` or `test`) and one `<name>.log` per incident.
pub fn read_incidents(dir: &Path) -> Result<Vec<Incident>, LogDataError> {
    let read = |path: PathBuf| {
        std::fs::read_to_string(&path).map_err(|source| LogDataError::Io { path, source })
    };
    let index = dir.join("causes.tsv");
    let mut incidents = Vec::new();
    for row in read(index.clone())?.lines() {
        if row.starts_with('#') || row.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = row.split('\t').collect();
        let [name, causes, description, half] = fields[..] else {
            return Err(LogDataError::Format {
                path: index,
                reason: format!("expected 4 tab-separated fields in {row:?}"),
            });
        };
        let test = match half {
            "dev" => false,
            "test" => true,
            other => {
                return Err(LogDataError::Format {
                    path: index,
                    reason: format!("half must be dev or test, not {other:?}"),
                })
            }
        };
        let text = read(dir.join(format!("{name}.log")))?;
        incidents.push(Incident {
            name: name.to_string(),
            lines: text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .map(|(i, l)| parse_log_line(l, i as i64))
                .collect(),
            causes: causes.split('|').map(|c| c.trim().to_lowercase()).collect(),
            description: description.to_string(),
            test,
        });
    }
    Ok(incidents)
}

/// Whether a root-cause paragraph names the cause: the first template it cites holds
/// one of the cause phrases, or its words up to the second citation do. Mentioning the
/// cause somewhere later, in a list of everything, does not count.
pub fn names_cause(summary: &Summary, digest: &LogDigest, causes: &[String]) -> bool {
    let has_cause = |text: &str| {
        let text = text.to_lowercase();
        causes.iter().any(|c| text.contains(c.as_str()))
    };
    if let Some(first) = summary.cited.first().and_then(|id| digest.entry(id)) {
        if has_cause(&first.display()) {
            return true;
        }
    }
    let claim_end = summary
        .cited
        .get(1)
        .and_then(|id| summary.text.find(&format!("[{id}]")))
        .unwrap_or(summary.text.len());
    has_cause(&summary.text[..claim_end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_may_hold_commas_quotes_and_newlines() {
        let rows = parse_csv("a,b\n\"x, \"\"y\"\"\",\"two\nlines\"\n").unwrap();
        assert_eq!(rows, vec![vec!["a", "b"], vec!["x, \"y\"", "two\nlines"]]);
        assert!(parse_csv("\"open").is_err());
    }

    #[test]
    fn accuracy_counts_only_exact_groups() {
        let truth = ["A", "A", "B", "B", "C"];
        assert_eq!(grouping_accuracy(&truth, &[1, 1, 2, 2, 3]).accuracy, 1.0);
        // B split in two: its two lines are wrong; A and C right.
        let s = grouping_accuracy(&truth, &[1, 1, 2, 4, 3]);
        assert_eq!((s.correct, s.predicted_groups), (3, 4));
        // A and C merged: three lines wrong.
        assert_eq!(grouping_accuracy(&truth, &[1, 1, 2, 2, 1]).correct, 2);
        // Lines without a label are not scored.
        assert_eq!(grouping_accuracy(&["A", ""], &[1, 2]).lines, 1);
    }
}
