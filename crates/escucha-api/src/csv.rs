//! CSV exports (RFC 4180): the grouped query and the drill-down.
//!
//! Text cells that a spreadsheet would run as a formula (starting with `=`,
//! `+`, `-`, `@`, tab or carriage return) are prefixed with `'`.

use escucha_clickhouse::query::{GroupQuery, Grouped, ServedInteraction};
use serde_json::Value;

/// One text cell, quoted when needed.
pub fn text(s: &str) -> String {
    let guarded;
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{s}");
        guarded.as_str()
    } else {
        s
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn value(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => text(s),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => text(&other.to_string()),
    }
}

fn line(out: &mut String, cells: impl IntoIterator<Item = String>) {
    let cells: Vec<String> = cells.into_iter().collect();
    out.push_str(&cells.join(","));
    out.push_str("\r\n");
}

/// The grouped query: a header row (dimensions, then each metric and its
/// `_n`), then one row per group. Withheld figures are empty cells.
pub fn grouped(q: &GroupQuery, g: &Grouped) -> String {
    let mut out = String::new();
    let mut header: Vec<String> = q.dimensions.iter().map(|d| d.name().to_string()).collect();
    for m in &q.metrics {
        header.push(m.name().to_string());
        if m.has_n() {
            header.push(format!("{}_n", m.name()));
        }
    }
    line(&mut out, header);
    for r in &g.rows {
        line(
            &mut out,
            r.dimensions
                .iter()
                .map(|d| text(d))
                .chain(r.values.iter().map(|(_, v)| value(v))),
        );
    }
    out
}

/// The drill-down: one row per interaction, its redacted turns in one cell
/// (`speaker: text` per line).
pub fn interactions(items: &[ServedInteraction]) -> String {
    let mut out = String::new();
    line(
        &mut out,
        [
            "occurred_at",
            "pipeline",
            "interaction_id",
            "kind",
            "channel",
            "language",
            "queue",
            "team",
            "agent",
            "product",
            "nps",
            "csat",
            "ces",
            "agent_empathy",
            "emotions",
            "themes",
            "text",
        ]
        .map(String::from),
    );
    let opt = |v: Option<u8>| v.map(|x| x.to_string()).unwrap_or_default();
    for i in items {
        let turns: Vec<String> = i
            .turns
            .iter()
            .filter(|t| !t.text.trim().is_empty())
            .map(|t| format!("{}: {}", t.speaker, t.text))
            .collect();
        line(
            &mut out,
            [
                i.occurred_at.to_rfc3339(),
                text(&i.pipeline),
                text(&i.id),
                text(&i.kind),
                text(&i.channel),
                text(&i.language),
                text(&i.queue),
                text(&i.team),
                text(&i.agent),
                text(&i.product),
                opt(i.nps),
                opt(i.csat),
                opt(i.ces),
                i.agent_empathy.map(|e| e.to_string()).unwrap_or_default(),
                text(&i.emotions.join(";")),
                text(&i.themes.join(";")),
                text(&turns.join("\n")),
            ],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use escucha_clickhouse::query::{GroupDimension, GroupMetric, GroupRowOut};
    use serde_json::json;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(text("plain"), "plain");
        assert_eq!(text("a,b"), "\"a,b\"");
        assert_eq!(text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(text("two\nlines"), "\"two\nlines\"");
        assert_eq!(text("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(text("-1+1,"), "\"'-1+1,\"");
    }

    #[test]
    fn grouped_csv_has_a_header_and_empty_withheld_cells() {
        let q = GroupQuery {
            dimensions: vec![GroupDimension::Theme, GroupDimension::Product],
            metrics: vec![GroupMetric::Interactions, GroupMetric::Nps],
            limit: 10,
            repeat_window_days: 7,
        };
        let g = Grouped {
            rows: vec![GroupRowOut {
                dimensions: vec!["long_wait".into(), "Fibra, 300".into()],
                values: vec![
                    ("interactions".into(), json!(3)),
                    ("nps".into(), Value::Null),
                    ("nps_n".into(), json!(2)),
                ],
            }],
            total: 3,
            truncated: false,
        };
        assert_eq!(
            grouped(&q, &g),
            "theme,product,interactions,nps,nps_n\r\nlong_wait,\"Fibra, 300\",3,,2\r\n"
        );
    }
}
