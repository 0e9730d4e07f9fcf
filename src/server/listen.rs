//! The accept loop: connections are limited in number and in how long they may dawdle.
//!
//! - At most `max_connections` are open; one more is answered `503 overloaded` (JSON) and closed.
//! - A client has `header_timeout_secs` to send a request's headers (hyper's header read
//!   timeout), and a connection with no request running that moves no byte for as long is closed
//!   (kept-alive idle connections, and connections that never send anything).
//! - Request heads are capped (`MAX_HEAD_BYTES`, `MAX_HEADERS` for hyper; the app answers JSON 414
//!   and 431 below those caps, see `limit_head`); bodies are capped and timed by the extractor.
//! - On SIGTERM / Ctrl-C no new connection is accepted and running requests finish (at most
//!   `DRAIN` long).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::config::ServerConfig;

/// Bytes hyper reads of one request head at most; larger heads get hyper's own bodiless 431.
const MAX_HEAD_BYTES: usize = 256 * 1024;
/// Headers hyper parses at most; more get hyper's own bodiless 431.
const MAX_HEADERS: usize = 256;
/// How long running requests may take to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(30);
/// Refusals (over `max_connections`) being written at once; more are closed without a word.
const REFUSALS: usize = 256;

/// Milliseconds since the first call: a cheap shared clock for activity stamps.
fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// A TCP stream that stamps the time of its last read or write.
struct Watched {
    inner: TcpStream,
    last: Arc<AtomicU64>,
}

impl Watched {
    fn touch(&self, moved: bool) {
        if moved {
            self.last.store(now_ms(), Ordering::Relaxed);
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.touch(buf.filled().len() > before);
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        self.touch(matches!(r, Poll::Ready(Ok(n)) if n > 0));
        r
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.touch(matches!(r, Poll::Ready(Ok(n)) if n > 0));
        r
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The app as a hyper service that counts the connection's requests in flight.
#[derive(Clone)]
struct Counted {
    inner: TowerToHyperService<Router>,
    busy: Arc<AtomicUsize>,
}

/// Lowers the in-flight count when a request's future ends or is dropped.
struct Done(Arc<AtomicUsize>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl hyper::service::Service<hyper::Request<Incoming>> for Counted {
    type Response = <TowerToHyperService<Router> as hyper::service::Service<hyper::Request<Incoming>>>::Response;
    type Error = <TowerToHyperService<Router> as hyper::service::Service<hyper::Request<Incoming>>>::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        self.busy.fetch_add(1, Ordering::Relaxed);
        let done = Done(self.busy.clone());
        let fut = self.inner.call(req);
        Box::pin(async move {
            let out = fut.await;
            drop(done);
            out
        })
    }
}

/// Resolves when the connection has had no request in flight and no byte moved for `idle`.
async fn idle(last: Arc<AtomicU64>, busy: Arc<AtomicUsize>, idle: Duration) {
    let idle_ms = idle.as_millis() as u64;
    loop {
        let quiet = now_ms().saturating_sub(last.load(Ordering::Relaxed));
        if busy.load(Ordering::Relaxed) == 0 && quiet >= idle_ms {
            return;
        }
        let wait = if quiet >= idle_ms { idle_ms / 4 } else { idle_ms - quiet };
        tokio::time::sleep(Duration::from_millis(wait.max(50))).await;
    }
}

/// Answers a connection over the limit with a JSON 503 and closes it.
async fn refuse(mut stream: TcpStream) {
    let body =
        r#"{"error":{"code":"overloaded","message":"too many open connections (max_connections); try again later"}}"#;
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: &ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let header_timeout = Duration::from_secs(config.header_timeout_secs);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS);
    builder.http2().timer(TokioTimer::new()).max_concurrent_streams(32).max_header_list_size(MAX_HEAD_BYTES as u32);
    let builder = Arc::new(builder);
    let connections = Arc::new(Semaphore::new(config.max_connections));
    let refusals = Arc::new(Semaphore::new(REFUSALS));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // out of file descriptors and the like: wait a moment rather than spin
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            if let Ok(r) = refusals.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    refuse(stream).await;
                    drop(r);
                });
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let last = Arc::new(AtomicU64::new(now_ms()));
        let busy = Arc::new(AtomicUsize::new(0));
        let io = TokioIo::new(Watched { inner: stream, last: last.clone() });
        let service = Counted { inner: TowerToHyperService::new(app.clone()), busy: busy.clone() };
        let builder = builder.clone();
        let conn = graceful.watch(builder.serve_connection_with_upgrades(io, service).into_owned());
        tokio::spawn(async move {
            tokio::select! {
                _ = conn => {}
                _ = idle(last, busy, header_timeout) => {}
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
        tracing::warn!("some connections were still busy {} s after the shutdown signal", DRAIN.as_secs());
    }
    Ok(())
}
