//! The HTTP API of escucha.
//!
//! [`router`] builds the whole application from an [`ApiState`], so tests
//! drive it with `tower::ServiceExt::oneshot` without a socket.

pub mod auth;
pub mod cache;
pub mod csv;
pub mod error;
mod handlers;
pub mod openapi;
pub mod params;

use auth::Auth;
use axum::routing::get;
use axum::Router;
use escucha_clickhouse::query::AnomalySettings;
use escucha_clickhouse::Store;
use escucha_core::status::PipelineRuntime;
use std::path::PathBuf;
use std::sync::Arc;

/// A dependency `/readyz` checks.
#[async_trait::async_trait]
pub trait Probe: Send + Sync {
    fn name(&self) -> &str;
    async fn check(&self) -> Result<(), String>;
}

/// A custom theme as the API lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CustomThemeInfo {
    pub id: String,
    /// Name per language (`es`, `pt`, `en`).
    pub name: std::collections::BTreeMap<String, String>,
}

/// Returns the custom themes currently in use.
pub type ThemesProvider = Arc<dyn Fn() -> Vec<CustomThemeInfo> + Send + Sync>;

/// Renders the Prometheus text exposition.
pub type MetricsRender = Arc<dyn Fn() -> String + Send + Sync>;

/// Everything the handlers need.
#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    pub auth: Auth,
    pub probes: Vec<Arc<dyn Probe>>,
    pub pipelines: Vec<Arc<PipelineRuntime>>,
    pub metrics: MetricsRender,
    /// Figures from fewer answers than this are withheld.
    pub min_sample: u64,
    /// The custom themes in use (they change when their files are reloaded).
    pub custom_themes: ThemesProvider,
    /// Directory of the static dashboard served at `/`, if any.
    pub dashboard_dir: Option<PathBuf>,
    /// How `/api/v1/anomalies` detects anomalies.
    pub anomaly: AnomalySettings,
    /// Recent answers of the aggregate endpoints.
    pub cache: cache::AnswerCache,
}

/// The application: health, metrics, OpenAPI, `/api/v1` and the dashboard.
pub fn router(state: ApiState) -> Router {
    let dashboard = state.dashboard_dir.clone();
    let shared = Arc::new(state);
    let api = Router::new()
        .route("/summary", get(handlers::summary))
        .route("/timeseries", get(handlers::timeseries))
        .route("/gaps", get(handlers::gaps))
        .route("/kpis", get(handlers::kpis))
        .route("/interactions", get(handlers::interactions))
        .route("/interactions/{pipeline}/{id}", get(handlers::interaction))
        .route("/whoami", get(handlers::whoami))
        .route("/impact", get(handlers::impact))
        .route("/query", get(handlers::query))
        .route("/anomalies", get(handlers::anomalies))
        .route("/pipelines", get(handlers::pipelines))
        .route("/themes", get(handlers::themes))
        .route("/values/{dimension}", get(handlers::values))
        .fallback(handlers::not_found)
        .layer(axum::middleware::from_fn_with_state(
            cache::CacheState {
                cache: shared.cache.clone(),
                auth: shared.auth.clone(),
                generation: {
                    let store = shared.store.clone();
                    Arc::new(move || store.rollup().generation())
                },
            },
            cache::layer,
        ));
    let mut app = Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/metrics", get(handlers::metrics))
        .route("/openapi.json", get(handlers::openapi))
        .nest("/api/v1", api)
        .with_state(shared);
    if let Some(dir) = dashboard {
        app = app.fallback_service(tower_http::services::ServeDir::new(dir));
    }
    app.layer(tower_http::trace::TraceLayer::new_for_http())
}
