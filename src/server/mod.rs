//! The HTTP service (`liftlab serve`): an axum app built by [`app`], so tests drive it with
//! `tower::ServiceExt::oneshot` and no socket.
//!
//! Reads are open; every write route needs `Authorization: Bearer <token>` with a token from the
//! configuration. With no token configured every write is refused (401) and the start-up log says
//! how to add one. With read tokens configured (`read_tokens`), the expensive reads (forecasts,
//! analyses, batch assignment, the ledger's lists and calibration) need a read or a write token
//! too. Every route is described in `GET /openapi.json`, generated from the same router, so the
//! document cannot miss a route.
//!
//! Standing up to anyone on the network: every size from a request is bounded (`crate::limits`
//! and the per-request budgets of [`ServerConfig`]); CPU-heavy work takes turns with a deadline
//! and stops when its client leaves ([`work`]); connections are limited and timed ([`listen`]);
//! every answer, errors included (400, 401, 404, 405, 408, 413, 414, 415, 422, 431, 503), is JSON
//! in one shape, except the bodiless 431/414 hyper itself sends for heads beyond 256 KiB or URIs
//! beyond 64 KiB.

pub mod config;
pub mod error;
mod listen;
mod routes;
mod strict;
pub(crate) mod work;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::{Error, Result};
use crate::spec::Spec;
use crate::store::Store;
pub use config::ServerConfig;
use error::{ApiError, BodyLimits};
use work::Work;

/// The active experiment spec and its stored version.
#[derive(Clone)]
pub struct ActiveSpec {
    pub spec: Arc<Spec>,
    pub version: i64,
    pub toml: String,
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<ServerConfig>,
    pub store: Arc<Store>,
    pub spec: Arc<RwLock<Option<Arc<ActiveSpec>>>>,
    /// Answers of recent forecast requests (a forecast is a pure function of its request).
    pub(crate) forecasts: Arc<routes::ForecastCache>,
    /// Turns and deadlines for CPU-heavy work.
    pub(crate) work: Arc<Work>,
}

impl AppState {
    /// Opens the store, loads the configured spec (saving it as a new version when it differs from
    /// the newest stored one) or else the newest stored spec.
    pub fn new(config: ServerConfig, spec_text: Option<String>) -> Result<Self> {
        config.validate()?;
        let store = Store::open(&config.database)?;
        let latest = store.latest_spec()?;
        let active = match (spec_text, latest) {
            (Some(text), latest) => {
                let spec = Spec::from_toml(&text).map_err(|e| e.within("spec"))?;
                let version = match latest {
                    Some(l) if l.body == text => l.version,
                    _ => store.save_spec(&text)?.version,
                };
                Some(Arc::new(ActiveSpec { spec: Arc::new(spec), version, toml: text }))
            }
            (None, Some(l)) => {
                let spec = Spec::from_toml(&l.body).map_err(|e| e.within("stored spec"))?;
                Some(Arc::new(ActiveSpec { spec: Arc::new(spec), version: l.version, toml: l.body }))
            }
            (None, None) => None,
        };
        Ok(AppState {
            forecasts: Arc::new(routes::ForecastCache::new(config.cache_bytes)),
            work: Arc::new(Work::new(Duration::from_secs(config.request_timeout_secs))),
            config: Arc::new(config),
            store: Arc::new(store),
            spec: Arc::new(RwLock::new(active)),
        })
    }

    /// The active spec, if one is loaded.
    pub fn active_spec(&self) -> Option<Arc<ActiveSpec>> {
        self.spec.read().ok().and_then(|g| g.clone())
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "liftlab", description = "Experiment assignment and analysis service."),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

/// Documents the error answers every route can give, in the one error shape: a malformed,
/// late, large or mistyped body (400, 408, 413, 415, 422), a missing token (401, on routes that
/// take one), a head over the limits (414, 431), an overloaded service or a passed deadline (503),
/// and an internal error (500). Routes list only their own answers; this adds the rest, so the
/// document says every status the service sends.
struct CommonResponses;

impl CommonResponses {
    fn add(op: &mut utoipa::openapi::path::Operation) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let mut codes: Vec<(&str, &str)> = vec![
            ("414", "The request target is too long"),
            ("431", "The request headers are too large"),
            ("500", "Internal error (details in the service's log)"),
            ("503", "The service is overloaded or the request's deadline passed; try again later"),
        ];
        if op.request_body.is_some() {
            codes.extend([
                ("400", "The body is not valid JSON"),
                ("408", "The body did not arrive in time"),
                ("413", "The body is larger than the limit"),
                ("415", "The body is not sent as application/json"),
                ("422", "A field is missing, mistyped or not acceptable"),
            ]);
        }
        if op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
            codes.push(("422", "A parameter is not acceptable"));
        }
        if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
            codes.push(("401", "A token is needed and was missing or wrong"));
        }
        for (code, what) in codes {
            op.responses.responses.entry(code.to_string()).or_insert_with(|| {
                let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
                ResponseBuilder::new().description(what).content("application/json", content).build().into()
            });
        }
    }
}

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
            {
                Self::add(op);
            }
        }
    }
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Builds the router and its OpenAPI document from the same route list.
pub fn router_and_openapi(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let (open, open_doc) = routes::open_routes().with_state(state.clone()).split_for_parts();
    let (guarded, guarded_doc) = routes::guarded_routes()
        .layer(axum::middleware::from_fn_with_state(state.clone(), require_read_token))
        .with_state(state.clone())
        .split_for_parts();
    let (write, write_doc) = routes::write_routes()
        .layer(axum::middleware::from_fn_with_state(state.clone(), require_token))
        .with_state(state.clone())
        .split_for_parts();
    let mut doc = ApiDoc::openapi();
    doc.merge(open_doc);
    doc.merge(guarded_doc);
    doc.merge(write_doc);
    utoipa::Modify::modify(&CommonResponses, &mut doc);
    let doc_json = Arc::new(doc.clone());
    let c = &state.config;
    let body_limits =
        BodyLimits::new(Duration::from_secs(c.body_timeout_secs), c.body_limit_bytes, c.body_bytes_in_flight);
    let router = Router::new()
        .merge(open)
        .merge(guarded)
        .merge(write)
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let doc = doc_json.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .method_not_allowed_fallback(|req: Request| async move {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{} is not a method of {}", req.method(), req.uri().path()),
            )
        })
        .layer(DefaultBodyLimit::max(state.config.body_limit_bytes))
        .layer(axum::middleware::from_fn(limit_head))
        .layer(axum::Extension(body_limits))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(
                    |req: &Request| tracing::info_span!("request", method = %req.method(), path = %req.uri().path()),
                )
                .on_response(|res: &Response, latency: Duration, _span: &tracing::Span| {
                    tracing::info!(status = res.status().as_u16(), latency_us = latency.as_micros() as u64, "response");
                }),
        );
    (router, doc)
}

