//! Configuration: an optional TOML file, then environment variables, then
//! command-line flags. Secrets come only from the environment.

use anyhow::{bail, Context, Result};
use escucha_api::auth::TokenEntry;
use escucha_clickhouse::ClickHouseConfig;
use escucha_kafka::KafkaConfig;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub classify: ClassifySection,
    pub kafka: KafkaSection,
    pub clickhouse: ClickHouseSection,
    pub api: ApiSection,
    pub ingest: IngestSection,
    pub privacy: PrivacySection,
    pub alerts: AlertsSection,
}

/// `[alerts]`: anomaly detection and the webhooks anomalies are posted to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsSection {
    /// Webhook URLs (Slack-compatible incoming webhooks). Also
    /// `ESCUCHA_ALERT_WEBHOOKS`, comma-separated (added to these).
    pub webhooks: Vec<String>,
    /// Seconds between two detection runs.
    pub interval_seconds: u64,
    /// Standard deviations from the baseline mean that make an anomaly.
    pub k: f64,
    /// Trailing days of the baseline.
    pub baseline_days: u32,
    /// Baseline days with data needed to judge a day.
    pub min_baseline_days: u32,
    /// The label's count on the day or its baseline mean must reach this.
    pub min_volume: u64,
    /// Days (up to today) checked on each run; anomalies of older days are not sent.
    pub lookback_days: u32,
    /// Base URL of the dashboard for the links in alerts (default: http://<api.bind>).
    pub dashboard_url: Option<String>,
}

impl Default for AlertsSection {
    fn default() -> Self {
        let d = escucha_clickhouse::query::AnomalySettings::default();
        AlertsSection {
            webhooks: vec![],
            interval_seconds: 300,
            k: d.k,
            baseline_days: d.baseline_days,
            min_baseline_days: d.min_baseline_days,
            min_volume: d.min_volume,
            lookback_days: 2,
            dashboard_url: None,
        }
    }
}

impl AlertsSection {
    pub fn settings(&self) -> escucha_clickhouse::query::AnomalySettings {
        escucha_clickhouse::query::AnomalySettings {
            k: self.k,
            baseline_days: self.baseline_days,
            min_baseline_days: self.min_baseline_days,
            min_volume: self.min_volume,
        }
    }

    /// Checks the values a typo would make meaningless.
    pub fn validate(&self) -> Result<()> {
        if !(self.k > 0.0 && self.k.is_finite()) {
            bail!("alerts.k must be a positive number, not {}", self.k);
        }
        if self.baseline_days < 2
            || self.min_baseline_days < 2
            || self.min_baseline_days > self.baseline_days
        {
            bail!("alerts: need 2 <= min_baseline_days <= baseline_days");
        }
        if self.interval_seconds == 0 || self.lookback_days == 0 {
            bail!("alerts.interval_seconds and alerts.lookback_days must be at least 1");
        }
        for url in &self.webhooks {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                bail!("alerts.webhooks: `{url}` is not an http(s) URL");
            }
        }
        Ok(())
    }
}

/// Which classification engine to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineChoice {
    /// The layered engine when its model and heads are installed, else cues.
    Auto,
    /// Encoder + trained heads + cues; fails if not installed.
    Layered,
    /// Cue phrases only.
    Cues,
    /// all-MiniLM-L6-v2 through rust-bert + its heads + cues (build with
    /// `--features bert`; heads from `escucha train --encoder minilm`).
    Bert,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClassifySection {
    pub engine: EngineChoice,
    /// Heads directory (default: where `escucha train` writes them).
    pub heads: Option<PathBuf>,
    /// Directory of custom theme files, reloaded while running.
    pub themes: PathBuf,
}

impl Default for ClassifySection {
    fn default() -> Self {
        ClassifySection {
            engine: EngineChoice::Auto,
            heads: None,
            themes: "themes".into(),
        }
    }
}

/// A classification engine with its reloadable custom themes.
#[derive(Clone)]
pub struct Engine {
    pub classifier: std::sync::Arc<dyn escucha_core::Classifier>,
    pub custom: escucha_classify::CustomHandle,
    layered: Option<std::sync::Arc<escucha_classify::LayeredClassifier>>,
    themes_dir: PathBuf,
}

