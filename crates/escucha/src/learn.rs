//! `escucha train` and `escucha eval`: the layered engine's heads are
//! trained on the project's labelled examples (and the English GoEmotions
//! train split for emotions), and any labelled JSON-lines file is measured
//! per label and per language.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use escucha_core::{Classifier, Language, TextInput};
use escucha_embed::SentenceEncoder;
use escucha_heads::{
    Dataset, Evaluation, Heads, LabelKind, Provenance, RowRoles, TrainOptions, DEFAULT_DEV_FRACTION,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// The project's labelled examples, relative to the repository root.
pub(crate) const LABELLED: &str = "crates/escucha-classify/data/labelled";

#[derive(Args)]
pub struct TrainArgs {
    /// Directory of labelled `*.jsonl` files (their train split is used).
    #[arg(long, default_value = LABELLED)]
    pub data: PathBuf,
    /// GoEmotions directory (train.tsv, emotions.txt); its train split is
    /// added to the emotion heads. Skipped when absent.
    #[arg(long, default_value = "../shared/data/goemotions")]
    pub goemotions: PathBuf,
    /// Where the heads are written (default: <models>/heads).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Sentence-encoder model directory (default: scripts/models.sh path).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Only GoEmotions texts carrying one of the mapped labels (drop its
    /// neutral and unmapped Reddit comments).
    #[arg(long)]
    pub goemotions_labelled_only: bool,
    /// Weight of each GoEmotions example in the emotion heads' loss (the
    /// project's examples weigh 1). Calibration and thresholds are always
    /// fitted on the project's examples only. The default was chosen with
    /// `--validate` and GoEmotions' dev split (see the README).
    #[arg(long, default_value_t = 0.3)]
    pub goemotions_weight: f32,
    /// Hold out a quarter of the train split, train on the rest and report
    /// macro-F1 on it, without writing heads: for choosing training options
    /// without looking at the dev split.
    #[arg(long)]
    pub validate: bool,
    /// Sentence encoder whose embeddings the heads are trained on.
    #[arg(long, value_enum, default_value = "use")]
    pub encoder: EncoderArg,
    /// Do nothing when the heads in the output directory were trained on
    /// this encoder and features from exactly this training data.
    #[arg(long, conflicts_with = "validate")]
    pub if_needed: bool,
}

/// The sentence encoders heads can be trained on.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EncoderArg {
    /// Universal Sentence Encoder multilingual (ONNX; the default engine).
    Use,
    /// all-MiniLM-L6-v2 through rust-bert (English only; built with `--features bert`).
    #[cfg(feature = "bert")]
    Minilm,
}

impl EncoderArg {
    /// Where `escucha train` writes heads for this encoder.
    pub fn default_heads_dir(self) -> PathBuf {
        let use_heads = escucha_classify::default_heads_dir();
        match self {
            EncoderArg::Use => use_heads,
            #[cfg(feature = "bert")]
            EncoderArg::Minilm => use_heads.with_file_name("heads-minilm"),
        }
    }

    /// Loads the encoder from `model` (default: where the set-up scripts
    /// install it). The pipeline-side options (one intra-op thread, one
    /// session or instance per core) apply.
    pub fn load(self, model: Option<PathBuf>) -> Result<Box<dyn SentenceEncoder>> {
        let sessions = escucha_embed::default_sessions();
        Ok(match self {
            EncoderArg::Use => {
                let dir = model.unwrap_or_else(escucha_embed::default_model_dir);
                let options = escucha_embed::EncoderOptions {
                    sessions,
                    ..Default::default()
                };
                Box::new(escucha_embed::UseEncoder::load_with(&dir, options)?)
            }
            #[cfg(feature = "bert")]
            EncoderArg::Minilm => {
                let dir = model.unwrap_or_else(escucha_bert::default_model_dir);
                let options = escucha_bert::BertOptions {
                    instances: sessions,
                    ..Default::default()
                };
                Box::new(escucha_bert::BertEncoder::load_with(&dir, options)?)
            }
        })
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum EngineArg {
    /// Encoder + trained heads + cues (the default engine).
    Layered,
    /// Cue phrases only.
    Cues,
    /// all-MiniLM-L6-v2 (rust-bert) + its heads (`escucha train --encoder minilm`) + cues.
    #[cfg(feature = "bert")]
    Bert,
}

#[derive(Args)]
pub struct EvalArgs {
    /// Labelled JSON lines {"text","lang","emotions","themes"}, or a
    /// GoEmotions .tsv (mapped to escucha's labels).
    pub file: Option<PathBuf>,
    /// Evaluate the dev split of the project's labelled examples.
    #[arg(long, conflicts_with = "file")]
    pub dev: bool,
    #[arg(long, value_enum, default_value = "layered")]
    pub engine: EngineArg,
    /// Print Markdown tables.
    #[arg(long)]
    pub markdown: bool,
    /// Heads directory (default: where `escucha train` writes them).
    #[arg(long)]
    pub heads: Option<PathBuf>,
}

pub(crate) fn load_labelled(dir: &Path) -> Result<Dataset> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no *.jsonl files in {}", dir.display());
    }
    let mut all: Option<Dataset> = None;
    for f in files {
        let d = Dataset::load_jsonl(&f)?;
        match &mut all {
            Some(a) => a.extend(d),
            None => all = Some(d),
        }
    }
    Ok(all.expect("at least one file"))
}

