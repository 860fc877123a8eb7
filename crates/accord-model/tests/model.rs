//! The on-device model against the real SmolLM2-135M-Instruct Q4_1 file.
//!
//! The file is fetched by `scripts/fetch-models.sh` (CI runs it first); set
//! `ACCORD_TEST_MODEL` to use another copy. A missing file fails these tests with the
//! command that fetches it: a model test that silently skipped would prove nothing.

// An integration test: the workspace denies unwrap, expect and panic outside tests, and
// clippy counts only #[test] functions as tests, not the helpers beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use accord::InterruptHandle;
use accord_model::{
    Budget, ChatMessage, GgufModel, LanguageModel, LoadOptions, ModelError, StopReason,
};
use accord_test_support::test_model_path;

fn model() -> Arc<GgufModel> {
    static MODEL: OnceLock<Arc<GgufModel>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            Arc::new(
                GgufModel::load(&test_model_path(), &LoadOptions::default()).expect("load SmolLM2"),
            )
        })
        .clone()
}

fn budget(tokens: usize) -> Budget {
    Budget::new(tokens, Duration::from_secs(120))
}

#[test]
fn load_report_says_how_the_q4_1_matrices_are_run() {
    let m = model();
    let r = m.report();
    assert_eq!(r.arch, accord_model::Architecture::Llama);
    assert_eq!(r.layers, 30);
    assert_eq!(r.vocab, 49152);
    assert!(r.parameters > 130_000_000 && r.parameters < 140_000_000);
    // candle has no fast Q4_1 kernel: either ours runs them (x86-64 with AVX2, arm64
    // with NEON) or they were requantized to Q8_0; the report says which, for all 210
    // matrices.
    let own = r
        .native_kernels
        .iter()
        .any(|(q, n)| q == "Q4_1" && *n == 210);
    let requantized = r
        .requantized
        .iter()
        .any(|(q, n)| q == "Q4_1->Q8_0" && *n == 210);
    assert!(
        own ^ requantized,
        "own {:?}, requantized {:?}",
        r.native_kernels,
        r.requantized
    );
    // Every arm64 CPU has NEON: a phone keeps the file's blocks.
    if cfg!(target_arch = "aarch64") {
        assert!(own, "requantized on arm64: {:?}", r.requantized);
        assert!(
            r.native_instruction_set
                .is_some_and(|isa| isa.starts_with("NEON")),
            "{:?}",
            r.native_instruction_set
        );
    }
}

#[test]
fn requantized_load_reports_it_and_still_ranks_correctly() {
    let options = LoadOptions {
        own_kernels: false,
        ..LoadOptions::default()
    };
    let m = GgufModel::load(&test_model_path(), &options).unwrap();
    assert_eq!(
        m.report().requantized,
        vec![("Q4_1->Q8_0".to_string(), 210)]
    );
    assert!(m.report().native_kernels.is_empty());
    let scores = m
        .score(
            "The capital of France is",
            &[" a purple bicycle.", " Paris."],
            &budget(32),
        )
        .unwrap();
    assert!(scores[1].logprob > scores[0].logprob, "{scores:?}");
}

/// One recorded case: text and the ids llama.cpp gave for it.
struct Recorded {
    text: String,
    ids: Vec<u32>,
}

fn recorded_llama_cpp_ids() -> Vec<Recorded> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/smollm2_llama_tokenize.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Recorded {
            text: c["text"].as_str().unwrap().to_string(),
            ids: c["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_u64().unwrap() as u32)
                .collect(),
        })
        .collect()
}

#[test]
fn tokenizer_ids_equal_llama_cpp_tokenize() {
    let m = model();
    let cases = recorded_llama_cpp_ids();
    assert!(cases.len() >= 10);
    for case in cases {
        assert_eq!(
            m.tokenizer().encode(&case.text, true),
            case.ids,
            "text {:?}",
            case.text
        );
        // Decoding gives the text back (special tokens are control tokens: dropped).
        if !case.text.contains("<|") {
            assert_eq!(m.tokenizer().decode(&case.ids), case.text);
        }
    }
}

#[test]
fn special_token_spellings_in_content_stay_text_unless_parsed() {
    let t = model().tokenizer().clone();
    let im_start = t.token_id("<|im_start|>").unwrap();
    assert_eq!(t.encode("<|im_start|>", true), vec![im_start]);
    assert!(!t.encode("<|im_start|>", false).contains(&im_start));
}

