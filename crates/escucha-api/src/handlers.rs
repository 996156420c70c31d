use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::params::{encode_cursor, Params, Problems};
use crate::ApiState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{Duration, Utc};
use escucha_clickhouse::query::{Dimension, Interval};
use serde_json::{json, Value};
use std::sync::Arc;

type St = State<Arc<ApiState>>;
type Q = Query<Vec<(String, String)>>;

fn caller(state: &ApiState, headers: &HeaderMap, need: Role) -> Result<Caller, ApiError> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let caller = state.auth.caller(auth)?;
    caller.require(need)?;
    Ok(caller)
}

/// Parses the query, rejecting unknown parameters; runs `extra` for the
/// endpoint's own parameters so every problem is reported together.
fn parse<T>(
    q: Vec<(String, String)>,
    allowed: &[&str],
    state: &ApiState,
    extra: impl FnOnce(&Params, &mut Problems) -> T,
) -> Result<(escucha_clickhouse::query::Filters, T), ApiError> {
    let mut problems = Problems::default();
    let params = Params::new(q, &mut problems);
    params.reject_unknown(allowed, &mut problems);
    let custom: Vec<String> = (state.custom_themes)().into_iter().map(|t| t.id).collect();
    let filters = params.filters(&custom, &mut problems);
    let t = extra(&params, &mut problems);
    problems.finish()?;
    Ok((filters, t))
}

fn methods() -> Value {
    json!({
        "nps": "0-10 answers; % promoters (9-10) minus % detractors (0-6); range -100..100",
        "csat": "1-5 answers; percent = answers of 4 or 5 / all answers x 100 (top-2-box); mean of answers",
        "ces": "CES 2.0, 1-7 (7 = very easy); mean and percent of answers 5-7",
        "share": "interactions carrying the label / interactions with classified text x 100",
    })
}

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): St) -> Response {
    let mut checks = serde_json::Map::new();
    let mut ready = true;
    let ch = state.store.ping().await;
    ready &= ch.is_ok();
    checks.insert(
        "clickhouse".into(),
        json!(ch
            .map(|_| "ok".to_string())
            .unwrap_or_else(|e| e.to_string())),
    );
    for probe in &state.probes {
        let r = probe.check().await;
        ready &= r.is_ok();
        checks.insert(
            probe.name().into(),
            json!(r.map(|_| "ok".to_string()).unwrap_or_else(|e| e)),
        );
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(json!({ "ready": ready, "checks": checks }))).into_response()
}

pub async fn metrics(State(state): St) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        (state.metrics)(),
    )
        .into_response()
}

pub async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

pub async fn summary(
    State(state): St,
    headers: HeaderMap,
    Query(q): Q,
) -> Result<Json<Value>, ApiError> {
    caller(&state, &headers, Role::Viewer)?;
    let (filters, ()) = parse(q, &[], &state, |_, _| ())?;
    let summary = state.store.summary(&filters, state.min_sample).await?;
    Ok(Json(
        json!({ "summary": summary, "min_sample": state.min_sample, "methods": methods() }),
    ))
}

pub async fn timeseries(
    State(state): St,
    headers: HeaderMap,
    Query(q): Q,
) -> Result<Json<Value>, ApiError> {
    caller(&state, &headers, Role::Viewer)?;
    let (mut filters, (kind, interval)) =
        parse(q, &["labels", "interval"], &state, |p, problems| {
            (p.label_kind(problems), p.interval(problems))
        })?;
    let to = filters.to.unwrap_or_else(Utc::now);
    if filters.from.is_none() {
        let span = match interval {
            Interval::Hour => Duration::days(7),
            Interval::Day => Duration::days(90),
            Interval::Week => Duration::days(364),
        };
        filters.from = Some(to - span);
    }
    let points = state.store.series(&filters, kind, interval).await?;
    Ok(Json(json!({
        "labels": kind,
        "interval": interval,
        "from": filters.from,
        "to": to,
        "points": points,
    })))
}

