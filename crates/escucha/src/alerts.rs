//! Anomaly alerts: every `interval` the anomalies of the last days are
//! detected and each one not yet delivered to a webhook is posted to it as
//! Slack-compatible JSON. Deliveries are recorded in ClickHouse
//! (`alerts_sent`), so an anomaly is sent once per webhook, also across
//! restarts; a failed post is retried on the next run.

use crate::config::AlertsSection;
use anyhow::{Context, Result};
use escucha_clickhouse::query::{Anomaly, AnomalySettings, Filters};
use escucha_clickhouse::Store;
use escucha_kafka::CancellationToken;
use serde_json::{json, Value};
use std::time::Duration;

/// The alerting task's settings and connections.
pub struct Alerts {
    store: Store,
    webhooks: Vec<String>,
    settings: AnomalySettings,
    lookback_days: u32,
    dashboard_url: String,
    client: reqwest::Client,
}

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunReport {
    pub anomalies: usize,
    pub sent: usize,
    pub failed: usize,
}

/// The key a webhook's deliveries are recorded under: its SHA-256, so the
/// URL (which holds the webhook's secret) is not stored.
fn webhook_key(url: &str) -> String {
    escucha_api::auth::hash_token(url)
}

/// A webhook URL without its path and query (they hold its secret), for logs.
fn redacted(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}{}/…",
            u.scheme(),
            u.host_str().unwrap_or("?"),
            u.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => "(invalid URL)".into(),
    }
}

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The dashboard overview around the anomaly: the baseline weeks up to the
/// day, narrowed to the segment and the label.
pub fn dashboard_link(base: &str, a: &Anomaly) -> String {
    let day = chrono::NaiveDate::parse_from_str(&a.day, "%Y-%m-%d").ok();
    let from = day
        .map(|d| (d - chrono::Duration::days(27)).to_string())
        .unwrap_or_else(|| a.day.clone());
    let mut params = vec![
        ("from".to_string(), from),
        ("to".to_string(), a.day.clone()),
    ];
    if let Some(s) = &a.segment {
        params.push((s.dimension.clone(), s.value.clone()));
    }
    params.push((a.kind.clone(), a.label.clone()));
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    format!(
        "{}/#/overview?{}",
        base.trim_end_matches('/'),
        query.join("&")
    )
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The Slack-compatible message of one anomaly: `text` (also the
/// notification fallback) names the label, segment, day, value against the
/// baseline and links to the dashboard; `blocks` say the same for Slack.
pub fn message(a: &Anomaly, dashboard_url: &str) -> Value {
    let segment = match &a.segment {
        Some(s) => format!("{} {}", s.dimension, s.value),
        None => "all interactions".to_string(),
    };
    let unit = if a.measure == "share" { " %" } else { "" };
    let arrow = if a.direction == "up" { "up" } else { "down" };
    let link = dashboard_link(dashboard_url, a);
    let what = format!(
        "{} {} `{}` {} on {} in {}: {}{unit} vs baseline {}{unit} ± {} (z = {})",
        a.kind,
        a.measure,
        a.label,
        arrow,
        a.day,
        segment,
        number(a.value),
        number(a.baseline_mean),
        number(a.baseline_sd),
        number(a.z),
    );
    json!({
        "text": format!("escucha anomaly: {what}. Dashboard: {link}"),
        "blocks": [
            {
                "type": "section",
                "text": { "type": "mrkdwn", "text": format!("*escucha anomaly* — {what}.\n<{link}|Open the dashboard>") },
            },
            {
                "type": "context",
                "elements": [{
                    "type": "mrkdwn",
                    "text": format!("id `{}` · baseline: {} days with data", a.id, a.baseline_days),
                }],
            },
        ],
    })
}

impl Alerts {
    pub fn new(store: Store, config: &AlertsSection, dashboard_url: String) -> Result<Alerts> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .context("creating the webhook HTTP client")?;
        Ok(Alerts {
            store,
            webhooks: config.webhooks.clone(),
            settings: config.settings(),
            lookback_days: config.lookback_days.max(1),
            dashboard_url,
            client,
        })
    }

    /// Detects the anomalies of the last `lookback_days` days and posts the
    /// ones each webhook has not received yet.
    pub async fn run_once(&self) -> Result<RunReport> {
        let last = chrono::Utc::now().date_naive();
        let first = last - chrono::Duration::days(i64::from(self.lookback_days) - 1);
        let anomalies = self
            .store
            .anomalies(&Filters::default(), first, last, &self.settings)
            .await
            .context("detecting anomalies")?;
        let mut report = RunReport {
            anomalies: anomalies.len(),
            ..Default::default()
        };
        for url in &self.webhooks {
            let key = webhook_key(url);
            let sent = self
                .store
                .alerts_sent(&key)
                .await
                .context("reading the alerts already sent")?;
            for a in anomalies.iter().filter(|a| !sent.contains(&a.id)) {
                match self.post(url, &message(a, &self.dashboard_url)).await {
                    Ok(()) => {
                        self.store
                            .record_alert_sent(&a.id, &key)
                            .await
                            .context("recording a sent alert")?;
                        report.sent += 1;
                    }
                    Err(e) => {
                        tracing::warn!(webhook = %redacted(url), anomaly = %a.id, error = %e, "alert not delivered; retrying on the next run");
                        report.failed += 1;
                    }
                }
            }
        }
        Ok(report)
    }

    async fn post(&self, url: &str, body: &Value) -> Result<(), String> {
        let response = self
            .client
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("webhook answered {status}"))
        }
    }

    /// Runs until `shutdown`, once every `every` (the first run right away).
    pub fn spawn(
        self,
        every: Duration,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        tracing::info!(
            webhooks = self.webhooks.len(),
            every_s = every.as_secs(),
            k = self.settings.k,
            "anomaly alerts on"
        );
        tokio::spawn(async move {
            loop {
                match self.run_once().await {
                    Ok(r) => tracing::info!(
                        anomalies = r.anomalies,
                        sent = r.sent,
                        failed = r.failed,
                        "anomaly check done"
                    ),
                    Err(e) => tracing::warn!(error = format!("{e:#}"), "anomaly check failed"),
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(every) => {}
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use escucha_clickhouse::query::Segment;

    fn anomaly() -> Anomaly {
        Anomaly {
            id: "2026-11-20/theme/long_wait/channel=voice/volume".into(),
            kind: "theme".into(),
            label: "long_wait".into(),
            segment: Some(Segment {
                dimension: "queue".into(),
                value: "tech support&co".into(),
            }),
            measure: "volume".into(),
            day: "2026-11-20".into(),
            value: 42.0,
            baseline_mean: 10.14,
            baseline_sd: 3.2,
            baseline_days: 28,
            z: 9.96,
            direction: "up".into(),
        }
    }

    #[test]
    fn message_names_label_segment_day_values_and_links_the_dashboard() {
        let m = message(&anomaly(), "http://127.0.0.1:8080/");
        let text = m["text"].as_str().unwrap();
        assert_eq!(
            text,
            "escucha anomaly: theme volume `long_wait` up on 2026-11-20 in queue tech support&co: \
             42 vs baseline 10.1 ± 3.2 (z = 10.0). Dashboard: \
             http://127.0.0.1:8080/#/overview?from=2026-10-24&to=2026-11-20&queue=tech%20support%26co&theme=long_wait"
        );
        assert_eq!(m["blocks"][0]["type"], "section");
        assert!(m["blocks"][1]["elements"][0]["text"]
            .as_str()
            .unwrap()
            .contains("2026-11-20/theme/long_wait"));
    }

    #[test]
    fn webhook_secrets_stay_out_of_logs_and_storage() {
        let url = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
        assert_eq!(redacted(url), "https://hooks.slack.com/…");
        assert!(!webhook_key(url).contains("SECRET"));
        assert_eq!(webhook_key(url).len(), 64);
    }
}
