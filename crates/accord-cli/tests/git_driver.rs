//! `accord merge` as a git merge driver, driven by a real `git merge` in a temporary
//! repository: word edits of one line merge cleanly, and a hunk that needs a person is
//! left between git's conflict markers, so git marks the file conflicted and `git diff`
//! and mergetools find it.

// An integration test: the workspace denies unwrap, expect and panic outside tests, and
// clippy counts only #[test] functions as tests, not the helpers beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::accord_bin;

fn git(repo: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .current_dir(repo)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", repo)
        .output()
        .expect("git is installed")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "git failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A repository whose *.md files merge with `accord merge --markers`, holding `base`
/// in notes.md, with branch `theirs` changing it to `theirs` and main to `ours`.
fn repo_with_branches(dir: &Path, base: &str, ours: &str, theirs: &str) {
    ok(git(dir, &["init", "-q", "-b", "main"]));
    ok(git(dir, &["config", "user.email", "t@example.com"]));
    ok(git(dir, &["config", "user.name", "t"]));
    let driver = format!(
        "{} merge --markers --marker-size %L -L %P -L base -L theirs %O %A %B -o %A",
        accord_bin().display()
    );
    ok(git(
        dir,
        &["config", "merge.accord.name", "Accord three-way merge"],
    ));
    ok(git(dir, &["config", "merge.accord.driver", &driver]));
    std::fs::write(dir.join(".gitattributes"), "*.md merge=accord\n").unwrap();
    std::fs::write(dir.join("notes.md"), base).unwrap();
    ok(git(dir, &["add", "."]));
    ok(git(dir, &["commit", "-qm", "base"]));
    ok(git(dir, &["checkout", "-qb", "theirs"]));
    std::fs::write(dir.join("notes.md"), theirs).unwrap();
    ok(git(dir, &["commit", "-qam", "theirs"]));
    ok(git(dir, &["checkout", "-q", "main"]));
    std::fs::write(dir.join("notes.md"), ours).unwrap();
    ok(git(dir, &["commit", "-qam", "ours"]));
}

#[test]
fn git_merges_word_edits_of_one_line_through_the_driver() {
    let dir = tempfile::tempdir().unwrap();
    repo_with_branches(
        dir.path(),
        "# Plan\nMeet Bob at 10am in the lobby.\n",
        "# Plan\nMeet Robert at 10am in the lobby.\n",
        "# Plan\nMeet Bob at 11am in the lobby.\n",
    );
    ok(git(dir.path(), &["merge", "-q", "--no-edit", "theirs"]));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.md")).unwrap(),
        "# Plan\nMeet Robert at 11am in the lobby.\n"
    );
}

#[test]
fn a_hunk_that_needs_a_person_is_left_between_git_conflict_markers() {
    let dir = tempfile::tempdir().unwrap();
    repo_with_branches(
        dir.path(),
        "# Plan\nThe launch is on Monday.\nBring the notes.\n",
        "# Plan\nThe launch is on Tuesday.\nBring the notes.\n",
        "# Plan\nThe launch is on Friday.\nBring the notes.\n",
    );
    let out = git(dir.path(), &["merge", "--no-edit", "theirs"]);
    assert!(!out.status.success(), "git must see the conflict");
    let text = std::fs::read_to_string(dir.path().join("notes.md")).unwrap();
    assert_eq!(
        text,
        "# Plan\n<<<<<<< notes.md\nThe launch is on Tuesday.\n||||||| base\nThe launch is on \
         Monday.\n=======\nThe launch is on Friday.\n>>>>>>> theirs\nBring the notes.\n"
    );
    // git lists the file as unmerged, and `git diff` shows the markers.
    let unmerged = ok(git(dir.path(), &["ls-files", "-u"]));
    assert!(unmerged.contains("notes.md"), "{unmerged}");
    let diff = ok(git(dir.path(), &["diff"]));
    assert!(diff.contains("<<<<<<< notes.md"), "{diff}");
}

#[test]
fn marker_size_and_suggestion_options_shape_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let base = write("base", "The launch is on Monday.\n");
    let ours = write("ours", "The launch is on Tuesday.\n");
    let theirs = write("theirs", "The launch is on the first Friday of June.\n");
    let run = |extra: &[&str]| {
        let out = Command::new(accord_bin())
            .arg("merge")
            .args(extra)
            .args([&base, &ours, &theirs])
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    let (code, text) = run(&["--markers", "--marker-size", "9"]);
    assert_eq!(code, Some(1));
    assert!(text.starts_with("<<<<<<<<< ours\n") && text.contains("\n>>>>>>>>> theirs\n"));
    let (code, text) = run(&["--suggest"]);
    assert_eq!(code, Some(1), "a suggestion still needs a person");
    assert_eq!(text, "The launch is on the first Friday of June.\n");
    let (code, _) = run(&["--markers", "--suggest"]);
    assert_eq!(
        code,
        Some(2),
        "the two ways to write a hunk exclude each other"
    );
}