pub async fn gaps(
    State(state): St,
    headers: HeaderMap,
    Query(q): Q,
) -> Result<Json<Value>, ApiError> {
    caller(&state, &headers, Role::Viewer)?;
    let (filters, ()) = parse(q, &[], &state, |_, _| ())?;
    let to = filters.to.unwrap_or_else(Utc::now);
    let from = filters.from.unwrap_or(to - Duration::days(30));
    let gaps = state
        .store
        .gaps(&filters, from, to, state.min_sample)
        .await?;
    Ok(Json(
        json!({ "gaps": gaps, "min_sample": state.min_sample, "methods": methods() }),
    ))
}

pub async fn interactions(
    State(state): St,
    headers: HeaderMap,
    Query(q): Q,
) -> Result<Json<Value>, ApiError> {
    caller(&state, &headers, Role::Analyst)?;
    let (filters, (limit, cursor)) = parse(q, &["limit", "cursor"], &state, |p, problems| {
        (p.limit(50, 200, problems), p.cursor(problems))
    })?;
    let page = state
        .store
        .interactions(&filters, cursor.as_ref(), limit)
        .await?;
    Ok(Json(json!({
        "items": page.items,
        "next_cursor": page.next.as_ref().map(encode_cursor),
    })))
}

pub async fn pipelines(
    State(state): St,
    headers: HeaderMap,
    Query(q): Q,
) -> Result<Json<Value>, ApiError> {
    caller(&state, &headers, Role::Viewer)?;
    let mut problems = Problems::default();
    Params::new(q, &mut problems).reject_unknown_only(&mut problems);
    problems.finish()?;
    let stored = state.store.pipeline_counts().await?;
    let running: Vec<_> = state.pipelines.iter().map(|p| p.snapshot()).collect();
    Ok(Json(json!({ "pipelines": running, "stored": stored })))
}

pub async fn values(
    State(state): St,
    headers: HeaderMap,
    Path(dimension): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller(&state, &headers, Role::Viewer)?;
    let dim: Dimension = serde_json::from_value(json!(dimension)).map_err(|_| {
        ApiError::param(
            "dimension",
            format!("`{dimension}` is not one of: channel, queue, team, agent, product, language, pipeline"),
        )
    })?;
    let values = state.store.dimension_values(dim, 500).await?;
    Ok(Json(json!({ "dimension": dimension, "values": values })))
}

pub async fn themes(
    State(state): St,
    headers: HeaderMap,
    Query(q): Q,
) -> Result<Json<Value>, ApiError> {
    caller(&state, &headers, Role::Viewer)?;
    let mut problems = Problems::default();
    Params::new(q, &mut problems).reject_unknown_only(&mut problems);
    problems.finish()?;
    Ok(Json(json!({
        "emotions": escucha_core::taxonomy::EMOTIONS,
        "themes": escucha_core::taxonomy::THEMES,
        "custom_themes": (state.custom_themes)(),
    })))
}

pub async fn kpis(
    State(state): St,
    headers: HeaderMap,
    Query(q): Q,
) -> Result<Json<Value>, ApiError> {
    caller(&state, &headers, Role::Viewer)?;
    let (filters, window) = parse(q, &["repeat_window_days"], &state, |p, problems| {
        match p.get("repeat_window_days") {
            None => 7,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if (1..=90).contains(&n) => n,
                _ => {
                    problems.add("repeat_window_days", "must be an integer from 1 to 90");
                    7
                }
            },
        }
    })?;
    let kpis = state.store.kpis(&filters, window, state.min_sample).await?;
    Ok(Json(json!({
        "kpis": kpis,
        "min_sample": state.min_sample,
        "methods": {
            "contacts": "transcripts and messages; survey responses are not contacts",
            "aht_seconds": "mean handle time over contacts that report one",
            "asa_seconds": "mean queue wait over contacts that report one",
            "transfer_rate": "contacts transferred at least once / contacts with a transfer count x 100",
            "bot_containment": "bot sessions not escalated to a human / bot sessions x 100",
            "escalation_rate": "contacts escalated / contacts with an escalation flag x 100",
            "resolution_rate": "contacts resolved / contacts with a resolution flag x 100",
            "repeat_contact_rate": "contacts preceded by another contact of the same customer (any channel) within the window / contacts with a customer key x 100",
        },
    })))
}