/// The longest request target (path and query) answered; longer is 414.
const MAX_URI_BYTES: usize = 8 * 1024;
/// The most request headers, and their total size, answered; more is 431.
const MAX_HEADER_COUNT: usize = 100;
const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Refuses over-long request targets and header sections with a JSON 414 / 431.
async fn limit_head(req: Request, next: Next) -> Response {
    use axum::response::IntoResponse;
    if req.uri().to_string().len() > MAX_URI_BYTES {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the request target is longer than {MAX_URI_BYTES} bytes"),
        )
        .into_response();
    }
    let headers = req.headers();
    let bytes: usize = headers.iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
    if headers.len() > MAX_HEADER_COUNT || bytes > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("the request has more than {MAX_HEADER_COUNT} headers or {MAX_HEADER_BYTES} bytes of them"),
        )
        .into_response();
    }
    next.run(req).await
}

/// The application: every route, with its state.
pub fn app(state: AppState) -> Router {
    router_and_openapi(state).0
}

/// Constant-time comparison, so a token cannot be guessed byte by byte from response times.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The bearer token of a request, if any.
fn bearer(req: &Request) -> Option<&str> {
    req.headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

async fn require_token(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> std::result::Result<Response, ApiError> {
    if state.config.tokens.is_empty() {
        return Err(ApiError::unauthorized(
            "writes are disabled: no API token is configured (start with --token, LIFTLAB_TOKENS or `tokens` in the config file)",
        ));
    }
    match bearer(&req) {
        Some(t) if state.config.tokens.iter().any(|k| same_token(k, t)) => Ok(next.run(req).await),
        Some(_) => Err(ApiError::unauthorized("the bearer token is not valid")),
        None => Err(ApiError::unauthorized("this route writes; send `Authorization: Bearer <token>`")),
    }
}

/// With read tokens configured, the expensive reads need a read or a write token.
async fn require_read_token(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> std::result::Result<Response, ApiError> {
    let c = &state.config;
    if c.read_tokens.is_empty() {
        return Ok(next.run(req).await);
    }
    match bearer(&req) {
        Some(t) if c.read_tokens.iter().chain(&c.tokens).any(|k| same_token(k, t)) => Ok(next.run(req).await),
        Some(_) => Err(ApiError::unauthorized("the bearer token is not valid")),
        None => Err(ApiError::unauthorized(
            "this service requires a token for this route; send `Authorization: Bearer <token>`",
        )),
    }
}

/// Installs the JSON log subscriber (`RUST_LOG` filters, default `info`).
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs the service until SIGTERM or Ctrl-C, then drains in-flight requests.
pub fn serve(config: ServerConfig, spec_text: Option<String>) -> Result<()> {
    limit_malloc_arenas();
    let state = AppState::new(config.clone(), spec_text)?;
    if config.tokens.is_empty() {
        tracing::warn!(
            "no API token configured: write routes answer 401. Add one with --token <TOKEN>, LIFTLAB_TOKENS=<TOKEN> or tokens = [\"<TOKEN>\"] in the config file"
        );
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(w) = config.workers {
        builder.worker_threads(w);
    }
    let runtime =
        builder.enable_all().build().map_err(|e| Error::Internal(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&config.bind)
            .await
            .map_err(|e| Error::io(&config.bind, format!("cannot listen: {e}")))?;
        tracing::info!(bind = %config.bind, database = %config.database, "liftlab serving");
        listen::serve(listener, app(state), &config, shutdown_signal())
            .await
            .map_err(|e| Error::Internal(format!("server error: {e}")))?;
        tracing::info!("liftlab stopped");
        Ok(())
    })
}

/// glibc's allocator gives each thread that allocates its own arena (up to 8 per core) and keeps
/// freed memory in it, so a service whose background threads take turns with large request
/// bodies grows its resident memory arena by arena. Two arenas keep it level (bench/abuse.py:
/// 60 s of abusive load levels off at ~135 MiB instead of still growing past 260 MiB at 30 s), at
/// no measurable cost in latency. Called before the runtime starts its threads.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received; draining");
}

/// The router type the route modules build on.
pub(crate) type ApiRouter = OpenApiRouter<AppState>;
