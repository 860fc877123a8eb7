//! What each fuzz target does with its input, shared by the cargo-fuzz targets
//! (fuzz/fuzz_targets/*.rs) and the regression test that replays the kept crashers in
//! `make test` (crates/accord-cli/tests/fuzz_regressions.rs). Every function must
//! return normally for any input: a panic is a finding.
#![allow(dead_code)]

use std::sync::{Mutex, OnceLock};

use accord::transport::{Traffic, Transport, TransportError};
use accord::{Accord, Config};
use accord_protocol::{
    ChangesPage, LogReceipt, LogReport, MutationBatch, MutationResults, RawData, RemoteRecord,
};
use accord_server::Storage;

/// Splits an input into up to `n` parts at 0xFF bytes (never valid UTF-8, so it never
/// collides with text the parts carry).
pub fn split(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut parts: Vec<&[u8]> = data.splitn(n, |b| *b == 0xFF).collect();
    while parts.len() < n {
        parts.push(&[]);
    }
    parts
}

/// Server side: a request body as the mutations endpoint decodes it, validated, then
/// applied to a real SQLite store; and as the logs endpoint decodes it.
pub fn server_protocol(data: &[u8]) {
    static STORE: OnceLock<Option<(tempfile::TempDir, accord_server::SqliteStorage, i64)>> =
        OnceLock::new();
    let store = STORE.get_or_init(|| {
        let dir = tempfile::tempdir().ok()?;
        let s = accord_server::SqliteStorage::open(&dir.path().join("fuzz.db")).ok()?;
        s.add_space("fuzz").ok()?;
        s.add_user("fuzz", "hash").ok()?;
        s.grant("fuzz", "fuzz").ok()?;
        let user = s.user_for_token("hash").ok()??;
        let space = s.space_for(&user, "fuzz").ok()??;
        Some((dir, s, space))
    });
    if let Ok(batch) = serde_json::from_slice::<MutationBatch>(data) {
        if accord_server::storage::validate_batch(&batch).is_ok() {
            if let Some((_, s, space)) = store {
                // Storage may refuse (that is an answer); it must not panic or
                // answer out of order.
                if let Ok(results) = s.apply(*space, &batch) {
                    assert_eq!(results.len(), batch.mutations.len());
                    for (r, m) in results.iter().zip(&batch.mutations) {
                        assert_eq!(r.mutation_id(), m.mutation_id);
                    }
                    let _ = s.changes(*space, 0, 1000);
                }
            }
        }
    }
    if let Ok(report) = serde_json::from_slice::<LogReport>(data) {
        let _ = accord_protocol::check_name("report_id", &report.report_id);
    }
}

/// A server that answers with whatever the fuzzer wrote.
struct HostileServer {
    page: Mutex<Option<ChangesPage<RawData>>>,
    answer: Option<MutationResults>,
}

impl Transport for HostileServer {
    fn changes(
        &self,
        since: i64,
        _limit: u32,
        _count_remaining: bool,
    ) -> Result<ChangesPage<RawData>, TransportError> {
        let page = self.page.lock().unwrap_or_else(|p| p.into_inner()).take();
        Ok(page.unwrap_or(ChangesPage {
            changes: Vec::new(),
            next: since,
            more: false,
            remaining: None,
            features: Vec::new(),
        }))
    }

    fn push(&self, _batch: &MutationBatch) -> Result<MutationResults, TransportError> {
        self.answer
            .clone()
            .ok_or_else(|| TransportError::protocol("no answer"))
    }

    fn upload_logs(&self, report: &LogReport) -> Result<LogReceipt, TransportError> {
        Ok(LogReceipt {
            report_id: report.report_id.clone(),
            stored: true,
        })
    }

    fn traffic(&self) -> Traffic {
        Traffic::default()
    }
}

/// Client side: a changes page and a mutations answer from a hostile server, fed to a
/// real sync pass over a real store that has local edits (so merges run). The pass must
/// end with a report, never a panic, and leave the store sound.
pub fn client_protocol(data: &[u8]) {
    let parts = split(data, 2);
    let page = serde_json::from_slice::<ChangesPage<RawData>>(parts[0]).ok();
    let answer = serde_json::from_slice::<MutationResults>(parts[1]).ok();
    if page.is_none() && answer.is_none() {
        return;
    }
    let Ok(dir) = tempfile::tempdir() else { return };
    let mut config = Config::new(dir.path().join("device.db")).with_server(
        "http://127.0.0.1:9",
        "token",
        "space",
    );
    config.sync.max_push_rounds = 2;
    let Ok(accord) = Accord::open(config) else {
        return;
    };
    let _ = accord.put(
        "notes",
        "a",
        serde_json::json!({"body": "one\ntwo\n", "n": 1}),
    );
    let _ = accord.put("notes", "b", serde_json::json!({"title": "x"}));
    let server = HostileServer {
        page: Mutex::new(page),
        answer,
    };
    let _report = accord.sync_via(&server, None);
    assert!(accord.store().check_integrity().is_ok());
    let _ = accord.list("notes");
    let _ = accord.conflicts(false);
}

