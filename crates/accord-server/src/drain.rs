//! Reading the rest of a request body the server did not want.
//!
//! When a handler refuses a body early (413 after the first `max_body_bytes`, or a 401
//! before reading it at all), hyper would close the connection with the client's bytes
//! still unread; the kernel then resets it, and a client still writing its body sees a
//! broken pipe instead of the answer. So every request body is wrapped: if it is dropped
//! before its end, a task reads and discards the rest, up to [`DRAIN_BYTES`] and
//! [`DRAIN_TIME`], while the answer goes out on the same connection.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use http_body::Frame;

/// Most bytes read and thrown away after a body was refused; a client sending more than
/// this past the point of refusal has its connection closed.
pub const DRAIN_BYTES: u64 = 64 * 1024 * 1024;

/// Longest time spent reading a refused body.
pub const DRAIN_TIME: Duration = Duration::from_secs(30);

/// A request body that drains itself when dropped unfinished.
struct DrainOnDrop {
    inner: Option<Body>,
    ended: bool,
}

impl HttpBody for DrainOnDrop {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            self.ended = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| http_body::SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

impl Drop for DrainOnDrop {
    fn drop(&mut self) {
        let Some(body) = self.inner.take() else {
            return;
        };
        if self.ended || body.is_end_stream() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = tokio::time::timeout(DRAIN_TIME, discard(body)).await;
            });
        }
    }
}

async fn discard(mut body: Body) {
    let mut read = 0u64;
    while let Some(Ok(frame)) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
    {
        read += frame.data_ref().map_or(0, |d| d.len() as u64);
        if read > DRAIN_BYTES {
            return;
        }
    }
}

/// Middleware: wraps the request's body so a refused body is drained (see the module doc).
pub async fn drain_unread_body(req: Request) -> Request {
    let (parts, body) = req.into_parts();
    let body = Body::new(DrainOnDrop {
        inner: Some(body),
        ended: false,
    });
    Request::from_parts(parts, body)
}
