//! Trained multi-label heads: training with cross-fitted calibration,
//! prediction and the versioned file format.

use crate::calibration::{best_f1_threshold, expected_calibration_error, Platt};
use crate::linear::{dot, fit, sigmoid, FitConfig, LinearModels, Matrix, Standardizer};
use escucha_core::taxonomy;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::Path;

/// The `format` field of a heads file.
pub const FORMAT: &str = "escucha-heads";
/// The file format version this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// How the training data is divided to fit the calibration maps and the
/// decision thresholds on scores the models did not see in training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum CalibrationSplit {
    /// Cross-fitting: the training data is cut into `folds` folds; a model
    /// trained without each fold scores it, calibration is fitted on those
    /// out-of-fold scores of every example, and the final model is trained
    /// on all the data. Costs `folds + 1` trainings.
    CrossFit { folds: usize },
    /// A single held-out share of the training data: the model trained on
    /// the rest is both the calibrated and the final model. One training,
    /// less data for the model.
    HoldOut { fraction: f64 },
}

/// Hyperparameters of [`Heads::train`]. Defaults suit a few thousand
/// examples of 256–1024-dimensional sentence embeddings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainOptions {
    /// Seed of every random choice (fold and validation assignment). The
    /// same data, options and seed give bit-identical heads.
    pub seed: u64,
    /// L2 penalty `λ/2·‖w‖²` added to the mean class-weighted log-loss
    /// (the bias is not penalised).
    pub l2: f64,
    /// Upper bound on full-batch epochs per training.
    pub max_epochs: usize,
    /// A label stops training after this many epochs without improving its
    /// validation loss; its best epoch's weights are kept.
    pub patience: usize,
    /// Share of each training's rows kept aside for early stopping
    /// (in `[0, 0.5]`; 0 disables early stopping). Always carved from the
    /// training data given to [`Heads::train`], never from dev.
    pub validation_fraction: f64,
    /// Weigh positives and negatives so that each class carries half of the
    /// loss (rare labels are otherwise never predicted). Calibration undoes
    /// the resulting shift of the probabilities.
    pub class_balanced: bool,
    pub calibration: CalibrationSplit,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            seed: 42,
            l2: 1e-3,
            max_epochs: 300,
            patience: 15,
            validation_fraction: 0.15,
            class_balanced: true,
            calibration: CalibrationSplit::CrossFit { folds: 3 },
        }
    }
}

/// Per-row weight in the loss and whether the row fits calibration and
/// thresholds (see [`Heads::train_weighted`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RowRoles {
    pub weight: Vec<f32>,
    pub calibrate: Vec<bool>,
}

impl RowRoles {
    /// Every row weighs 1 and calibrates.
    pub fn uniform(n: usize) -> RowRoles {
        RowRoles {
            weight: vec![1.0; n],
            calibrate: vec![true; n],
        }
    }
}

/// Where the features and labels came from: recorded in the heads file and
/// checked when the heads are used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// Name (and version) of the sentence encoder that produced the features.
    pub encoder: String,
    /// Fingerprint of the training data, e.g. [`crate::Dataset::fingerprint`].
    pub training_data_hash: String,
}

/// The encoder a set of heads expects its features from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncoderInfo {
    pub name: String,
    pub dimension: usize,
}

/// Figures from training, kept with each head for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadStats {
    /// Positive examples in the training data.
    pub positives: usize,
    /// Epoch whose weights the final model kept.
    pub epochs: usize,
    /// Examples the calibration map and threshold were fitted on.
    pub calibration_examples: usize,
    /// F1 at the chosen threshold on the calibration examples.
    pub calibration_f1: f64,
    /// ECE of `sigmoid(logit)` on the calibration examples.
    pub ece_uncalibrated: f64,
    /// ECE of the calibrated probabilities on the same examples (in-sample
    /// for the two calibration parameters).
    pub ece_calibrated: f64,
}

/// One label's linear model, calibration map and decision threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelHead {
    pub label: String,
    /// Weights over standardised features.
    pub weights: Vec<f32>,
    pub bias: f32,
    pub platt: Platt,
    /// Predict the label when the calibrated probability is at least this.
    pub threshold: f64,
    pub stats: HeadStats,
}

