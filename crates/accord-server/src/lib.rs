//! The reference Accord sync server: the v1 protocol over HTTP (axum on tokio), with
//! SQLite storage behind the [`storage::Storage`] trait.
//!
//! [`serve`] runs it on a listener until a shutdown signal; [`RunningServer`] runs it on a
//! thread of its own (the demo, benchmarks and tests use that).

pub mod auth;
pub mod http;
pub mod metrics;
pub mod storage;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

pub use http::{AppState, ServerOptions};
pub use storage::{SqliteStorage, Storage, StorageError};

/// Serves `storage` on `listener` until `shutdown` completes, then finishes the requests
/// in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    storage: Arc<dyn Storage>,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = Arc::new(AppState {
        storage,
        metrics: metrics::Metrics::default(),
        options,
    });
    axum::serve(listener, http::router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// A server running on a thread of its own, stopped when dropped.
pub struct RunningServer {
    addr: SocketAddr,
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
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(listen))?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("accord-server".into())
            .spawn(move || {
                let shutdown = async move {
                    let _ = rx.await;
                };
                if let Err(e) = runtime.block_on(serve(listener, storage, options, shutdown)) {
                    eprintln!("accord server stopped: {e}");
                }
            })?;
        Ok(RunningServer {
            addr,
            stop: Some(tx),
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
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
