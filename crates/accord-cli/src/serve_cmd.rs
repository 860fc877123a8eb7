//! `accord serve`: the sync server.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use accord_server::{RateLimit, ServerOptions, Storage, TlsFiles};

/// Arguments of `accord serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// The server database: a SQLite file (created if missing) or a PostgreSQL URL,
    /// postgres://USER[:PASSWORD]@HOST:PORT/DB[?pool_size=N].
    #[arg(long, env = "ACCORD_DB", hide_env_values = true)]
    db: PathBuf,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Largest request body accepted, in bytes (larger ones get 413).
    #[arg(long, default_value_t = ServerOptions::default().max_body_bytes)]
    max_body: usize,
    /// Requests per second allowed per token (429 with Retry-After above it); 0 turns
    /// the limit off.
    #[arg(long, default_value_t = RateLimit::default().per_second)]
    rate_limit: f64,
    /// Requests a token may make in one burst before the rate limit applies.
    #[arg(long, default_value_t = RateLimit::default().burst)]
    rate_burst: u32,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Require this bearer token on /metrics (open when not set).
    #[arg(long, env = "ACCORD_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// Serve the read-only web console at /console, opened by signing in with this
    /// token (at least 16 characters; prefer the environment variable, which `ps` does
    /// not show). No console when not set.
    #[arg(long, env = "ACCORD_CONSOLE_TOKEN", hide_env_values = true)]
    console_token: Option<String>,
    /// Days a mutation id is remembered when no device acknowledges its answer (older
    /// clients, devices that stopped syncing); a device that returns later still never
    /// has a write applied twice (docs/reliability.md).
    #[arg(long, default_value_t = 365.0, value_parser = positive_days)]
    mutation_id_window_days: f64,
}

fn positive_days(v: &str) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(d) if d.is_finite() && d > 0.0 && d <= 36_500.0 => Ok(d),
        _ => Err(format!(
            "expected a number of days above 0 and at most 36500, got '{v}'"
        )),
    }
}

/// Opens the storage the `--db` argument names: a PostgreSQL URL or a SQLite file.
pub fn open_storage(db: &std::path::Path) -> anyhow::Result<Arc<dyn Storage>> {
    let name = db.to_string_lossy();
    let shown = if accord_server::storage::is_postgres_url(&name) {
        "the PostgreSQL database".to_string()
    } else {
        db.display().to_string()
    };
    accord_server::storage::open(&name)
        .with_context(|| format!("cannot open server database {shown}"))
}

/// Runs the server until Ctrl-C or SIGTERM.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    if let Some(t) = &args.console_token {
        if t.len() < accord_server::console::MIN_TOKEN_LEN {
            anyhow::bail!(
                "the console token must be at least {} characters (it guards every space's activity and log reports); make one with `head -c 24 /dev/urandom | base64`",
                accord_server::console::MIN_TOKEN_LEN
            );
        }
    }
    let storage = open_storage(&args.db)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(
            TlsFiles {
                cert_pem: cert.clone(),
                key_pem: key.clone(),
            }
            .rustls_config()?,
        ),
        _ => None,
    };
    let options = ServerOptions {
        max_body_bytes: args.max_body,
        rate_limit: (args.rate_limit > 0.0).then_some(RateLimit {
            per_second: args.rate_limit,
            burst: args.rate_burst,
        }),
        metrics_token: args.metrics_token.clone(),
        console_token: args.console_token.clone(),
        mutation_id_window: std::time::Duration::from_secs_f64(
            args.mutation_id_window_days * 24.0 * 3600.0,
        ),
    };
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
        let scheme = if tls.is_some() { "https" } else { "http" };
        if options.console_token.is_some() {
            eprintln!("console on {scheme}://{addr}/console/");
        }
        // Scripts wait for this exact line. A closed stdout ends the server here, quietly.
        println!("listening on {scheme}://{addr}");
        crate::keep_running_on_closed_pipes();
        match tls {
            Some(tls) => {
                accord_server::serve_tls(listener, storage, options, tls, shutdown_signal()).await
            }
            None => accord_server::serve(listener, storage, options, shutdown_signal()).await,
        }
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
