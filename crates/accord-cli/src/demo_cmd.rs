//! `accord demo`: the main job, end to end, on embedded defaults.
//!
//! Starts a sync server on SQLite in-process, makes two devices, lets them edit the same
//! notes while offline (disjoint edits in one note, the same line in another, a delete
//! against an edit, a new note on each side), syncs them and explains every merge.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use serde_json::{json, Value};

use accord::merge::{CollectionSchema, FieldOutcome, FieldPolicy, Side, Step};
use accord::{Accord, Config, SyncOutcome, SyncReport};
use accord_server::{auth, RunningServer, ServerOptions, SqliteStorage, Storage};

/// Arguments of `accord demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// Keep the databases in this directory (a temporary one otherwise).
    #[arg(long)]
    dir: Option<PathBuf>,
}

const SPACE: &str = "team-notes";
const NOTES: &str = "notes";

struct Device {
    name: &'static str,
    accord: Accord,
}

impl Device {
    fn sync(&self) -> anyhow::Result<SyncReport> {
        let report = self.accord.sync();
        match &report.outcome {
            SyncOutcome::Done => Ok(report),
            other => bail!("{} could not sync: {other:?}", self.name),
        }
    }

    fn notes(&self) -> anyhow::Result<Vec<(String, Value)>> {
        Ok(self
            .accord
            .list(NOTES)?
            .into_iter()
            .map(|r| (r.id, r.data))
            .collect())
    }
}

fn schema() -> CollectionSchema {
    CollectionSchema::new()
        .with("title", FieldPolicy::Lww)
        .with("body", FieldPolicy::Text)
        .with("tags", FieldPolicy::Set)
}

fn note(title: &str, body: &str, tags: &[&str]) -> Value {
    json!({"title": title, "body": body, "tags": tags})
}

