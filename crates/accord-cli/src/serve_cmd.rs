//! `accord serve`: the sync server.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use accord_server::{ServerOptions, SqliteStorage, Storage};

/// Arguments of `accord serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// The server database (SQLite file; created if missing).
    #[arg(long)]
    db: PathBuf,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Largest request body accepted, in bytes (larger ones get 413).
    #[arg(long, default_value_t = ServerOptions::default().max_body_bytes)]
    max_body: usize,
}

/// Opens the storage the `--db` argument names.
pub fn open_storage(db: &std::path::Path) -> anyhow::Result<Arc<dyn Storage>> {
    let storage = SqliteStorage::open(db)
        .with_context(|| format!("cannot open server database {}", db.display()))?;
    Ok(Arc::new(storage))
}

/// Runs the server until Ctrl-C or SIGTERM.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let storage = open_storage(&args.db)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener
            .local_addr()
            .context("cannot read the bound address")?;
        // Scripts wait for this exact line.
        println!("listening on http://{addr}");
        let options = ServerOptions {
            max_body_bytes: args.max_body,
        };
        accord_server::serve(listener, storage, options, shutdown_signal())
            .await
            .context("server failed")
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
