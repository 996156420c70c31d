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
            "/api/v1/timeseries": get("Counts per emotion or theme per time bucket", "viewer", vec![
                param("labels", "emotion (default) or theme", json!({ "type": "string", "enum": ["emotion", "theme"] })),
                param("interval", "hour, day (default) or week; default period 7, 90 or 364 days", json!({ "type": "string", "enum": ["hour", "day", "week"] })),
            ], true),
            "/api/v1/gaps": get("Process gaps ranked by volume, trend against the previous period, NPS/CSAT with and without each gap (default period: last 30 days)", "viewer", vec![], true),
            "/api/v1/kpis": get("Contact KPIs per KPIS.md: AHT, ASA, transfer rate, bot containment, escalation, resolution, repeat-contact rate", "viewer", vec![
                param("repeat_window_days", "repeat-contact window W in days, 1-90 (default 7)", json!({ "type": "integer", "minimum": 1, "maximum": 90 })),
            ], true),
            "/api/v1/interactions": get("Drill-down: redacted verbatims with labels, confidence and evidence spans, newest first", "analyst", vec![
                param("limit", "page size, 1-200 (default 50)", json!({ "type": "integer", "minimum": 1, "maximum": 200 })),
                param("cursor", "next_cursor of the previous page", json!({ "type": "string" })),
            ], true),
            "/api/v1/pipelines": get("Pipeline status: consumed, stored, dead-lettered, lag, state, stored rows", "viewer", vec![], false),
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
        assert!(names.contains(&"product") && names.contains(&"pipeline"));
    }
}
