//! The OpenAPI 3.1 document served at `/openapi.json`. Filter parameters
//! come from [`crate::params::FILTER_PARAMS`], the same list the parser
//! accepts, so the two cannot drift apart.

use crate::params::FILTER_PARAMS;
use serde_json::{json, Value};

fn param(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

fn filters() -> Vec<Value> {
    FILTER_PARAMS
        .iter()
        .map(|(n, d)| param(n, d, json!({ "type": "string" })))
        .collect()
}

fn errors() -> Value {
    json!({
        "400": { "description": "Invalid parameter; the body lists every problem.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "401": { "description": "Missing or unknown bearer token." },
        "403": { "description": "The token's role may not access this resource." },
        "503": { "description": "ClickHouse did not answer." }
    })
}

fn get(summary: &str, role: &str, mut params: Vec<Value>, with_filters: bool) -> Value {
    if with_filters {
        params.extend(filters());
    }
    let mut responses = errors();
    responses["200"] = json!({ "description": "OK", "content": { "application/json": { "schema": { "type": "object" } } } });
    json!({ "get": {
        "summary": summary,
        "description": format!("Requires role `{role}` or higher."),
        "security": [{ "bearer": [] }],
        "parameters": params,
        "responses": responses,
    }})
}

/// The document.
pub fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "escucha API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Voice-of-customer aggregates, process gaps and verbatims. Every aggregate and list endpoint takes the same filters. Texts are redacted before storage.",
        },
        "paths": {
            "/healthz": { "get": { "summary": "Liveness", "responses": { "200": { "description": "Process is up" } } } },
            "/readyz": { "get": { "summary": "Readiness: Kafka and ClickHouse reachable", "responses": { "200": { "description": "Ready" }, "503": { "description": "A dependency is unreachable; the body says which" } } } },
            "/metrics": { "get": { "summary": "Prometheus metrics: consumed, stored, dead-lettered, lag per partition, batch and classify latency", "responses": { "200": { "description": "Text exposition format" } } } },
            "/openapi.json": { "get": { "summary": "This document", "responses": { "200": { "description": "OpenAPI 3.1" } } } },
            "/api/v1/summary": get("Interactions, surveys, NPS/CSAT/CES with n, counts and shares per emotion and theme", "viewer", vec![], true),
            "/api/v1/timeseries": get("Per time bucket: volume (all interactions), interactions with text, NPS/CSAT/CES with their n (withheld below min_sample) and counts per emotion or theme", "viewer", vec![
                param("labels", "emotion (default) or theme", json!({ "type": "string", "enum": ["emotion", "theme"] })),
                param("interval", "hour, day (default), week or month; default period 7, 90, 364 or 730 days", json!({ "type": "string", "enum": ["hour", "day", "week", "month"] })),
            ], true),
            "/api/v1/whoami": get("The caller's role (viewer, analyst or admin) and whether the API is open; 401 without a valid token", "viewer", vec![], false),
            "/api/v1/impact": get("Impact of each theme or emotion on NPS or CSAT: score with and without the label, the difference in points (impact, sorted ascending) and its 95 % confidence interval; null below min_n answers", "viewer", vec![
                param("metric", "nps (default) or csat", json!({ "type": "string", "enum": ["nps", "csat"] })),
                param("by", "theme (default) or emotion", json!({ "type": "string", "enum": ["theme", "emotion"] })),
            ], true),
            "/api/v1/query": get("Grouped query: any of the dimensions × any of the metrics, one row per group; each metric but interactions and share also yields <metric>_n; figures below min_n are null. format=csv downloads the same rows as text/csv with a header row", "viewer", vec![
                param("dimensions", "1-4 comma-separated: channel, queue, team, agent, product, language, pipeline, kind, theme, emotion, first_emotion, last_emotion, day, week, month (theme and emotion count an interaction once per label)", json!({ "type": "string" })),
                param("metrics", "comma-separated (default interactions): interactions, share (% of the filtered interactions), nps, csat (top-2-box %), ces (mean), recovery_rate, agent_empathy, transfer_rate, repeat_contact_rate, aht_seconds, asa_seconds", json!({ "type": "string" })),
                param("format", "json (default) or csv", json!({ "type": "string", "enum": ["json", "csv"] })),
                param("limit", "most rows, 1-10000 (default 1000); `truncated` says when more groups exist", json!({ "type": "integer", "minimum": 1, "maximum": 10000 })),
                param("repeat_window_days", "window of repeat_contact_rate in days, 1-90 (default 7)", json!({ "type": "integer", "minimum": 1, "maximum": 90 })),
            ], true),
            "/api/v1/anomalies": get("Days on which a theme's or emotion's volume or share, overall or in a channel, queue or product, left its trailing 28-day baseline by more than k standard deviations; sorted by |z|. theme and emotion choose the labels reported. A from/to range longer than 92 days is not refused: only its last 92 days are checked, and checked_from in the answer says from which day (from and to echo the range asked for)", "viewer", vec![
                param("days", "the last N days up to today, 1-92 (default 7); from/to take precedence", json!({ "type": "integer", "minimum": 1, "maximum": 92 })),
                param("measure", "volume or share (default both)", json!({ "type": "string", "enum": ["volume", "share"] })),
                param("limit", "the strongest N anomalies returned, 1-5000 (default 100); `total` counts them all", json!({ "type": "integer", "minimum": 1, "maximum": 5000 })),
            ], true),
            "/api/v1/gaps": get("Process gaps ranked by volume, trend against the previous period, NPS/CSAT with and without each gap (default period: last 30 days)", "viewer", vec![], true),
            "/api/v1/kpis": get("Contact KPIs per KPIS.md: AHT, ASA, transfer rate, bot containment, escalation, resolution, repeat-contact rate", "viewer", vec![
                param("repeat_window_days", "repeat-contact window W in days, 1-90 (default 7)", json!({ "type": "integer", "minimum": 1, "maximum": 90 })),
            ], true),
            "/api/v1/interactions": get("Drill-down: redacted verbatims with labels, confidence and evidence spans, newest first. format=csv downloads one row per interaction (next page cursor in the X-Next-Cursor header)", "analyst", vec![
                param("limit", "page size, 1-200 (default 50); with format=csv 1-5000 (default 1000)", json!({ "type": "integer", "minimum": 1, "maximum": 5000 })),
                param("cursor", "next_cursor of the previous page", json!({ "type": "string" })),
                param("format", "json (default) or csv", json!({ "type": "string", "enum": ["json", "csv"] })),
            ], true),
            "/api/v1/interactions/{pipeline}/{id}": {
                "get": {
                    "summary": "One conversation in full: redacted turns with per-turn emotions and labels (emotion, theme, empathy) with confidence and evidence spans, first and last emotions, recovered flag, agent empathy",
                    "description": "Requires role `analyst` or higher. 404 when the interaction is unknown.",
                    "security": [{ "bearer": [] }],
                    "parameters": [
                        { "name": "pipeline", "in": "path", "required": true, "schema": { "type": "string" } },
                        { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } },
                    ],
                    "responses": {
                        "200": { "description": "OK", "content": { "application/json": { "schema": { "type": "object" } } } },
                        "401": { "description": "Missing or unknown bearer token." },
                        "403": { "description": "The token's role may not access this resource." },
                        "404": { "description": "No such interaction." },
                        "503": { "description": "ClickHouse did not answer." },
                    },
                }
            },
            "/api/v1/pipelines": get("Pipeline status: consumed, stored, dead-lettered, lag, state, throughput_per_s (stored per second over the last minute), recent_dead_letters (the last 20: at, kind, reason, topic, partition, offset; never customer text), stored rows, rollup.days_behind (days the daily rollup has not caught up with and aggregates read from the tables; null before its first check)", "viewer", vec![], false),
            "/api/v1/themes": get("Label ids: built-in emotions and themes, and the custom themes in use with their names per language", "viewer", vec![], false),
            "/api/v1/values/{dimension}": {
                "get": {
                    "summary": "Distinct values of a dimension, most frequent first",
                    "security": [{ "bearer": [] }],
                    "parameters": [{ "name": "dimension", "in": "path", "required": true, "schema": { "type": "string", "enum": ["channel", "queue", "team", "agent", "product", "language", "pipeline"] } }],
                    "responses": errors(),
                }
            },
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": { "type": "string" },
                        "message": { "type": "string" },
                        "details": { "type": "array", "items": { "type": "object", "properties": { "param": { "type": "string" }, "message": { "type": "string" } } } },
                    },
                },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_every_route_and_every_filter() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        for route in [
            "/healthz",
            "/readyz",
            "/metrics",
            "/openapi.json",
            "/api/v1/summary",
            "/api/v1/timeseries",
            "/api/v1/gaps",
            "/api/v1/interactions",
            "/api/v1/pipelines",
            "/api/v1/values/{dimension}",
            "/api/v1/whoami",
            "/api/v1/impact",
            "/api/v1/query",
            "/api/v1/anomalies",
            "/api/v1/interactions/{pipeline}/{id}",
        ] {
            assert!(paths.contains_key(route), "{route} missing");
        }
        let names: Vec<&str> = doc["paths"]["/api/v1/gaps"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), FILTER_PARAMS.len());
        let anomalies = doc["paths"]["/api/v1/anomalies"]["get"]["summary"]
            .as_str()
            .unwrap();
        assert!(anomalies.contains("checked_from"), "{anomalies}");
        assert!(names.contains(&"product") && names.contains(&"pipeline"));
    }
}