impl LabelHead {
    fn logit(&self, standardized: &[f32]) -> f64 {
        f64::from(dot(standardized, &self.weights) + self.bias)
    }
}

/// One label's output for one text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction<'a> {
    pub label: &'a str,
    /// Calibrated probability in `[0, 1]`.
    pub probability: f32,
    /// Whether the probability reaches the label's threshold.
    pub decision: bool,
}

/// Calibration quality of heads on a labelled set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationReport {
    pub examples: usize,
    pub labels: Vec<LabelCalibration>,
    /// ECE of the calibrated probabilities over all (example, label) pairs.
    pub ece: f64,
    /// The same for `sigmoid(logit)` before calibration.
    pub ece_uncalibrated: f64,
}

/// Calibration quality of one head on a labelled set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelCalibration {
    pub label: String,
    pub positives: usize,
    pub ece: f64,
    pub ece_uncalibrated: f64,
}

/// Errors of training, prediction and the heads file.
#[derive(Debug, thiserror::Error)]
pub enum HeadsError {
    #[error("invalid training input: {0}")]
    InvalidInput(String),
    #[error("invalid training options: {0}")]
    InvalidOptions(String),
    #[error("feature vector has {actual} dimensions, the heads expect {expected}")]
    DimensionMismatch { expected: usize, actual: usize },
    #[error("heads were trained for encoder `{expected}` ({expected_dimension} dimensions), not `{actual}` ({actual_dimension} dimensions)")]
    EncoderMismatch {
        expected: String,
        expected_dimension: usize,
        actual: String,
        actual_dimension: usize,
    },
    #[error("cannot access {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid heads file: {0}")]
    Format(String),
    #[error(
        "heads file format version {found} is not supported (this build reads version {supported})"
    )]
    UnsupportedVersion { found: u64, supported: u32 },
}

/// A set of calibrated one-vs-rest logistic heads over sentence embeddings,
/// one per label (e.g. the ten emotions, or the themes).
#[derive(Debug, Clone, PartialEq)]
pub struct Heads {
    encoder: EncoderInfo,
    training_data_hash: String,
    options: TrainOptions,
    standardizer: Standardizer,
    heads: Vec<LabelHead>,
}

/// The on-disk form of [`Heads`].
#[derive(Serialize, Deserialize)]
struct HeadsFile {
    format: String,
    version: u32,
    encoder: EncoderInfo,
    training_data_hash: String,
    labels: Vec<String>,
    options: TrainOptions,
    standardizer: Standardizer,
    heads: Vec<LabelHead>,
}

impl Heads {
    /// Trains one calibrated head per id in `label_ids`.
    ///
    /// `features[i]` is the embedding of example `i` and `labels[i][k]`
    /// whether it carries `label_ids[k]`. Features are standardised; each
    /// head is an L2-regularised logistic regression with class-balanced
    /// weights, trained by full-batch accelerated gradient descent (step
    /// size from the loss curvature, no learning rate to tune) with early
    /// stopping on a validation share of the training data. Calibration
    /// (Platt scaling) and the F1-maximising threshold of each label are
    /// fitted on scores of examples the scoring model was not trained on
    /// (see [`CalibrationSplit`]). Deterministic for a given `opts.seed`.
    pub fn train(
        features: &[Vec<f32>],
        labels: &[Vec<bool>],
        label_ids: &[String],
        provenance: &Provenance,
        opts: &TrainOptions,
    ) -> Result<Heads, HeadsError> {
        let rows = RowRoles::uniform(features.len());
        Heads::train_weighted(features, labels, label_ids, provenance, opts, &rows)
    }