impl Engine {
    /// Loads the custom themes directory and swaps them in. On error the
    /// themes in use stay.
    pub fn reload_themes(&self) -> std::result::Result<usize, Vec<String>> {
        let layered = self.layered.clone();
        let embed = move |texts: &[String]| -> std::result::Result<Vec<Vec<f32>>, String> {
            match &layered {
                Some(l) => {
                    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
                    l.encoder().embed(&texts).map_err(|e| e.to_string())
                }
                None => Err("no sentence encoder".into()),
            }
        };
        let embed_ref: Option<escucha_classify::Embed<'_>> = if self.layered.is_some() {
            Some(&embed)
        } else {
            None
        };
        let themes = escucha_classify::CustomThemes::load_dir(&self.themes_dir, embed_ref)?;
        let n = themes.themes().len();
        match self.custom.write() {
            Ok(mut g) => *g = std::sync::Arc::new(themes),
            Err(p) => *p.into_inner() = std::sync::Arc::new(themes),
        }
        Ok(n)
    }

    /// The custom themes in use.
    pub fn custom_themes(&self) -> Vec<escucha_classify::CustomTheme> {
        escucha_classify::current(&self.custom).themes().to_vec()
    }

    /// Reloads the custom themes whenever a file of the directory changes
    /// (checked every `every`).
    pub fn watch_themes(
        &self,
        every: std::time::Duration,
        shutdown: escucha_kafka::CancellationToken,
    ) {
        let engine = self.clone();
        tokio::spawn(async move {
            let mut seen = directory_signature(&engine.themes_dir);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(every) => {}
                }
                let now = directory_signature(&engine.themes_dir);
                if now == seen {
                    continue;
                }
                seen = now;
                let e = engine.clone();
                match tokio::task::spawn_blocking(move || e.reload_themes()).await {
                    Ok(Ok(n)) => {
                        tracing::info!(themes = n, dir = %engine.themes_dir.display(), "custom themes reloaded")
                    }
                    Ok(Err(errors)) => {
                        for err in errors {
                            tracing::error!("custom themes not reloaded: {err}");
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "custom theme reload failed"),
                }
            }
        });
    }
}

/// Names, sizes and modification times of a directory's files.
fn directory_signature(dir: &Path) -> Vec<(PathBuf, u64, Option<std::time::SystemTime>)> {
    let mut sig: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.metadata()
                        .ok()
                        .map(|m| (e.path(), m.len(), m.modified().ok()))
                })
                .collect()
        })
        .unwrap_or_default();
    sig.sort();
    sig
}