fn print_note(indent: &str, id: &str, data: &Value) {
    let title = data["title"].as_str().unwrap_or("");
    let tags: Vec<&str> = data["tags"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    println!("{indent}{id}: \"{title}\"  tags {tags:?}");
    for line in data["body"].as_str().unwrap_or("").lines() {
        println!("{indent}    | {line}");
    }
}

fn print_device(d: &Device) -> anyhow::Result<()> {
    println!("  {}:", d.name);
    for (id, data) in d.notes()? {
        print_note("    ", &id, &data);
    }
    Ok(())
}

fn describe_field(f: &FieldOutcome) -> String {
    let field = match f.field.as_str() {
        "*" => "record",
        name => name,
    };
    let how = match &f.step {
        Step::Equal => "the same on both devices".to_string(),
        Step::TookLocal => "changed on this device only: kept".to_string(),
        Step::TookRemote => "changed on the other device only: taken".to_string(),
        Step::Lww { winner } => format!(
            "changed on both: last writer wins ({} edit is later)",
            winner.as_str()
        ),
        Step::Counter => "counter: both increments added".to_string(),
        Step::Set => "set: additions and removals of both sides applied".to_string(),
        Step::Json => "object: merged key by key".to_string(),
        Step::LineDiff3 => "text: different lines edited — merged line by line (diff3)".to_string(),
        Step::WordDiff3 => {
            "text: different words of the same line edited — both edits applied (word diff3)"
                .to_string()
        }
        Step::Arbiter { model, .. } => {
            format!("text: overlapping edit decided by the arbiter ({model})")
        }
        Step::KeptEditOverDelete {
            edited: Side::Local,
        } => "deleted on the other device, edited here: the edit is kept".to_string(),
        Step::KeptEditOverDelete {
            edited: Side::Remote,
        } => "deleted here, edited on the other device: the edit is kept".to_string(),
        Step::KeepBoth => {
            "text: the same words edited differently — both versions kept, flagged for review"
                .to_string()
        }
        Step::KeptRemoteMayHoldLocal => {
            "resent after a long absence: the server's copy kept (it may hold this write), the write logged for review"
                .to_string()
        }
    };
    match &f.suggestion {
        Some(why) => format!("{field:<6} {how}\n             suggested: {why}"),
        None => format!("{field:<6} {how}"),
    }
}

/// Shows one overlapping edit the model decides, beside what the fallback does.
fn show_model_merge() {
    use crate::model_path::default_model_path;
    use accord::merge::{merge_text, Arbiter, ArbiterOptions, CandidateArbiter, Choice};
    use accord_model::{LazyModel, LoadOptions};

    let base = "How to set up the phone:\n1. Open the box.\n4. Turn the phone on.\n";
    let phone =
        "How to set up the phone:\n1. Open the box.\n3. Charge the phone.\n4. Turn the phone on.\n";
    let laptop = "How to set up the phone:\n1. Open the box.\n2. Take the phone out of the box.\n4. Turn the phone on.\n";
    println!("\n6. An overlapping edit for the on-device model: both devices added a step at the same place.");
    println!(
        "   phone adds \"3. Charge the phone.\", laptop adds \"2. Take the phone out of the box.\""
    );
    let fallback = merge_text(base, phone, laptop, None);
    println!("   without the model (keep both, this device first, flagged for review):");
    for line in fallback.text.lines() {
        println!("      | {line}");
    }
    let Some(path) = default_model_path().filter(|p| p.is_file()) else {
        println!("   with the model: no model file found (run `make model` and the demo from the checkout, or set ACCORD_MODEL)");
        return;
    };
    let model = std::sync::Arc::new(LazyModel::new(path, LoadOptions::default()));
    let options = ArbiterOptions {
        choice: Choice::DocumentLikelihood,
        ..ArbiterOptions::default()
    };
    let arbiter = CandidateArbiter::with_model(model.clone(), options);
    let merged = merge_text(base, phone, laptop, Some(&arbiter as &dyn Arbiter));
    if let Some(e) = model.load_error() {
        println!("   with the model: it could not be loaded ({e}); the fallback above applies");
        return;
    }
    println!(
        "   with the model {} ({}):",
        arbiter.name(),
        if merged.needs_review {
            "flagged for review"
        } else {
            "not flagged"
        }
    );
    for line in merged.text.lines() {
        println!("      | {line}");
    }
    for h in &merged.hunks {
        if let accord::merge::Step::Arbiter { detail, .. } = &h.step {
            println!("   decided: {detail}");
        }
    }
}

/// Runs the demo; exit 1 if the devices do not converge.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let tmp;
    let dir = match args.dir {
        Some(d) => {
            std::fs::create_dir_all(&d)
                .with_context(|| format!("cannot create {}", d.display()))?;
            d
        }
        None => {
            tmp = tempfile::tempdir().context("cannot make a temporary directory")?;
            tmp.path().to_path_buf()
        }
    };

    // The server: SQLite storage, a space, two users with a grant each.
    let storage = Arc::new(SqliteStorage::open(&dir.join("server.db"))?);
    storage.add_space(SPACE)?;
    let mut tokens = Vec::new();
    for user in ["alice", "bob"] {
        let token = auth::new_token().map_err(anyhow::Error::msg)?;
        storage.add_user(user, &auth::token_hash(&token))?;
        storage.grant(user, SPACE)?;
        tokens.push(token);
    }
    let server = RunningServer::start(storage, ServerOptions::default(), "127.0.0.1:0")
        .context("cannot start the embedded server")?;
    let url = server.url();

    println!("Accord demo: two devices edit the same notes offline, then sync.");
    println!(
        "  server   {url} (embedded, SQLite at {})",
        dir.join("server.db").display()
    );
    println!("  space    '{SPACE}'; policies: title=lww, body=text, tags=set\n");

    let open = |name: &'static str, token: &str| -> anyhow::Result<Device> {
        let config = Config::new(dir.join(format!("{name}.db")))
            .with_server(&url, token, SPACE)
            .with_collection(NOTES, schema());
        Ok(Device {
            name,
            accord: Accord::open(config)?,
        })
    };
    let phone = open("phone", &tokens[0])?;
    let laptop = open("laptop", &tokens[1])?;

    // A shared starting point.
    phone.accord.put_many(
        NOTES,
        vec![
            ("groceries".into(), note("Groceries", "milk\nbread\neggs\n", &["home"])),
            (
                "meeting".into(),
                note("Team meeting", "Agenda: roadmap review\nStandup moved to Tuesday 10:00\nBring the Q3 numbers\n", &["work"]),
            ),
            ("ideas".into(), note("Old ideas", "a bike rack for the office\n", &[])),
            ("call".into(), note("Call", "Meet Bob at 10am in the lobby\n", &["work"])),
        ],
    )?;
    phone.sync()?;
    laptop.sync()?;
    println!("1. Both devices start from the same four notes:");
    print_device(&laptop)?;

    // Offline edits.
    let edit = |d: &Device, id: &str, f: &dyn Fn(&mut Value)| -> anyhow::Result<()> {
        let mut data = d.accord.get(NOTES, id)?.context("note missing")?.data;
        f(&mut data);
        d.accord.put(NOTES, id, data)?;
        Ok(())
    };
    edit(&phone, "groceries", &|n| {
        n["body"] = json!("oat milk\nbread\neggs\n");
        n["tags"] = json!(["home", "weekly"]);
    })?;
    edit(&phone, "meeting", &|n| {
        n["body"] = json!(
            "Agenda: roadmap review\nStandup moved to Wednesday 10:00\nBring the Q3 numbers\n"
        );
    })?;
    edit(&phone, "call", &|n| {
        n["body"] = json!("Meet Robert at 10am in the lobby\n");
    })?;
    phone.accord.delete(NOTES, "ideas")?;
    phone.accord.put(
        NOTES,
        "phone-note",
        note("From the phone", "call the plumber\n", &["home"]),
    )?;

    edit(&laptop, "groceries", &|n| {
        n["body"] = json!("milk\nbread\neggs\ncoffee beans\n");
        n["tags"] = json!(["home", "urgent"]);
        n["title"] = json!("Groceries (Saturday)");
    })?;
    edit(&laptop, "meeting", &|n| {
        n["body"] = json!(
            "Agenda: roadmap review\nStandup moved to Thursday 10:00\nBring the Q3 numbers\n"
        );
    })?;
    edit(&laptop, "call", &|n| {
        n["body"] = json!("Meet Bob at 11am in the lobby\n");
    })?;
    edit(&laptop, "ideas", &|n| {
        n["body"] = json!("a bike rack for the office\na standing desk\n");
    })?;
    laptop.accord.put(
        NOTES,
        "laptop-note",
        note("From the laptop", "book the venue\n", &["work"]),
    )?;

    println!("\n2. Offline, each device edits the same notes:");
    println!("   phone: groceries line 1 and a tag; meeting line 2 (Wednesday); call: Bob -> Robert; deletes 'ideas'; new note");
    println!("   laptop: groceries new last line, a tag and the title; meeting line 2 (Thursday); call: 10am -> 11am; edits 'ideas'; new note");
    print_device(&phone)?;
    print_device(&laptop)?;

    // Sync: phone pushes first, laptop merges against it, phone picks up the merge.
    println!("\n3. Sync: phone, then laptop (which merges), then phone again.");
    let mut merges = Vec::new();
    for d in [&phone, &laptop, &phone] {
        let r = d.sync()?;
        println!(
            "   {:<7} pulled {:>2}  pushed {:>2}  merged {}  flagged {}  ({} bytes sent, {} received)",
            d.name, r.pulled, r.pushed, r.merged, r.conflicts, r.bytes_sent, r.bytes_received
        );
        merges.extend(r.merges.into_iter().map(|m| (d.name, m)));
    }

    println!("\n4. What was merged, and how (on the device that merged):");
    for (device, m) in &merges {
        let flag = if m.needs_review {
            "  [flagged for review]"
        } else {
            ""
        };
        println!(
            "   {}/{} on {device}: strategy '{}'{flag}",
            NOTES, m.id, m.strategy
        );
        for f in &m.fields {
            println!("      {}", describe_field(f));
        }
    }

    println!("\n5. Result on both devices:");
    print_device(&phone)?;
    let same = phone.notes()? == laptop.notes()?;
    println!(
        "\n   The two devices hold {} data.",
        if same { "the same" } else { "DIFFERENT" }
    );
    let open_conflicts = laptop.accord.conflicts(true)?;
    let flagged: Vec<_> = open_conflicts.iter().filter(|c| c.needs_review).collect();
    println!(
        "   {} merge(s) logged on the laptop, {} flagged for review (both sides kept; the app can restore either):",
        open_conflicts.len(),
        flagged.len()
    );
    for c in flagged {
        println!(
            "     #{} {}/{} ({})",
            c.conflict_id, c.collection, c.id, c.strategy
        );
        // What one call (`resolve(id, Suggested)`) would make of it.
        if let Some(body) = c
            .suggested
            .as_ref()
            .and_then(|s| s.get("body"))
            .and_then(Value::as_str)
        {
            println!("       suggested resolution of the body (one call applies it):");
            for line in body.lines() {
                println!("         | {line}");
            }
        }
    }
    println!("   Nothing either device wrote was lost.");
    show_model_merge();
    phone.accord.shutdown()?;
    laptop.accord.shutdown()?;
    server.stop();
    Ok(if same {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