    /// [`Heads::train`] where rows differ: each weighs `rows.weight[i]` in
    /// the loss, and only rows with `rows.calibrate[i]` fit the calibration
    /// and the thresholds. Used to add out-of-domain data (GoEmotions'
    /// Reddit comments) to the training of the emotion heads with less
    /// weight, while probabilities and thresholds stay those of the
    /// domain's own examples.
    pub fn train_weighted(
        features: &[Vec<f32>],
        labels: &[Vec<bool>],
        label_ids: &[String],
        provenance: &Provenance,
        opts: &TrainOptions,
        rows: &RowRoles,
    ) -> Result<Heads, HeadsError> {
        validate_options(opts)?;
        let dimension = validate_input(features, labels, label_ids, provenance)?;
        let n = features.len();
        if rows.weight.len() != n || rows.calibrate.len() != n {
            return Err(HeadsError::InvalidInput(format!(
                "{n} examples but {} row weights and {} calibration flags",
                rows.weight.len(),
                rows.calibrate.len()
            )));
        }
        if rows.weight.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err(HeadsError::InvalidInput(
                "row weights must be finite and non-negative".into(),
            ));
        }
        if !rows.calibrate.iter().any(|c| *c) {
            return Err(HeadsError::InvalidInput(
                "no row is marked for calibration".into(),
            ));
        }
        let min_examples = match opts.calibration {
            CalibrationSplit::CrossFit { folds } => 2 * folds,
            CalibrationSplit::HoldOut { .. } => 4,
        };
        if n < min_examples {
            return Err(HeadsError::InvalidInput(format!(
                "{n} examples; at least {min_examples} are needed with these options"
            )));
        }

        let standardizer = Standardizer::fit(features);
        let x = Matrix::standardized(features, &standardizer);
        let cfg = FitConfig {
            l2: opts.l2,
            max_epochs: opts.max_epochs,
            patience: opts.patience,
            class_balanced: opts.class_balanced,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);

        let mut train_on = |subset: &[usize]| -> LinearModels {
            let mut subset = subset.to_vec();
            subset.shuffle(&mut rng);
            let n_val = ((subset.len() as f64 * opts.validation_fraction).round() as usize)
                .min(subset.len().saturating_sub(1));
            let (val, train) = subset.split_at_mut(n_val);
            // Row order only affects memory access, not the result's meaning.
            val.sort_unstable();
            train.sort_unstable();
            fit(&x, labels, &rows.weight, train, val, &cfg)
        };

        let l = label_ids.len();
        let (model, calibration_rows, held_out_logits) = match opts.calibration {
            CalibrationSplit::CrossFit { folds } => {
                let mut oof = vec![0f32; n * l];
                for f in 0..folds {
                    let (mut held, mut rest) = (Vec::new(), Vec::new());
                    for (pos, &i) in order.iter().enumerate() {
                        if pos % folds == f {
                            held.push(i);
                        } else {
                            rest.push(i);
                        }
                    }
                    held.sort_unstable();
                    let fold_model = train_on(&rest);
                    let logits = fold_model.logits(&x, &held);
                    for (row, &i) in logits.chunks_exact(l).zip(&held) {
                        oof[i * l..(i + 1) * l].copy_from_slice(row);
                    }
                }
                let model = train_on(&order);
                let cal: Vec<usize> = (0..n).filter(|&i| rows.calibrate[i]).collect();
                let logits = cal
                    .iter()
                    .flat_map(|&i| oof[i * l..(i + 1) * l].iter().copied())
                    .collect();
                (model, cal, logits)
            }
            CalibrationSplit::HoldOut { fraction } => {
                let n_cal = ((n as f64 * fraction).round() as usize).clamp(1, n - 2);
                let (cal, rest) = order.split_at(n_cal);
                let mut cal: Vec<usize> =
                    cal.iter().copied().filter(|&i| rows.calibrate[i]).collect();
                cal.sort_unstable();
                if cal.is_empty() {
                    return Err(HeadsError::InvalidInput(
                        "the calibration hold-out has no row marked for calibration".into(),
                    ));
                }
                let model = train_on(rest);
                let logits = model.logits(&x, &cal);
                (model, cal, logits)
            }
        };