/// The merge pipeline: a text merge of three strings, and a record merge of three JSON
/// values, must return for any input, and a merge of a side with itself is that side.
pub fn merge(data: &[u8]) {
    let parts = split(data, 3);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let (base, ours, theirs) = (text(parts[0]), text(parts[1]), text(parts[2]));
    let m = accord::merge::merge_text(&base, &ours, &theirs, None);
    let _ = m.text.len();
    assert_eq!(
        accord::merge::merge_text(&base, &ours, &ours, None).text,
        ours
    );
    assert_eq!(
        accord::merge::merge_text(&base, &base, &theirs, None).text,
        theirs
    );
    let json = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).ok();
    if let (Some(l), Some(r)) = (json(parts[1]), json(parts[2])) {
        let ctx = accord::merge::MergeContext {
            local_hlc: "1-0-a",
            remote_hlc: "1-0-b",
            arbiter: None,
        };
        let schema = accord::merge::CollectionSchema::new();
        let b = json(parts[0]);
        let _ = accord::merge::merge_record(&schema, b.as_ref(), &l, &r, &ctx);
    }
    // A record as it arrives from a server, decoded for the merge.
    let _ = serde_json::from_slice::<RemoteRecord>(data);
}

/// The GGUF loader: bytes as a model file (the reader takes a path, so they are written
/// to a temporary file), its header, metadata and tensor table checked, and the
/// tokenizer built from its metadata; when that loads, a short text is tokenized. Any
/// input must give an error or a model, never a panic or an allocation beyond what the
/// file's size bounds.
pub fn gguf(data: &[u8]) {
    use std::io::Write;
    let Ok(mut file) = tempfile::NamedTempFile::new() else {
        return;
    };
    if file.write_all(data).and_then(|_| file.flush()).is_err() {
        return;
    }
    let Ok(gguf) = accord_model::GgufFile::open(file.path(), None) else {
        return;
    };
    let _ = gguf.parameter_count();
    let _ = gguf.tensor_type_counts();
    let Ok(tokenizer) = accord_model::Tokenizer::from_gguf(&gguf) else {
        return;
    };
    let vocab = tokenizer.vocab_size();
    for text in [
        "Hello world, it's 42!\n",
        "<|im_start|>user\nfn main() {}<|im_end|>",
    ] {
        for special in [false, true] {
            let ids = tokenizer.encode(text, special);
            assert!(
                ids.iter().all(|&id| (id as usize) < vocab),
                "an id outside the vocabulary of {vocab}: {ids:?}"
            );
            let _ = tokenizer.decode(&ids);
        }
    }
    for id in [tokenizer.bos, tokenizer.eos, tokenizer.eot]
        .into_iter()
        .flatten()
    {
        assert!((id as usize) < vocab);
    }
}

/// The log miner: bytes as lines of log text, grouped into templates as `accord logs
/// parse` does (one group per line, every line counted once in its template), and turned
/// into the report `accord logs report` prints and a sync uploads.
pub fn log_miner(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.split('\n').map(|l| l.trim_end_matches('\r')).collect();

    // `accord logs parse`.
    let mut miner = accord_logs::TemplateMiner::new();
    let shapes: Vec<_> = lines.iter().map(|l| miner.add(l)).collect();
    let mined = miner.templates();
    let templates = mined.templates();
    assert_eq!(mined.lines(), lines.len() as u64);
    assert!(!templates.is_empty() || lines.is_empty());
    let mut per_group = vec![0u64; templates.len()];
    for shape in &shapes {
        let group = mined.group_of(*shape);
        assert!(
            group < templates.len(),
            "group {group} of {}",
            templates.len()
        );
        per_group[group] += 1;
    }
    for (t, n) in templates.iter().zip(&per_group) {
        assert_eq!(
            t.count, *n,
            "template {:?} counts {} lines of {n}",
            t.text, t.count
        );
        assert!(t.first_ms <= t.last_ms);
    }
    assert_eq!(
        templates.iter().map(|t| t.count).sum::<u64>(),
        lines.len() as u64
    );
    assert_eq!(
        accord_logs::group_messages(&lines),
        shapes
            .iter()
            .map(|s| mined.group_of(*s))
            .collect::<Vec<_>>()
    );

    // `accord logs report`: timed, levelled, tagged lines (logcat, ISO, JSON or plain).
    let events: Vec<accord_logs::LogLine> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| accord_logs::parse_log_line(l, i as i64))
        .collect();
    let budget = accord_logs::ReportBudget::default();
    let digest = accord_logs::LogDigest::from_events(&events, &budget);
    assert_eq!(digest.lines, events.len() as u64);
    assert!(digest.critical_lines <= digest.lines);
    assert!(digest.window_start_ms <= digest.window_end_ms);
    let summary = accord_logs::summarise(&digest, None, &budget);
    for id in &summary.cited {
        assert!(
            digest.entry(id).is_some(),
            "the summary cites {id}, not in the report"
        );
    }
    let report = digest.into_report("fuzz", &summary);
    assert_eq!(report.lines, events.len() as u64);
    let json = serde_json::to_vec(&report).unwrap_or_default();
    assert!(serde_json::from_slice::<LogReport>(&json).is_ok());
    let _ = accord_logs::format_time(report.window_start_ms);
    let _ = accord_logs::format_time(report.window_end_ms);
}