#[test]
fn chat_prompt_is_the_models_own_chatml_template() {
    let m = model();
    let prompt = m
        .chat_prompt(&[ChatMessage::user("Merge these lines.")])
        .unwrap();
    assert_eq!(
        prompt,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\nMerge these lines.<|im_end|>\n<|im_start|>assistant\n"
    );
    let with_system = m
        .chat_prompt(&[
            ChatMessage::system("Answer with one word."),
            ChatMessage::user("Hi"),
        ])
        .unwrap();
    assert_eq!(
        with_system,
        "<|im_start|>system\nAnswer with one word.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
}

#[test]
fn greedy_generation_is_deterministic_and_stops_at_end_of_turn() {
    let m = model();
    let prompt = m
        .chat_prompt(&[ChatMessage::user(
            "What is the capital of France? Answer in one sentence.",
        )])
        .unwrap();
    let a = m.generate(&prompt, &budget(48)).unwrap();
    // A different call in between must not leak state into the next one.
    m.generate("Once upon a time", &budget(8)).unwrap();
    let b = m.generate(&prompt, &budget(48)).unwrap();
    assert_eq!(a.text, b.text);
    assert_eq!(a.tokens, b.tokens);
    assert!(a.text.contains("Paris"), "answer: {:?}", a.text);
    assert_eq!(a.stop, StopReason::EndOfText, "answer: {:?}", a.text);
    assert!(!a.text.contains("<|im_end|>"));
}

#[test]
fn token_budget_caps_generation() {
    let m = model();
    let g = m
        .generate(
            "The numbers from one to a hundred are: one, two,",
            &budget(5),
        )
        .unwrap();
    assert_eq!(g.stop, StopReason::MaxTokens);
    assert_eq!(g.tokens, 5);
}

#[test]
fn scoring_ranks_the_obviously_right_continuation_first() {
    let m = model();
    let prompt = "The capital of France is";
    let candidates = [" a purple bicycle.", " Paris.", " seventeen yesterday."];
    let scores = m.score(prompt, &candidates, &budget(64)).unwrap();
    assert_eq!(scores.len(), 3);
    let best = (0..3)
        .max_by(|a, b| scores[*a].logprob.total_cmp(&scores[*b].logprob))
        .unwrap();
    assert_eq!(candidates[best], " Paris.", "scores: {scores:?}");
    assert!(scores.iter().all(|s| s.logprob < 0.0 && s.tokens > 0));
}

#[test]
fn scoring_with_a_shared_prompt_equals_scoring_alone() {
    // The prompt's KV cache is reused and truncated between continuations; a
    // continuation must score the same whatever was scored before it.
    let m = model();
    let prompt = "def add(a, b):\n    return";
    let both = m
        .score(prompt, &[" a - b * 2", " a + b"], &budget(64))
        .unwrap();
    let alone = m.score(prompt, &[" a + b"], &budget(64)).unwrap();
    assert!(
        (both[1].logprob - alone[0].logprob).abs() < 1e-3,
        "{both:?} vs {alone:?}"
    );
    assert!(both[1].logprob > both[0].logprob);
}

#[test]
fn cancellation_from_another_thread_stops_generation() {
    let m = model();
    let interrupt = InterruptHandle::new();
    let b = Budget::new(100_000, Duration::from_secs(600)).with_interrupt(interrupt.clone());
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        interrupt.interrupt();
    });
    let g = m
        .generate(
            "Count from one to ten thousand in words: one, two, three, four,",
            &b,
        )
        .unwrap();
    stopper.join().unwrap();
    assert_eq!(
        g.stop,
        StopReason::Cancelled,
        "stopped after {} tokens: {:?}",
        g.tokens,
        g.text
    );
    assert!(g.tokens < 100_000);
}

#[test]
fn a_spent_deadline_stops_generation_and_scoring() {
    let m = model();
    let b = Budget::new(100_000, Duration::from_millis(200));
    let g = m
        .generate("Count from one to ten thousand: 1, 2, 3, 4,", &b)
        .unwrap();
    assert_eq!(g.stop, StopReason::OutOfTime);
    let spent = Budget::new(100, Duration::ZERO);
    assert!(matches!(
        m.score("Hello", &[" world"], &spent),
        Err(ModelError::OutOfTime)
    ));
}