        let heads = (0..l)
            .map(|k| {
                let scores: Vec<f64> = held_out_logits
                    .chunks_exact(l)
                    .map(|row| f64::from(row[k]))
                    .collect();
                let outcomes: Vec<bool> = calibration_rows.iter().map(|&i| labels[i][k]).collect();
                let platt = Platt::fit(&scores, &outcomes);
                let calibrated: Vec<f64> = scores.iter().map(|&s| platt.probability(s)).collect();
                let raw: Vec<f64> = scores.iter().map(|&s| sigmoid(s)).collect();
                let (threshold, calibration_f1) = best_f1_threshold(&calibrated, &outcomes);
                LabelHead {
                    label: label_ids[k].clone(),
                    weights: model.weights_of(k).to_vec(),
                    bias: model.bias[k],
                    platt,
                    threshold,
                    stats: HeadStats {
                        positives: labels.iter().filter(|r| r[k]).count(),
                        epochs: model.epochs[k],
                        calibration_examples: outcomes.len(),
                        calibration_f1,
                        ece_uncalibrated: expected_calibration_error(&raw, &outcomes),
                        ece_calibrated: expected_calibration_error(&calibrated, &outcomes),
                    },
                }
            })
            .collect();

        Ok(Heads {
            encoder: EncoderInfo {
                name: provenance.encoder.clone(),
                dimension,
            },
            training_data_hash: provenance.training_data_hash.clone(),
            options: opts.clone(),
            standardizer,
            heads,
        })
    }

    /// Calibrated probability and decision of every label for one feature
    /// vector, in label order.
    pub fn predict(&self, features: &[f32]) -> Result<Vec<Prediction<'_>>, HeadsError> {
        let x = self.standardize(features)?;
        Ok(self
            .heads
            .iter()
            .map(|h| {
                let p = h.platt.probability(h.logit(&x));
                Prediction {
                    label: &h.label,
                    probability: p as f32,
                    decision: p >= h.threshold,
                }
            })
            .collect())
    }

    /// [`Heads::predict`] for several feature vectors.
    pub fn predict_batch(
        &self,
        features: &[Vec<f32>],
    ) -> Result<Vec<Vec<Prediction<'_>>>, HeadsError> {
        features.iter().map(|f| self.predict(f)).collect()
    }

    /// The ids of the labels whose decision is positive.
    pub fn predict_labels(&self, features: &[f32]) -> Result<Vec<String>, HeadsError> {
        Ok(self
            .predict(features)?
            .into_iter()
            .filter(|p| p.decision)
            .map(|p| p.label.to_string())
            .collect())
    }

    /// ECE (10 bins) of the calibrated and of the uncalibrated probabilities
    /// on a labelled set, per label and over all (example, label) pairs.
    /// `labels[i][k]` is whether example `i` carries the `k`-th label of
    /// these heads.
    pub fn calibration_report(
        &self,
        features: &[Vec<f32>],
        labels: &[Vec<bool>],
    ) -> Result<CalibrationReport, HeadsError> {
        if features.len() != labels.len() {
            return Err(HeadsError::InvalidInput(format!(
                "{} feature vectors but {} label rows",
                features.len(),
                labels.len()
            )));
        }
        let l = self.heads.len();
        if let Some((i, row)) = labels.iter().enumerate().find(|(_, r)| r.len() != l) {
            return Err(HeadsError::InvalidInput(format!(
                "label row {i} has {} entries, the heads have {l} labels",
                row.len()
            )));
        }
        let mut calibrated = vec![Vec::with_capacity(features.len()); l];
        let mut raw = vec![Vec::with_capacity(features.len()); l];
        for f in features {
            let x = self.standardize(f)?;
            for (k, h) in self.heads.iter().enumerate() {
                let z = h.logit(&x);
                calibrated[k].push(h.platt.probability(z));
                raw[k].push(sigmoid(z));
            }
        }
        let mut per_label = Vec::with_capacity(l);
        let (mut all_cal, mut all_raw, mut all_y) = (Vec::new(), Vec::new(), Vec::new());
        for (k, h) in self.heads.iter().enumerate() {
            let outcomes: Vec<bool> = labels.iter().map(|r| r[k]).collect();
            per_label.push(LabelCalibration {
                label: h.label.clone(),
                positives: outcomes.iter().filter(|&&o| o).count(),
                ece: expected_calibration_error(&calibrated[k], &outcomes),
                ece_uncalibrated: expected_calibration_error(&raw[k], &outcomes),
            });
            all_cal.extend_from_slice(&calibrated[k]);
            all_raw.extend_from_slice(&raw[k]);
            all_y.extend(outcomes);
        }
        Ok(CalibrationReport {
            examples: features.len(),
            labels: per_label,
            ece: expected_calibration_error(&all_cal, &all_y),
            ece_uncalibrated: expected_calibration_error(&all_raw, &all_y),
        })
    }

    /// Label ids, in output order.
    pub fn labels(&self) -> Vec<&str> {
        self.heads.iter().map(|h| h.label.as_str()).collect()
    }

    pub fn heads(&self) -> &[LabelHead] {
        &self.heads
    }

    pub fn encoder(&self) -> &EncoderInfo {
        &self.encoder
    }

    pub fn dimension(&self) -> usize {
        self.encoder.dimension
    }

    pub fn training_data_hash(&self) -> &str {
        &self.training_data_hash
    }

    pub fn options(&self) -> &TrainOptions {
        &self.options
    }

    /// Fails unless these heads were trained on features of the encoder
    /// `name` with `dimension` dimensions. Call it once when wiring heads to
    /// an encoder.
    pub fn check_encoder(&self, name: &str, dimension: usize) -> Result<(), HeadsError> {
        if self.encoder.name == name && self.encoder.dimension == dimension {
            Ok(())
        } else {
            Err(HeadsError::EncoderMismatch {
                expected: self.encoder.name.clone(),
                expected_dimension: self.encoder.dimension,
                actual: name.to_string(),
                actual_dimension: dimension,
            })
        }
    }

    /// The heads as compact JSON (format [`FORMAT`], version
    /// [`FORMAT_VERSION`]).
    pub fn to_json(&self) -> String {
        let file = HeadsFile {
            format: FORMAT.to_string(),
            version: FORMAT_VERSION,
            encoder: self.encoder.clone(),
            training_data_hash: self.training_data_hash.clone(),
            labels: self.heads.iter().map(|h| h.label.clone()).collect(),
            options: self.options.clone(),
            standardizer: self.standardizer.clone(),
            heads: self.heads.clone(),
        };
        serde_json::to_string(&file).expect("heads serialize")
    }

    /// Reads heads written by [`Heads::to_json`], checking the format tag
    /// and version first, then that every part is consistent: dimensions,
    /// label ids (valid, unique, matching the label list), finite numbers,
    /// positive scales and thresholds in `[0, 1]`.
    pub fn from_json(json: &str) -> Result<Heads, HeadsError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| HeadsError::Format(e.to_string()))?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            Some(other) => {
                return Err(HeadsError::Format(format!(
                    "format is `{other}`, expected `{FORMAT}`"
                )))
            }
            None => return Err(HeadsError::Format("missing `format`".into())),
        }
        let version = value
            .get("version")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| HeadsError::Format("missing or invalid `version`".into()))?;
        if version != u64::from(FORMAT_VERSION) {
            return Err(HeadsError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let file: HeadsFile =
            serde_json::from_value(value).map_err(|e| HeadsError::Format(e.to_string()))?;
        check_file(&file)?;
        Ok(Heads {
            encoder: file.encoder,
            training_data_hash: file.training_data_hash,
            options: file.options,
            standardizer: file.standardizer,
            heads: file.heads,
        })
    }

    /// Writes [`Heads::to_json`] to `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), HeadsError> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json()).map_err(|source| HeadsError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// Reads and checks a heads file (see [`Heads::from_json`]).
    pub fn load(path: impl AsRef<Path>) -> Result<Heads, HeadsError> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|source| HeadsError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Heads::from_json(&json)
    }

    fn standardize(&self, features: &[f32]) -> Result<Vec<f32>, HeadsError> {
        if features.len() != self.encoder.dimension {
            return Err(HeadsError::DimensionMismatch {
                expected: self.encoder.dimension,
                actual: features.len(),
            });
        }
        let mut x = vec![0f32; features.len()];
        self.standardizer.transform_into(features, &mut x);
        Ok(x)
    }
}