fn load_goemotions(path: &Path) -> Result<Dataset> {
    let dir = if path.is_dir() {
        path
    } else {
        path.parent().unwrap_or(Path::new("."))
    };
    let tsv_path = if path.is_dir() {
        path.join("train.tsv")
    } else {
        path.to_path_buf()
    };
    let tsv = std::fs::read_to_string(&tsv_path)
        .with_context(|| format!("reading {}", tsv_path.display()))?;
    let names = std::fs::read_to_string(dir.join("emotions.txt"))
        .with_context(|| format!("reading {}", dir.join("emotions.txt").display()))?;
    Ok(Dataset::from_goemotions(&tsv, &names)?)
}

/// The heads' input for every example: its embedding stacked with the cue
/// engine's confidences (see `escucha_classify::stack_features`).
fn features_of(encoder: &dyn SentenceEncoder, data: &Dataset) -> Result<Vec<Vec<f32>>> {
    let started = Instant::now();
    let cues = escucha_classify::CueClassifier::builtin();
    let mut out = Vec::with_capacity(data.len());
    for chunk in data.examples().chunks(256) {
        let texts: Vec<&str> = chunk.iter().map(|e| e.text.as_str()).collect();
        for (e, v) in chunk
            .iter()
            .zip(escucha_classify::embed_texts(encoder, &texts)?)
        {
            let c = cues.classify(TextInput {
                text: &e.text,
                language: (e.lang != Language::Other).then_some(e.lang),
            });
            out.push(escucha_classify::stack_features(&v.text, &c));
        }
        eprint!("\rembedded {}/{}", out.len(), data.len());
    }
    eprintln!(" in {:.1} s", started.elapsed().as_secs_f64());
    Ok(out)
}

