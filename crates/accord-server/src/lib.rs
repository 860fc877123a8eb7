//! The reference Accord sync server: the v1 protocol over HTTP (axum on tokio), with
//! SQLite or PostgreSQL storage behind the [`storage::Storage`] trait.
//!
//! [`serve`] runs it on a listener until a shutdown signal; [`RunningServer`] runs it on a
//! thread of its own (the demo, benchmarks and tests use that).

pub mod activity;
pub mod auth;
pub mod console;
mod drain;
pub mod http;
pub mod metrics;
pub mod rate_limit;
pub mod storage;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

pub use http::{AppState, ServerOptions};
pub use rate_limit::RateLimit;
pub use storage::{PostgresStorage, SqliteStorage, Storage, StorageError};
pub use tls::{TlsError, TlsFiles};

/// Serves `storage` on `listener` until `shutdown` completes, then finishes the requests
/// in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    storage: Arc<dyn Storage>,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = Arc::new(AppState::new(storage, options));
    let flusher = flush_activity_periodically(&state);
    let served = axum::serve(listener, http::router(state.clone()))
        .with_graceful_shutdown(shutdown)
        .await;
    flusher.abort();
    state
        .activity
        .flush_in_background(state.storage.clone())
        .await;
    served
}

/// Writes counted activity to storage every [`activity::FLUSH_EVERY`] until aborted.
fn flush_activity_periodically(state: &Arc<AppState>) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(activity::FLUSH_EVERY);
        every.tick().await;
        loop {
            every.tick().await;
            state
                .activity
                .flush_in_background(state.storage.clone())
                .await;
        }
    })
}

/// Like [`serve`], over TLS (rustls) with the certificate and key in `tls`.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    storage: Arc<dyn Storage>,
    options: ServerOptions,
    tls: axum_server::tls_rustls::RustlsConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut state = AppState::new(storage, options);
    state.https = true;
    let state = Arc::new(state);
    let flusher = flush_activity_periodically(&state);
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    let served = axum_server::from_tcp_rustls(listener.into_std()?, tls)?
        .handle(handle)
        .serve(http::router(state.clone()).into_make_service())
        .await;
    flusher.abort();
    state
        .activity
        .flush_in_background(state.storage.clone())
        .await;
    served
}

/// A server running on a thread of its own, stopped when dropped.
pub struct RunningServer {
    addr: SocketAddr,
    scheme: &'static str,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    /// Binds `listen` (e.g. `127.0.0.1:0` for any free port) and serves `storage` on a
    /// new thread with a small tokio runtime.
    pub fn start(
        storage: Arc<dyn Storage>,
        options: ServerOptions,
        listen: &str,
    ) -> std::io::Result<RunningServer> {
        Self::start_with_tls(storage, options, listen, None)
    }

    /// Like [`RunningServer::start`], serving HTTPS with `tls` when it is given.
    pub fn start_with_tls(
        storage: Arc<dyn Storage>,
        options: ServerOptions,
        listen: &str,
        tls: Option<TlsFiles>,
    ) -> std::io::Result<RunningServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(listen))?;
        let addr = listener.local_addr()?;
        let tls = match tls {
            Some(files) => Some(files.rustls_config().map_err(std::io::Error::other)?),
            None => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("accord-server".into())
            .spawn(move || {
                let shutdown = async move {
                    let _ = rx.await;
                };
                let served = match tls {
                    Some(tls) => {
                        runtime.block_on(serve_tls(listener, storage, options, tls, shutdown))
                    }
                    None => runtime.block_on(serve(listener, storage, options, shutdown)),
                };
                if let Err(e) = served {
                    eprintln!("accord server stopped: {e}");
                }
            })?;
        Ok(RunningServer {
            addr,
            scheme,
            stop: Some(tx),
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port` (or `https://` when serving TLS).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Stops the server and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