impl ClassifySection {
    /// Builds the configured engine with the custom themes of
    /// `self.themes`. `auto` falls back to the cue engine, saying why, when
    /// the layered engine is not installed.
    pub fn build(&self) -> Result<Engine> {
        use std::sync::Arc;
        let custom = escucha_classify::empty_custom_handle();
        let layered = match self.engine {
            EngineChoice::Cues => None,
            EngineChoice::Layered => Some(crate::learn::layered(self.heads.as_deref())?),
            #[cfg(feature = "bert")]
            EngineChoice::Bert => Some(crate::learn::bert_layered(self.heads.as_deref())?),
            #[cfg(not(feature = "bert"))]
            EngineChoice::Bert => bail!(
                "classify.engine = \"bert\" needs a build with the rust-bert engine: eval \"$(scripts/libtorch.sh env)\"; cargo build --release -p escucha --features bert"
            ),
            EngineChoice::Auto => match crate::learn::layered(self.heads.as_deref()) {
                Ok(engine) => Some(engine),
                Err(e) => {
                    tracing::warn!(
                        reason = %e,
                        "layered engine not available; classifying with cues-1 (run scripts/models.sh install and escucha train)"
                    );
                    None
                }
            },
        };
        let layered = layered.map(|l| Arc::new(l.with_custom(custom.clone())));
        let classifier: Arc<dyn escucha_core::Classifier> = match &layered {
            Some(l) => l.clone(),
            None => Arc::new(escucha_classify::CuesWithCustom {
                cues: escucha_classify::CueClassifier::builtin(),
                custom: custom.clone(),
            }),
        };
        let engine = Engine {
            classifier,
            custom,
            layered,
            themes_dir: self.themes.clone(),
        };
        match engine.reload_themes() {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(themes = n, dir = %self.themes.display(), "custom themes loaded")
            }
            Err(errors) => {
                for e in &errors {
                    eprintln!("{e}");
                }
                bail!(
                    "{} error(s) in the custom themes of {}",
                    errors.len(),
                    self.themes.display()
                );
            }
        }
        Ok(engine)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSection {
    pub brokers: String,
    /// Any librdkafka property; `${VAR}` in a value is read from the environment.
    pub properties: BTreeMap<String, String>,
    pub replication_factor: i32,
}

impl Default for KafkaSection {
    fn default() -> Self {
        let d = KafkaConfig::default();
        KafkaSection {
            brokers: d.brokers,
            properties: d.properties,
            replication_factor: d.replication_factor,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClickHouseSection {
    pub url: String,
    pub database: String,
    pub user: String,
    /// Environment variable holding the password.
    pub password_env: String,
    /// Cluster name: DDL runs `ON CLUSTER` and creates replicated + distributed tables.
    pub cluster: Option<String>,
    pub insert_attempts: u32,
    /// Memory in MiB for the drill-down's turns and labels of recently
    /// served interactions (0: read every time).
    pub turns_cache_mb: u64,
}

impl Default for ClickHouseSection {
    fn default() -> Self {
        let d = ClickHouseConfig::default();
        ClickHouseSection {
            url: d.url,
            database: d.database,
            user: d.user,
            password_env: "ESCUCHA_CLICKHOUSE_PASSWORD".into(),
            cluster: None,
            insert_attempts: d.insert_attempts,
            turns_cache_mb: d.turns_cache_mb,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSection {
    pub bind: String,
    /// Serve without tokens. Refused unless bound to a loopback address.
    pub open: bool,
    /// Figures from fewer answers are withheld.
    pub min_sample: u64,
    pub tokens: Vec<TokenEntry>,
    /// Static dashboard directory served at `/` (default: `dashboards/web/dist`
    /// when it exists).
    pub dashboard_dir: Option<PathBuf>,
    /// Keep the daily rollup up to date and answer aggregates from it.
    pub rollup: bool,
    /// Milliseconds between a write and the rewrite of its days in the rollup
    /// (until then, queries read those days from the table).
    pub rollup_delay_ms: u64,
    /// Seconds between two comparisons of every day's rollup with the table
    /// (catches writes by other processes).
    pub rollup_check_seconds: u64,
    /// Seconds an aggregate answer is reused while this process stores
    /// nothing new (0: never). Also `ESCUCHA_API_CACHE_SECONDS`.
    pub cache_seconds: u64,
}

/// Where `npm run build` puts the web dashboard, relative to the working directory.
pub const DEFAULT_DASHBOARD_DIR: &str = "dashboards/web/dist";

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection {
            bind: "127.0.0.1:8080".into(),
            open: false,
            min_sample: 5,
            tokens: vec![],
            dashboard_dir: None,
            rollup: true,
            rollup_delay_ms: 2000,
            rollup_check_seconds: 60,
            cache_seconds: 10,
        }
    }
}

impl ApiSection {
    /// The configured dashboard directory, else the built web dashboard when present.
    pub fn dashboard(&self) -> Option<PathBuf> {
        match &self.dashboard_dir {
            Some(d) => Some(d.clone()),
            None => Some(PathBuf::from(DEFAULT_DASHBOARD_DIR)),
        }
        .filter(|d| d.is_dir())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestSection {
    pub pipelines: PathBuf,
    pub batch_size: usize,
    pub linger_ms: u64,
    /// Dedicated classification threads (0 = one per core).
    pub classify_threads: usize,
    /// This instance's stable identity in the consumer groups (static
    /// membership): a restarted instance gets its partitions back at once.
    /// Every running instance needs its own; defaults to the host name;
    /// `dynamic` turns static membership off.
    pub instance_id: Option<String>,
}

impl Default for IngestSection {
    fn default() -> Self {
        IngestSection {
            pipelines: "pipelines".into(),
            batch_size: 1000,
            linger_ms: 250,
            classify_threads: 0,
            instance_id: None,
        }
    }
}

impl IngestSection {
    /// The configured instance id, else the host name.
    pub fn instance_id(&self) -> Option<String> {
        self.instance_id
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| {
                std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .ok()
                    .or_else(|| std::env::var("HOSTNAME").ok())
                    .map(|h| h.trim().to_string())
                    .filter(|h| !h.is_empty())
            })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacySection {
    /// Environment variable holding the secret of the keyed customer hash.
    pub customer_key_secret_env: String,
    /// File holding the secret when the variable is unset; created on first use.
    pub customer_key_secret_file: PathBuf,
}

impl Default for PrivacySection {
    fn default() -> Self {
        PrivacySection {
            customer_key_secret_env: "ESCUCHA_CUSTOMER_KEY_SECRET".into(),
            customer_key_secret_file: default_home().join("customer-key.secret"),
        }
    }
}

/// `$ESCUCHA_HOME`, or `.escucha` in the working directory.
pub fn default_home() -> PathBuf {
    std::env::var_os("ESCUCHA_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".escucha"))
}

/// Replaces `${NAME}` with the environment variable `NAME`; a missing
/// variable is an error naming the property.
pub fn expand_env(key: &str, value: &str) -> Result<String> {
    let re = regex::Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}").expect("valid regex");
    let mut missing = None;
    let out = re.replace_all(value, |c: &regex::Captures<'_>| {
        match std::env::var(&c[1]) {
            Ok(v) => v,
            Err(_) => {
                missing.get_or_insert_with(|| c[1].to_string());
                String::new()
            }
        }
    });
    if let Some(name) = missing {
        bail!("kafka.properties.{key}: environment variable {name} is not set");
    }
    Ok(out.into_owned())
}

impl Config {
    /// Reads the file if given (or `escucha.toml` if present), then applies
    /// environment overrides.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let default_file = Path::new("escucha.toml");
        let mut config = match path {
            Some(p) => Self::from_file(p)?,
            None if default_file.exists() => Self::from_file(default_file)?,
            None => Config::default(),
        };
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(v) = env("ESCUCHA_KAFKA_BROKERS") {
            config.kafka.brokers = v;
        }
        if let Some(v) = env("ESCUCHA_CLICKHOUSE_URL") {
            config.clickhouse.url = v;
        }
        if let Some(v) = env("ESCUCHA_CLICKHOUSE_DATABASE") {
            config.clickhouse.database = v;
        }
        if let Some(v) = env("ESCUCHA_CLICKHOUSE_USER") {
            config.clickhouse.user = v;
        }
        if let Some(v) = env("ESCUCHA_CLICKHOUSE_TURNS_CACHE_MB") {
            config.clickhouse.turns_cache_mb = v.parse().map_err(|_| {
                anyhow::anyhow!("ESCUCHA_CLICKHOUSE_TURNS_CACHE_MB: `{v}` is not a number of MiB")
            })?;
        }
        if let Some(v) = env("ESCUCHA_API_BIND") {
            config.api.bind = v;
        }
        if let Some(v) = env("ESCUCHA_THEMES") {
            config.classify.themes = v.into();
        }
        if let Some(v) = env("ESCUCHA_ENGINE") {
            config.classify.engine = match v.as_str() {
                "auto" => EngineChoice::Auto,
                "layered" => EngineChoice::Layered,
                "cues" => EngineChoice::Cues,
                "bert" => EngineChoice::Bert,
                other => bail!("ESCUCHA_ENGINE: `{other}` is not one of auto, layered, cues, bert"),
            };
        }
        if let Some(v) = env("ESCUCHA_INSTANCE_ID") {
            config.ingest.instance_id = Some(v);
        }
        if let Some(v) = env("ESCUCHA_PIPELINES") {
            config.ingest.pipelines = v.into();
        }
        if let Some(v) = env("ESCUCHA_ALERT_WEBHOOKS") {
            for url in v.split(',').map(str::trim).filter(|u| !u.is_empty()) {
                if !config.alerts.webhooks.iter().any(|w| w == url) {
                    config.alerts.webhooks.push(url.to_string());
                }
            }
        }
        if let Some(v) = env("ESCUCHA_DASHBOARD") {
            config.api.dashboard_dir = Some(v.into());
        }
        if let Some(v) = env("ESCUCHA_API_CACHE_SECONDS") {
            config.api.cache_seconds = v.parse().map_err(|_| {
                anyhow::anyhow!("ESCUCHA_API_CACHE_SECONDS: `{v}` is not a number of seconds")
            })?;
        }
        config.alerts.validate()?;
        if let Some(token) = env("ESCUCHA_ADMIN_TOKEN") {
            if token.len() < 16 {
                bail!("ESCUCHA_ADMIN_TOKEN must be at least 16 characters");
            }
            config.api.tokens.push(TokenEntry {
                name: "admin (ESCUCHA_ADMIN_TOKEN)".into(),
                role: escucha_api::auth::Role::Admin,
                sha256: escucha_api::auth::hash_token(&token),
            });
        }
        Ok(config)
    }

    fn from_file(path: &Path) -> Result<Config> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("{}: invalid configuration", path.display()))
    }

    pub fn kafka(&self) -> Result<KafkaConfig> {
        let mut properties = BTreeMap::new();
        for (k, v) in &self.kafka.properties {
            properties.insert(k.clone(), expand_env(k, v)?);
        }
        Ok(KafkaConfig {
            brokers: self.kafka.brokers.clone(),
            properties,
            replication_factor: self.kafka.replication_factor,
        })
    }

    pub fn clickhouse(&self) -> ClickHouseConfig {
        ClickHouseConfig {
            url: self.clickhouse.url.clone(),
            database: self.clickhouse.database.clone(),
            user: self.clickhouse.user.clone(),
            password: std::env::var(&self.clickhouse.password_env)
                .ok()
                .filter(|p| !p.is_empty()),
            cluster: self.clickhouse.cluster.clone(),
            insert_attempts: self.clickhouse.insert_attempts,
            turns_cache_mb: self.clickhouse.turns_cache_mb,
        }
    }

    pub fn bind(&self) -> Result<SocketAddr> {
        self.api
            .bind
            .parse()
            .with_context(|| format!("api.bind: `{}` is not an address:port", self.api.bind))
    }

    /// The customer-key secret: from the environment, else from the secret
    /// file (created with random bytes on first use).
    pub fn customer_key_secret(&self) -> Result<Vec<u8>> {
        if let Ok(v) = std::env::var(&self.privacy.customer_key_secret_env) {
            if v.len() < 16 {
                bail!(
                    "{} must be at least 16 characters",
                    self.privacy.customer_key_secret_env
                );
            }
            return Ok(v.into_bytes());
        }
        let file = &self.privacy.customer_key_secret_file;
        if let Ok(bytes) = std::fs::read(file) {
            if bytes.len() >= 16 {
                return Ok(bytes);
            }
        }
        use rand::RngCore;
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(file, &hex).with_context(|| format!("writing {}", file.display()))?;
        tracing::warn!(
            file = %file.display(),
            "{} is not set: created a customer-key secret file; keep it (customer keys change with it)",
            self.privacy.customer_key_secret_env
        );
        Ok(hex.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_environment_in_kafka_properties() {
        std::env::set_var("ESCUCHA_TEST_SASL_PASSWORD", "pw");
        assert_eq!(
            expand_env("sasl.password", "${ESCUCHA_TEST_SASL_PASSWORD}").unwrap(),
            "pw"
        );
        assert_eq!(expand_env("x", "plain").unwrap(), "plain");
        let e = expand_env("sasl.password", "${ESCUCHA_TEST_UNSET_VARIABLE}").unwrap_err();
        assert!(e.to_string().contains("ESCUCHA_TEST_UNSET_VARIABLE"));
    }

    #[test]
    fn parses_a_full_file_and_rejects_unknown_keys() {
        let c: Config = toml::from_str(
            r#"
            [kafka]
            brokers = "k1:9092,k2:9092"
            [kafka.properties]
            "security.protocol" = "SASL_SSL"
            [clickhouse]
            url = "https://ch:8443"
            cluster = "cx"
            [api]
            bind = "0.0.0.0:8080"
            [[api.tokens]]
            name = "cx-team"
            role = "viewer"
            sha256 = "00"
            [ingest]
            batch_size = 200
            "#,
        )
        .unwrap();
        assert_eq!(c.kafka.brokers, "k1:9092,k2:9092");
        assert_eq!(c.clickhouse.cluster.as_deref(), Some("cx"));
        assert_eq!(c.api.tokens.len(), 1);
        assert_eq!(c.ingest.batch_size, 200);
        assert_eq!(c.ingest.linger_ms, 250);
        assert!(toml::from_str::<Config>("[kafka]\nbroker = \"x\"").is_err());
    }

    #[test]
    fn alerts_section_has_defaults_and_is_validated() {
        let c: Config = toml::from_str(
            r#"
            [alerts]
            webhooks = ["https://hooks.example.com/T0/B0/x"]
            interval_seconds = 60
            k = 3.0
            "#,
        )
        .unwrap();
        assert_eq!(c.alerts.webhooks.len(), 1);
        assert_eq!(c.alerts.interval_seconds, 60);
        assert_eq!(c.alerts.settings().k, 3.0);
        assert_eq!(c.alerts.min_baseline_days, 14);
        assert_eq!(c.alerts.baseline_days, 28);
        assert!(c.alerts.validate().is_ok());
        assert_eq!(Config::default().alerts.interval_seconds, 300);
        let bad: Config = toml::from_str("[alerts]\nwebhooks = [\"ftp://x\"]").unwrap();
        assert!(bad.alerts.validate().is_err());
        let bad: Config = toml::from_str("[alerts]\nk = 0.0").unwrap();
        assert!(bad.alerts.validate().is_err());
        assert!(toml::from_str::<Config>("[alerts]\nwebhook = \"x\"").is_err());
    }
}
