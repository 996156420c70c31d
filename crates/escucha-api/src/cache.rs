//! Recent answers of the aggregate endpoints, so a dashboard opened by many
//! people at once, or refreshed, costs one query per figure.
//!
//! An answer is reused for the same caller role and the same path and query
//! string while (a) it is younger than `[api] cache_seconds` and (b) this
//! process has stored nothing since (any write starts a new data generation,
//! see [`escucha_clickhouse::rollup::RollupState::generation`]): answers never
//! lag behind what this process stored, and lag at most `cache_seconds`
//! behind writes by other processes. Concurrent identical requests wait for
//! one computation. Only successful JSON answers are kept; live status
//! (`whoami`, `pipelines`) and CSV exports are never cached.

use crate::auth::Auth;
use axum::body::{to_bytes, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;

/// The largest answer kept, in bytes.
const MAX_BODY: usize = 4 << 20;

/// Kept answers, at most this many bytes in all.
const CAPACITY_BYTES: u64 = 64 << 20;

#[derive(Clone)]
struct Kept {
    status: StatusCode,
    content_type: Option<HeaderValue>,
    body: Bytes,
}

impl Kept {
    /// The answer; `cache` (`hit` or `miss`) goes into `x-escucha-cache`
    /// when the answer is kept.
    fn response(&self, cache: Option<&'static str>) -> Response {
        let mut r = (self.status, self.body.clone()).into_response();
        if let Some(ct) = &self.content_type {
            r.headers_mut().insert(header::CONTENT_TYPE, ct.clone());
        }
        if let Some(cache) = cache {
            r.headers_mut()
                .insert("x-escucha-cache", HeaderValue::from_static(cache));
        }
        r
    }
}

/// The answer cache.
#[derive(Clone)]
pub struct AnswerCache {
    kept: Option<moka::future::Cache<String, Kept>>,
}

impl AnswerCache {
    /// A cache keeping answers up to `ttl`; zero turns it off.
    pub fn new(ttl: Duration) -> AnswerCache {
        let kept = (!ttl.is_zero()).then(|| {
            moka::future::Cache::builder()
                .max_capacity(CAPACITY_BYTES)
                .weigher(|k: &String, v: &Kept| {
                    u32::try_from(k.len() + v.body.len()).unwrap_or(u32::MAX)
                })
                .time_to_live(ttl)
                .build()
        });
        AnswerCache { kept }
    }
}

/// What the middleware needs: the cache, who may ask, and the current data
/// generation.
#[derive(Clone)]
pub struct CacheState {
    pub cache: AnswerCache,
    pub auth: Auth,
    pub generation: Arc<dyn Fn() -> u64 + Send + Sync>,
}

/// Paths under `/api/v1` whose answers may be kept.
fn cacheable(path: &str, query: &str) -> bool {
    // Nested under /api/v1, the router sees the path without that prefix.
    let endpoint = path.trim_start_matches('/').trim_start_matches("api/v1/");
    let first = endpoint.split('/').next().unwrap_or_default();
    let kept = matches!(
        first,
        "summary"
            | "timeseries"
            | "gaps"
            | "kpis"
            | "impact"
            | "query"
            | "anomalies"
            | "values"
            | "interactions"
    );
    kept && !query.split('&').any(|p| p == "format=csv")
}

/// Middleware: serves a kept answer, or computes and keeps it.
pub async fn layer(State(state): State<CacheState>, req: Request, next: Next) -> Response {
    let Some(kept) = state.cache.kept.clone() else {
        return next.run(req).await;
    };
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    if req.method() != Method::GET || !cacheable(&path, &query) {
        return next.run(req).await;
    }
    // Unauthenticated requests go to the handler, which refuses them.
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Ok(caller) = state.auth.caller(auth) else {
        return next.run(req).await;
    };
    let key = format!("{}|{:?}|{path}?{query}", (state.generation)(), caller.role);
    if let Some(hit) = kept.get(&key).await {
        return hit.response(Some("hit"));
    }
    // One computation for concurrent identical requests; failures are
    // answered as they are and not kept.
    let computed = kept
        .try_get_with(key, async move {
            let response = next.run(req).await;
            let (parts, body) = response.into_parts();
            // Handlers answer from memory: the whole body is there already.
            let body = match to_bytes(body, usize::MAX).await {
                Ok(body) => body,
                Err(e) => {
                    tracing::warn!(error = %e, "reading an answer to keep it failed");
                    return Err(Kept {
                        status: StatusCode::INTERNAL_SERVER_ERROR,
                        content_type: Some(HeaderValue::from_static("application/json")),
                        body: Bytes::from_static(
                            br#"{"error":"internal","message":"the answer could not be read"}"#,
                        ),
                    });
                }
            };
            let answer = Kept {
                status: parts.status,
                content_type: parts.headers.get(header::CONTENT_TYPE).cloned(),
                body,
            };
            if parts.status == StatusCode::OK && answer.body.len() < MAX_BODY {
                Ok(answer)
            } else {
                Err(answer)
            }
        })
        .await;
    match computed {
        Ok(answer) => answer.response(Some("miss")),
        Err(answer) => answer.response(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use std::sync::atomic::{AtomicU64, Ordering};
    use tower::ServiceExt;

    /// A router whose `/api/v1/summary` counts its calls and answers the
    /// count, behind the cache, nested under `/api/v1` as the API is.
    fn app(ttl: Duration, calls: Arc<AtomicU64>, generation: Arc<AtomicU64>) -> Router {
        let counted = calls.clone();
        let state = CacheState {
            cache: AnswerCache::new(ttl),
            auth: Auth::open(),
            generation: Arc::new(move || generation.load(Ordering::SeqCst)),
        };
        let api = Router::new()
            .route(
                "/summary",
                get(move || {
                    let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
                    async move { axum::Json(serde_json::json!({ "calls": n })) }
                }),
            )
            .route(
                "/pipelines",
                get(|| async { axum::Json(serde_json::json!({})) }),
            )
            .layer(axum::middleware::from_fn_with_state(state, layer));
        // Nested as in `router`: the layer sees paths without the prefix.
        Router::new().nest("/api/v1", api)
    }

    async fn get_body(app: &Router, uri: &str) -> (String, Option<String>) {
        let r = app
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let cache = r
            .headers()
            .get("x-escucha-cache")
            .map(|v| v.to_str().unwrap().to_string());
        let body = to_bytes(r.into_body(), usize::MAX).await.unwrap();
        (String::from_utf8(body.to_vec()).unwrap(), cache)
    }

    #[tokio::test]
    async fn answers_are_reused_until_this_process_stores_something() {
        let calls = Arc::new(AtomicU64::new(0));
        let generation = Arc::new(AtomicU64::new(1));
        let app = app(Duration::from_secs(60), calls.clone(), generation.clone());
        let first = get_body(&app, "/api/v1/summary?from=2026-01-01").await;
        assert_eq!(first, (r#"{"calls":1}"#.into(), Some("miss".into())));
        let again = get_body(&app, "/api/v1/summary?from=2026-01-01").await;
        assert_eq!(again, (r#"{"calls":1}"#.into(), Some("hit".into())));
        // Another query string is another answer.
        let other = get_body(&app, "/api/v1/summary?from=2026-02-01").await;
        assert_eq!(other.0, r#"{"calls":2}"#);
        // A write: a new generation, computed afresh.
        generation.fetch_add(1, Ordering::SeqCst);
        let fresh = get_body(&app, "/api/v1/summary?from=2026-01-01").await;
        assert_eq!(fresh, (r#"{"calls":3}"#.into(), Some("miss".into())));
        // Live status is never kept.
        let status = get_body(&app, "/api/v1/pipelines").await;
        assert_eq!(status.1, None);
    }

    #[tokio::test]
    async fn concurrent_identical_requests_compute_once_and_zero_turns_it_off() {
        let calls = Arc::new(AtomicU64::new(0));
        let app = app(
            Duration::from_secs(60),
            calls.clone(),
            Arc::new(AtomicU64::new(1)),
        );
        let all = futures_join(&app, 16).await;
        assert!(all.iter().all(|b| b == r#"{"calls":1}"#), "{all:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let off_calls = Arc::new(AtomicU64::new(0));
        let off = app_off(off_calls.clone());
        get_body(&off, "/api/v1/summary").await;
        let (body, cache) = get_body(&off, "/api/v1/summary").await;
        assert_eq!((body.as_str(), cache), (r#"{"calls":2}"#, None));
    }

    fn app_off(calls: Arc<AtomicU64>) -> Router {
        app(Duration::ZERO, calls, Arc::new(AtomicU64::new(1)))
    }

    async fn futures_join(app: &Router, n: usize) -> Vec<String> {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..n {
            let app = app.clone();
            set.spawn(async move { get_body(&app, "/api/v1/summary").await.0 });
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            out.push(r.unwrap());
        }
        out
    }

    #[test]
    fn only_aggregates_and_verbatims_are_kept() {
        assert!(cacheable("/api/v1/summary", "from=2026-01-01"));
        assert!(cacheable("/api/v1/interactions/surveys/a1", ""));
        assert!(cacheable("/api/v1/query", "dimensions=theme"));
        assert!(!cacheable("/api/v1/query", "dimensions=theme&format=csv"));
        assert!(!cacheable("/api/v1/whoami", ""));
        assert!(!cacheable("/api/v1/pipelines", ""));
        assert!(cacheable("/values/agent", ""));
        assert!(!cacheable("/whoami", ""));
    }
}