fn validate_options(opts: &TrainOptions) -> Result<(), HeadsError> {
    let bad = |m: String| Err(HeadsError::InvalidOptions(m));
    if !(opts.l2.is_finite() && opts.l2 >= 0.0) {
        return bad(format!(
            "l2 must be finite and non-negative, got {}",
            opts.l2
        ));
    }
    if opts.max_epochs == 0 {
        return bad("max_epochs must be at least 1".into());
    }
    if !(0.0..=0.5).contains(&opts.validation_fraction) {
        return bad(format!(
            "validation_fraction must be in [0, 0.5], got {}",
            opts.validation_fraction
        ));
    }
    match opts.calibration {
        CalibrationSplit::CrossFit { folds } if folds < 2 => {
            bad(format!("cross-fitting needs at least 2 folds, got {folds}"))
        }
        CalibrationSplit::HoldOut { fraction } if !(fraction > 0.0 && fraction <= 0.5) => bad(
            format!("hold-out fraction must be in (0, 0.5], got {fraction}"),
        ),
        _ => Ok(()),
    }
}

/// Checks shapes and values; returns the feature dimension.
fn validate_input(
    features: &[Vec<f32>],
    labels: &[Vec<bool>],
    label_ids: &[String],
    provenance: &Provenance,
) -> Result<usize, HeadsError> {
    let bad = |m: String| Err(HeadsError::InvalidInput(m));
    if provenance.encoder.trim().is_empty() {
        return bad("the encoder name is empty".into());
    }
    check_label_ids(label_ids).map_err(HeadsError::InvalidInput)?;
    let Some(first) = features.first() else {
        return bad("no examples".into());
    };
    let d = first.len();
    if d == 0 {
        return bad("feature vectors are empty".into());
    }
    if labels.len() != features.len() {
        return bad(format!(
            "{} feature vectors but {} label rows",
            features.len(),
            labels.len()
        ));
    }
    for (i, (f, y)) in features.iter().zip(labels).enumerate() {
        if f.len() != d {
            return bad(format!(
                "feature vector {i} has {} dimensions, the first has {d}",
                f.len()
            ));
        }
        if f.iter().any(|v| !v.is_finite()) {
            return bad(format!("feature vector {i} has a non-finite value"));
        }
        if y.len() != label_ids.len() {
            return bad(format!(
                "label row {i} has {} entries for {} label ids",
                y.len(),
                label_ids.len()
            ));
        }
    }
    Ok(d)
}

