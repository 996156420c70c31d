use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::params::{encode_cursor, Params, Problems};
use crate::ApiState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{Duration, Utc};
use escucha_clickhouse::query::{Dimension, Filters, GroupQuery, Interval, ANOMALY_MAX_DAYS};
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
        "net_emotion": "% of interactions with classified text carrying a loyalty emotion (surprise, familiarity, relief, gratitude, belonging) minus % carrying frustration, anger or disappointment",
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
            Interval::Month => Duration::days(730),
        };
        filters.from = Some(to - span);
    }
    let points = state
        .store
        .series(&filters, kind, interval, state.min_sample)
        .await?;
    Ok(Json(json!({
        "labels": kind,
        "interval": interval,
        "min_sample": state.min_sample,
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
) -> Result<Response, ApiError> {
    caller(&state, &headers, Role::Analyst)?;
    let (filters, (csv, limit, cursor)) =
        parse(q, &["limit", "cursor", "format"], &state, |p, problems| {
            let csv = p.csv(problems);
            // A CSV export takes bigger pages than the screen.
            let limit = if csv {
                p.limit(1000, 5000, problems)
            } else {
                p.limit(50, 200, problems)
            };
            (csv, limit, p.cursor(problems))
        })?;
    let page = state
        .store
        .interactions(&filters, cursor.as_ref(), limit)
        .await?;
    let next = page.next.as_ref().map(encode_cursor);
    if csv {
        let mut response = csv_response(
            "escucha-interactions.csv",
            crate::csv::interactions(&page.items),
        );
        if let Some(next) = next.and_then(|n| header::HeaderValue::from_str(&n).ok()) {
            response.headers_mut().insert("x-next-cursor", next);
        }
        return Ok(response);
    }
    Ok(Json(json!({
        "items": page.items,
        "next_cursor": next,
    }))
    .into_response())
}

fn csv_response(filename: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /api/v1/interactions/{pipeline}/{id}`: one conversation in full.
pub async fn interaction(
    State(state): St,
    headers: HeaderMap,
    Path((pipeline, id)): Path<(String, String)>,
    Query(q): Q,
) -> Result<Json<Value>, ApiError> {
    caller(&state, &headers, Role::Analyst)?;
    let mut problems = Problems::default();
    Params::new(q, &mut problems).reject_unknown_only(&mut problems);
    for (name, v) in [("pipeline", &pipeline), ("id", &id)] {
        if v.is_empty() || v.chars().count() > 200 || v.chars().any(char::is_control) {
            problems.add(
                name,
                "must be 1 to 200 characters without control characters",
            );
        }
    }
    problems.finish()?;
    match state.store.interaction(&pipeline, &id).await? {
        Some(detail) => Ok(Json(serde_json::to_value(detail).unwrap_or_default())),
        None => Err(ApiError::NotFound),
    }
}

/// `GET /api/v1/whoami`: the caller's role.
pub async fn whoami(
    State(state): St,
    headers: HeaderMap,
    Query(q): Q,
) -> Result<Json<Value>, ApiError> {
    let who = caller(&state, &headers, Role::Viewer)?;
    let mut problems = Problems::default();
    Params::new(q, &mut problems).reject_unknown_only(&mut problems);
    problems.finish()?;
    Ok(Json(json!({
        "role": who.role,
        "name": who.name,
        "open": state.auth.is_open(),
    })))
}

/// `GET /api/v1/impact?metric=nps|csat&by=theme|emotion`.
pub async fn impact(
    State(state): St,
    headers: HeaderMap,
    Query(q): Q,
) -> Result<Json<Value>, ApiError> {
    caller(&state, &headers, Role::Viewer)?;
    let (filters, (metric, by)) = parse(q, &["metric", "by"], &state, |p, problems| {
        (p.impact_metric(problems), p.impact_by(problems))
    })?;
    let impact = state
        .store
        .impact(&filters, metric, by, state.min_sample)
        .await?;
    Ok(Json(json!({
        "metric": metric,
        "by": by,
        "min_n": state.min_sample,
        "overall": impact.overall,
        "items": impact.items,
        "methods": {
            "impact": "score of the answers carrying the label minus the score of those without it, in points",
            "ci95": "normal approximation: difference ± 1.96 × √(var_with + var_without); NPS per group var = (p + d − (p − d)²) / n with p, d the shares of promoters and detractors; CSAT var = s(1 − s) / n",
            "withheld": "impact and ci95 are null when either group has fewer answers than min_n",
        },
    })))
}

/// `GET /api/v1/query?dimensions=…&metrics=…&format=json|csv`.
pub async fn query(
    State(state): St,
    headers: HeaderMap,
    Query(q): Q,
) -> Result<Response, ApiError> {
    caller(&state, &headers, Role::Viewer)?;
    let (filters, (query, csv)) = parse(
        q,
        &[
            "dimensions",
            "metrics",
            "format",
            "limit",
            "repeat_window_days",
        ],
        &state,
        |p, problems| {
            let query = GroupQuery {
                dimensions: p.dimensions(problems),
                metrics: p.metrics(problems),
                limit: p.int("limit", 1000, 1..=10_000, problems),
                repeat_window_days: p.int("repeat_window_days", 7, 1..=90, problems),
            };
            (query, p.csv(problems))
        },
    )?;
    let grouped = state
        .store
        .grouped(&filters, &query, state.min_sample)
        .await?;
    if csv {
        return Ok(csv_response(
            "escucha-query.csv",
            crate::csv::grouped(&query, &grouped),
        ));
    }
    let dims: Vec<&str> = query.dimensions.iter().map(|d| d.name()).collect();
    let metrics: Vec<&str> = query.metrics.iter().map(|m| m.name()).collect();
    Ok(Json(json!({
        "dimensions": dims,
        "metrics": metrics,
        "min_n": state.min_sample,
        "total": grouped.total,
        "truncated": grouped.truncated,
        "rows": grouped.json_rows(&query.dimensions),
    }))
    .into_response())
}

/// `GET /api/v1/anomalies?days=7`: theme and emotion anomalies of the last
/// days (or of `from`–`to`, of which only the last 92 days are checked:
/// `checked_from` says from which day), sorted by |z|. `theme` and `emotion`
/// choose which labels are reported; the other filters choose the interactions.
pub async fn anomalies(
    State(state): St,
    headers: HeaderMap,
    Query(q): Q,
) -> Result<Json<Value>, ApiError> {
    caller(&state, &headers, Role::Viewer)?;
    let (filters, (days, measure, limit)) =
        parse(q, &["days", "measure", "limit"], &state, |p, problems| {
            let days = p.int("days", 7, 1..=ANOMALY_MAX_DAYS, problems);
            let measure = p
                .get("measure")
                .map(|_| p.choice("measure", &["volume", "share"], problems));
            (days, measure, p.limit(100, 5000, problems))
        })?;
    let (first, checked_from, last) = anomaly_days(&filters, days, Utc::now());
    let data = Filters {
        emotion: vec![],
        theme: vec![],
        ..filters.clone()
    };
    let labels_asked = !filters.emotion.is_empty() || !filters.theme.is_empty();
    let keep = |kind: &str, label: &str, m: &str| {
        let label_ok = !labels_asked
            || (kind == "emotion" && filters.emotion.iter().any(|e| e == label))
            || (kind == "theme" && filters.theme.iter().any(|t| t == label));
        label_ok && measure.is_none_or(|want| want == m)
    };
    // The strongest first (sorted by |z|); `total` counts them all.
    let (total, found) = state
        .store
        .anomalies_top(
            &data,
            checked_from,
            last,
            &state.anomaly,
            &keep,
            limit as usize,
        )
        .await?;
    Ok(Json(json!({
        "total": total,
        "from": first.to_string(),
        "to": last.to_string(),
        "checked_from": checked_from.to_string(),
        "settings": state.anomaly,
        "anomalies": found,
        "methods": {
            "volume": "interactions with text carrying the label on the day (UTC)",
            "share": "volume / interactions with text on the day x 100",
            "baseline": "mean and sample standard deviation over the baseline_days days before the day on which the segment had interactions with text; at least min_baseline_days of them",
            "anomaly": "|value - baseline_mean| > k x baseline_sd, where baseline_sd is floored at 1 (interaction or point); the day's volume or the baseline mean reaches min_volume",
            "segments": "all interactions, and each channel, queue and product",
            "range": format!("the days from checked_from to to (UTC, inclusive): from..to, or its last {ANOMALY_MAX_DAYS} days when it is longer"),
        },
    })))
}

/// The days anomalies are listed for: `from`..`to` (exclusive) when given,
/// else the last `days` days up to today (UTC), as (first, checked from,
/// last): a range longer than [`ANOMALY_MAX_DAYS`] is checked from its last
/// `ANOMALY_MAX_DAYS` days on.
fn anomaly_days(
    f: &Filters,
    days: u32,
    now: chrono::DateTime<Utc>,
) -> (chrono::NaiveDate, chrono::NaiveDate, chrono::NaiveDate) {
    let last = match f.to {
        Some(to) => (to - Duration::seconds(1)).date_naive(),
        None => now.date_naive(),
    };
    let first = match f.from {
        Some(from) => from.date_naive(),
        None => last - Duration::days(i64::from(days) - 1),
    };
    let checked_from = first.max(last - Duration::days(i64::from(ANOMALY_MAX_DAYS) - 1));
    (first, checked_from, last)
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
    // The daily rollup aggregates read: days it still lags behind on (read
    // from the tables meanwhile), or null before its first check.
    let behind = state.store.rollup().stale_days().map(|d| d.len());
    Ok(Json(json!({
        "pipelines": running,
        "stored": stored,
        "rollup": { "days_behind": behind },
    })))
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
            "repeat_contact_rate": "contacts preceded within the window by a contact of the same customer (any channel) about the same issue (a shared theme, or named as related_id) / contacts with a customer key x 100",
        },
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anomaly_days_follow_from_to_or_the_last_days() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-25T14:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let (a, c, b) = anomaly_days(&Filters::default(), 7, now);
        assert_eq!(
            (a, c, b),
            (d("2026-11-19"), d("2026-11-19"), d("2026-11-25"))
        );
        let f = Filters {
            from: Some(d("2026-10-01").and_hms_opt(0, 0, 0).unwrap().and_utc()),
            to: Some(d("2026-11-01").and_hms_opt(0, 0, 0).unwrap().and_utc()),
            ..Default::default()
        };
        assert_eq!(
            anomaly_days(&f, 7, now),
            (d("2026-10-01"), d("2026-10-01"), d("2026-10-31"))
        );
        // Longer than 92 days: only the last 92 are checked.
        let long = Filters {
            from: Some(d("2026-01-01").and_hms_opt(0, 0, 0).unwrap().and_utc()),
            ..Default::default()
        };
        assert_eq!(
            anomaly_days(&long, 7, now),
            (d("2026-01-01"), d("2026-08-26"), d("2026-11-25"))
        );
        let year = Filters {
            from: Some(d("2025-11-26").and_hms_opt(0, 0, 0).unwrap().and_utc()),
            to: Some(d("2026-11-26").and_hms_opt(0, 0, 0).unwrap().and_utc()),
            ..Default::default()
        };
        let (a, c, b) = anomaly_days(&year, 7, now);
        assert_eq!((a, b), (d("2025-11-26"), d("2026-11-25")));
        assert_eq!((b - c).num_days(), 91, "92 days checked");
        // Exactly 92 days: all checked.
        let q = Filters {
            from: Some(d("2026-08-26").and_hms_opt(0, 0, 0).unwrap().and_utc()),
            ..Default::default()
        };
        assert_eq!(anomaly_days(&q, 7, now).1, d("2026-08-26"));
    }
}
