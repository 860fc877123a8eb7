//! `accord client`: act as one device — a local store that syncs with a server.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};

use accord::merge::FieldPolicy;
use accord::{Accord, Config, ConflictResolution, SyncOutcome};

/// Arguments of `accord client`.
#[derive(Args)]
pub struct ClientArgs {
    /// The device's local database (created if missing).
    #[arg(long)]
    store: PathBuf,
    /// Server URL, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "ACCORD_SERVER")]
    server: Option<String>,
    /// Bearer token from `accord admin add-user`.
    #[arg(long, env = "ACCORD_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Space to sync.
    #[arg(long, env = "ACCORD_SPACE")]
    space: Option<String>,
    /// Merge policy of a field: COLLECTION.FIELD=text|lww|counter|set|json (repeatable).
    #[arg(long = "policy", value_name = "COLLECTION.FIELD=POLICY")]
    policies: Vec<String>,
    /// Seconds a sync keeps retrying transient failures before it reports `retry`.
    #[arg(long, default_value_t = 30.0)]
    retry_budget: f64,
    /// Also trust this CA certificate (PEM) for an https server (private CA or
    /// self-signed certificate).
    #[arg(long, env = "ACCORD_CA_CERT")]
    ca_cert: Option<PathBuf>,
    /// Machine-readable output only: no progress bar even on a terminal (output is
    /// JSON either way).
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Subcommand)]
enum Verb {
    /// Creates or replaces a record with a JSON object.
    Put {
        collection: String,
        id: String,
        json: String,
    },
    /// Prints a record's JSON object; exit 1 if absent.
    Get { collection: String, id: String },
    /// Prints a collection's records as a JSON array.
    List { collection: String },
    /// Deletes a record.
    Delete { collection: String, id: String },
    /// Syncs with the server; prints a JSON report. Exit 0 done, 2 retry later, 1 failure.
    ///
    /// On a terminal, a progress bar on standard error shows records pulled of the
    /// total, bytes and rate (not with --json, nor when standard output is a pipe).
    Sync,
    /// Prints the conflict log as a JSON array (newest first).
    Conflicts {
        /// Only merges not yet reviewed.
        #[arg(long)]
        open: bool,
    },
    /// Settles a logged merge: keep the merge, restore the local or remote side, or
    /// apply the merge's suggestion (`suggested`, shown by `conflicts`).
    Resolve {
        conflict_id: i64,
        #[arg(value_enum)]
        choice: ResolveChoice,
    },
    /// Captures a log line (uploaded as a summary at the next sync).
    Log {
        level: String,
        tag: String,
        message: String,
    },
}

/// How `resolve` settles a logged merge.
#[derive(Clone, Copy, ValueEnum)]
enum ResolveChoice {
    /// Keep what the merge produced.
    Keep,
    /// Restore this device's version.
    Local,
    /// Restore the other device's version.
    Remote,
    /// Apply the merge's suggested resolution.
    Suggested,
}

fn parse_policies(specs: &[String]) -> anyhow::Result<Vec<(String, String, FieldPolicy)>> {
    specs
        .iter()
        .map(|s| {
            let (path, policy) = s
                .split_once('=')
                .with_context(|| format!("--policy '{s}': expected COLLECTION.FIELD=POLICY"))?;
            let (collection, field) = path
                .split_once('.')
                .with_context(|| format!("--policy '{s}': expected COLLECTION.FIELD=POLICY"))?;
            let policy: FieldPolicy = policy.parse().map_err(anyhow::Error::msg)?;
            Ok((collection.to_string(), field.to_string(), policy))
        })
        .collect()
}

fn open(args: &ClientArgs) -> anyhow::Result<Accord> {
    let mut config = Config::new(&args.store);
    if let (Some(url), Some(token), Some(space)) = (&args.server, &args.token, &args.space) {
        config = config.with_server(url, token, space);
    }
    config.sync.retry_budget = std::time::Duration::try_from_secs_f64(args.retry_budget)
        .context("--retry-budget must be a number of seconds")?;
    if let Some(path) = &args.ca_cert {
        config.sync.trusted_ca_pem = Some(
            std::fs::read(path)
                .with_context(|| format!("cannot read the CA certificate {}", path.display()))?,
        );
    }
    for (collection, field, policy) in parse_policies(&args.policies)? {
        let schema = config.collections.remove(&collection).unwrap_or_default();
        config = config.with_collection(&collection, schema.with(&field, policy));
    }
    let accord = Accord::open(config)
        .with_context(|| format!("cannot open store {}", args.store.display()))?;
    if let Some(aside) = &accord.open_report().moved_aside {
        eprintln!(
            "accord: the store was corrupt; it was moved to {} and a new one created",
            aside.display()
        );
    }
    Ok(accord)
}

/// Runs one client verb.
pub fn run(args: ClientArgs) -> anyhow::Result<ExitCode> {
    let accord = open(&args)?;
    let code = match &args.verb {
        Verb::Put {
            collection,
            id,
            json,
        } => {
            let data: Value = serde_json::from_str(json).context("the record is not valid JSON")?;
            accord.put(collection, id, data)?;
            ExitCode::SUCCESS
        }
        Verb::Get { collection, id } => match accord.get(collection, id)? {
            Some(r) => {
                println!("{}", r.data);
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("no record {collection}/{id}");
                ExitCode::from(1)
            }
        },
        Verb::List { collection } => {
            let rows: Vec<Value> = accord
                .list(collection)?
                .into_iter()
                .map(|r| json!({"id": r.id, "data": r.data, "pending": r.pending, "version": r.version}))
                .collect();
            println!("{}", Value::Array(rows));
            ExitCode::SUCCESS
        }
        Verb::Delete { collection, id } => {
            if !accord.delete(collection, id)? {
                eprintln!("no record {collection}/{id} to delete");
            }
            ExitCode::SUCCESS
        }
        Verb::Sync => {
            if args.server.is_none() || args.token.is_none() || args.space.is_none() {
                bail!("sync needs --server, --token and --space (or ACCORD_SERVER, ACCORD_TOKEN, ACCORD_SPACE)");
            }
            let bar = crate::progress::SyncBar::new(crate::progress::wanted(args.json));
            let report = accord.sync_with_progress(Some(bar.listener()));
            bar.finish();
            println!("{}", serde_json::to_string_pretty(&report)?);
            match report.outcome {
                SyncOutcome::Done => ExitCode::SUCCESS,
                SyncOutcome::Retry { .. } | SyncOutcome::Cancelled => ExitCode::from(2),
                SyncOutcome::Failure { .. } => ExitCode::from(1),
            }
        }
        Verb::Conflicts { open } => {
            println!(
                "{}",
                serde_json::to_string_pretty(&accord.conflicts(*open)?)?
            );
            ExitCode::SUCCESS
        }
        Verb::Resolve {
            conflict_id,
            choice,
        } => {
            let resolution = match choice {
                ResolveChoice::Keep => ConflictResolution::KeepMerged,
                ResolveChoice::Local => ConflictResolution::UseLocal,
                ResolveChoice::Remote => ConflictResolution::UseRemote,
                ResolveChoice::Suggested => ConflictResolution::Suggested,
            };
            accord.resolve_conflict(*conflict_id, resolution)?;
            ExitCode::SUCCESS
        }
        Verb::Log {
            level,
            tag,
            message,
        } => {
            accord.log(level, tag, message)?;
            accord.flush_logs()?;
            ExitCode::SUCCESS
        }
    };
    accord.shutdown()?;
    Ok(code)
}