fn check_label_ids(label_ids: &[String]) -> Result<(), String> {
    if label_ids.is_empty() {
        return Err("no label ids".into());
    }
    let mut seen = HashSet::new();
    for id in label_ids {
        if !taxonomy::is_valid_label_id(id) {
            return Err(format!("invalid label id `{id}`"));
        }
        if !seen.insert(id.as_str()) {
            return Err(format!("duplicate label id `{id}`"));
        }
    }
    Ok(())
}

fn check_file(file: &HeadsFile) -> Result<(), HeadsError> {
    let bad = |m: String| Err(HeadsError::Format(m));
    let d = file.encoder.dimension;
    if d == 0 || file.encoder.name.trim().is_empty() {
        return bad("encoder name and dimension are required".into());
    }
    if file.standardizer.mean.len() != d || file.standardizer.scale.len() != d {
        return bad(format!("standardizer does not have {d} dimensions"));
    }
    if file.standardizer.mean.iter().any(|m| !m.is_finite())
        || file
            .standardizer
            .scale
            .iter()
            .any(|s| !(s.is_finite() && *s > 0.0))
    {
        return bad("standardizer has non-finite means or non-positive scales".into());
    }
    check_label_ids(&file.labels).map_err(HeadsError::Format)?;
    if file.labels.len() != file.heads.len()
        || file
            .labels
            .iter()
            .zip(&file.heads)
            .any(|(l, h)| *l != h.label)
    {
        return bad("`labels` does not match the heads".into());
    }
    for h in &file.heads {
        if h.weights.len() != d {
            return bad(format!(
                "head `{}` has {} weights, expected {d}",
                h.label,
                h.weights.len()
            ));
        }
        if h.weights.iter().any(|w| !w.is_finite())
            || !h.bias.is_finite()
            || !h.platt.a.is_finite()
            || !h.platt.b.is_finite()
        {
            return bad(format!("head `{}` has non-finite parameters", h.label));
        }
        if !(0.0..=1.0).contains(&h.threshold) {
            return bad(format!(
                "head `{}` has threshold {} outside [0, 1]",
                h.label, h.threshold
            ));
        }
    }
    Ok(())
}