#[test]
fn a_prompt_longer_than_the_context_is_rejected() {
    let path = test_model_path();
    let small = GgufModel::load(
        &path,
        &LoadOptions {
            max_context: 32,
            ..LoadOptions::default()
        },
    )
    .unwrap();
    let long = "word ".repeat(100);
    assert!(matches!(
        small.generate(&long, &budget(4)),
        Err(ModelError::Input(_))
    ));
}

fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    f.flush().unwrap();
    f
}

fn load_err(path: &std::path::Path) -> ModelError {
    match GgufModel::load(path, &LoadOptions::default()) {
        Ok(_) => panic!("{} loaded but should not", path.display()),
        Err(e) => e,
    }
}

#[test]
fn missing_truncated_or_corrupt_files_are_errors_not_crashes() {
    let path = test_model_path();
    let bytes = std::fs::read(&path).unwrap();

    let missing = load_err(std::path::Path::new("/nonexistent/model.gguf"));
    assert!(matches!(missing, ModelError::Io { .. }), "{missing}");

    for cut in [0, 3, 100, 4096, bytes.len() / 2, bytes.len() - 1] {
        let f = write_temp(&bytes[..cut]);
        let e = load_err(f.path());
        assert!(matches!(e, ModelError::Invalid { .. }), "cut at {cut}: {e}");
    }

    let mut bad_magic = bytes[..1 << 20].to_vec();
    bad_magic[..4].copy_from_slice(b"GGUX");
    let e = load_err(write_temp(&bad_magic).path());
    assert!(e.to_string().contains("not a GGUF file"), "{e}");

    // An architecture this build does not know: rename "llama" in the metadata. The
    // header (first few MB) is all the loader reads before refusing it.
    let mut other_arch = bytes[..8 << 20].to_vec();
    let at = other_arch.windows(5).position(|w| w == b"llama").unwrap();
    other_arch[at..at + 5].copy_from_slice(b"mamba");
    let e = load_err(write_temp(&other_arch).path());
    assert!(e.to_string().contains("mamba"), "{e}");

    // Garbage over the header's counts and tables.
    let mut garbled = bytes[..1 << 20].to_vec();
    for (i, b) in garbled.iter_mut().enumerate().skip(8).take(4096) {
        *b = (i * 131 % 251) as u8;
    }
    let e = load_err(write_temp(&garbled).path());
    assert!(matches!(e, ModelError::Invalid { .. }), "{e}");
}

#[test]
fn a_wrong_checksum_is_refused_before_loading() {
    let options = LoadOptions {
        sha256: Some("0".repeat(64)),
        ..LoadOptions::default()
    };
    let e = GgufModel::load(&test_model_path(), &options)
        .err()
        .expect("must refuse");
    assert!(e.to_string().contains("sha256"), "{e}");
}

#[test]
fn calls_from_several_threads_are_serialised() {
    let m = model();
    let prompt = "The opposite of hot is";
    let expected = m.generate(prompt, &budget(6)).unwrap().text;
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || m.generate(prompt, &budget(6)).unwrap().text)
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), expected);
    }
}

#[test]
fn arbiter_with_the_real_model_puts_numbered_steps_in_order() {
    use accord::merge::{Arbiter, ArbiterOptions, CandidateArbiter, Choice, ConflictHunk};
    // Both devices added a step at the same place; the structural order (this device's
    // first) would give 1, 3, 2, 4. The model reads the document and picks 1, 2, 3, 4.
    let hunk = ConflictHunk {
        before: "How to set up the phone:\n1. Open the box.\n",
        base: "",
        local: "3. Charge the phone.\n",
        remote: "2. Take the phone out of the box.\n",
        after: "4. Turn the phone on.\n",
    };
    let options = ArbiterOptions {
        choice: Choice::DocumentLikelihood,
        ..ArbiterOptions::default()
    };
    let arbiter = CandidateArbiter::with_model(model(), options);
    let res = arbiter.resolve(&hunk).expect("the model decides");
    assert_eq!(
        res.text,
        "2. Take the phone out of the box.\n3. Charge the phone.\n"
    );
    assert!(!res.needs_review);
    assert!(res.score.is_some_and(|s| s < 0.0), "{res:?}");
    assert!(res.detail.contains("SmolLM2"), "{}", res.detail);
}