pub fn train(args: TrainArgs) -> Result<ExitCode> {
    let out = args.out.unwrap_or_else(|| args.encoder.default_heads_dir());
    let encoder = args.encoder.load(args.model)?;
    let labelled = load_labelled(&args.data)?;
    let mut split = labelled.split(DEFAULT_DEV_FRACTION);
    if args.validate {
        // The dev split holds texts whose hash bucket is below 0.2; buckets
        // 0.2–0.4 of the train split become the validation set.
        split = split.train.split(DEFAULT_DEV_FRACTION * 2.0);
        eprintln!("validation mode: the dev split is not used");
    }
    eprintln!(
        "labelled examples: {} ({} train, {} dev held out)",
        labelled.len(),
        split.train.len(),
        split.dev.len()
    );
    let mut emotion_data = split.train.clone();
    let mut emotion_rows = RowRoles::uniform(split.train.len());
    if args.goemotions.exists() {
        let mut go = load_goemotions(&args.goemotions)?;
        if args.goemotions_labelled_only {
            let kept: Vec<_> = go
                .examples()
                .iter()
                .filter(|e| !e.emotions.is_empty())
                .cloned()
                .collect();
            go = Dataset::new(kept)?;
        }
        eprintln!(
            "GoEmotions train split: {} examples for the emotion heads",
            go.len()
        );
        emotion_rows
            .weight
            .extend(vec![args.goemotions_weight; go.len()]);
        emotion_rows.calibrate.extend(vec![false; go.len()]);
        emotion_data.extend(go);
    } else {
        eprintln!(
            "no GoEmotions data at {}; emotion heads use the project's examples only",
            args.goemotions.display()
        );
    }
    let theme_rows = RowRoles::uniform(split.train.len());
    // What the heads were trained on: the examples and, for emotions, the
    // weight GoEmotions had.
    let data_hash = |data: &Dataset, rows: &RowRoles| {
        if rows.calibrate.iter().all(|c| *c) {
            data.fingerprint()
        } else {
            format!(
                "{}-goemotions-weight-{}",
                data.fingerprint(),
                args.goemotions_weight
            )
        }
    };
    if args.if_needed {
        let feature = escucha_classify::feature_name(encoder.version());
        let dimension = encoder.dimension() + escucha_classify::CUE_FEATURES;
        let current = |file: &str, data: &Dataset, rows: &RowRoles| {
            Heads::load(out.join(file)).is_ok_and(|h| {
                h.check_encoder(&feature, dimension).is_ok()
                    && h.training_data_hash() == data_hash(data, rows)
            })
        };
        if current("emotions.json", &emotion_data, &emotion_rows)
            && current("themes.json", &split.train, &theme_rows)
        {
            println!(
                "heads in {} are up to date (same encoder, features and training data)",
                out.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
    }
    let mut trained = Vec::new();
    for (kind, data, rows, file) in [
        (
            LabelKind::Emotions,
            &emotion_data,
            &emotion_rows,
            "emotions.json",
        ),
        (LabelKind::Themes, &split.train, &theme_rows, "themes.json"),
    ] {
        let ids = kind.builtin_ids();
        eprintln!("training {file}: {} examples", data.len());
        let features = features_of(encoder.as_ref(), data)?;
        let labels = data.label_matrix(kind, &ids);
        let provenance = Provenance {
            encoder: escucha_classify::feature_name(encoder.version()),
            training_data_hash: data_hash(data, rows),
        };
        let started = Instant::now();
        let heads = Heads::train_weighted(
            &features,
            &labels,
            &ids,
            &provenance,
            &TrainOptions::default(),
            rows,
        )?;
        eprintln!("trained in {:.1} s", started.elapsed().as_secs_f64());
        let dev_features = features_of(encoder.as_ref(), &split.dev)?;
        let report =
            heads.calibration_report(&dev_features, &split.dev.label_matrix(kind, &ids))?;
        println!(
            "{file}: expected calibration error on the held-out split {:.3} (uncalibrated {:.3})",
            report.ece, report.ece_uncalibrated
        );
        trained.push((file, heads));
    }
    if args.validate {
        let mut heads = trained.into_iter().map(|(_, h)| h);
        let (emotions, themes) = (
            heads.next().expect("emotions"),
            heads.next().expect("themes"),
        );
        let engine = escucha_classify::LayeredClassifier::from_parts(encoder, emotions, themes);
        report(&engine, &split.dev, false)?;
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for (file, heads) in trained {
        heads.save(out.join(file))?;
    }
    println!("heads written to {}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// Loads the layered engine with the heads in `heads` (default: where
/// `escucha train` writes them).
pub fn layered(heads: Option<&Path>) -> Result<escucha_classify::LayeredClassifier> {
    let heads = heads.map_or_else(escucha_classify::default_heads_dir, Path::to_path_buf);
    Ok(escucha_classify::LayeredClassifier::load(
        &escucha_embed::default_model_dir(),
        &heads,
    )?)
}

/// The layered engine on all-MiniLM-L6-v2 (rust-bert) with the heads in
/// `heads` (default: where `escucha train --encoder minilm` writes them).
#[cfg(feature = "bert")]
pub fn bert_layered(heads: Option<&Path>) -> Result<escucha_classify::LayeredClassifier> {
    let heads = heads.map_or_else(|| EncoderArg::Minilm.default_heads_dir(), Path::to_path_buf);
    let encoder = EncoderArg::Minilm.load(None)?;
    Ok(escucha_classify::LayeredClassifier::with_encoder(
        encoder, &heads,
    )?)
}

pub fn eval(args: EvalArgs) -> Result<ExitCode> {
    let data = match (&args.file, args.dev) {
        (_, true) => {
            load_labelled(Path::new(LABELLED))?
                .split(DEFAULT_DEV_FRACTION)
                .dev
        }
        (Some(f), false) if f.extension().is_some_and(|e| e == "tsv") => load_goemotions(f)?,
        (Some(f), false) => Dataset::load_jsonl(f)?,
        (None, false) => bail!("give a labelled file or --dev"),
    };
    let engine: Box<dyn Classifier> = match args.engine {
        EngineArg::Layered => Box::new(layered(args.heads.as_deref())?),
        EngineArg::Cues => Box::new(escucha_classify::CueClassifier::builtin()),
        #[cfg(feature = "bert")]
        EngineArg::Bert => Box::new(bert_layered(args.heads.as_deref())?),
    };
    report(engine.as_ref(), &data, args.markdown)?;
    Ok(ExitCode::SUCCESS)
}

/// Classifies every example and prints the evaluation tables.
fn report(engine: &dyn Classifier, data: &Dataset, markdown: bool) -> Result<()> {
    let started = Instant::now();
    let mut emotions = Vec::with_capacity(data.len());
    let mut themes = Vec::with_capacity(data.len());
    for chunk in data.examples().chunks(64) {
        let inputs: Vec<TextInput<'_>> = chunk
            .iter()
            .map(|e| TextInput {
                text: &e.text,
                language: (e.lang != Language::Other).then_some(e.lang),
            })
            .collect();
        for c in engine.classify_batch(&inputs) {
            emotions.push(c.emotions.into_iter().map(|l| l.label).collect::<Vec<_>>());
            themes.push(c.themes.into_iter().map(|l| l.label).collect::<Vec<_>>());
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} examples, engine {}, {:.0} texts/s",
        data.len(),
        engine.engine(),
        data.len() as f64 / secs
    );
    for (kind, predictions, title) in [
        (LabelKind::Emotions, &emotions, "Emotions"),
        (LabelKind::Themes, &themes, "Themes"),
    ] {
        // Only labels present in the file's gold or predictions are averaged.
        let ids = kind.builtin_ids();
        let e = Evaluation::from_examples(data.examples(), kind, predictions, &ids)?;
        if e.labels.iter().all(|m| m.support == 0) {
            continue;
        }
        println!("\n{title}");
        if markdown {
            println!("{}", e.to_markdown());
        } else {
            println!("{e}");
        }
    }
    Ok(())
}
