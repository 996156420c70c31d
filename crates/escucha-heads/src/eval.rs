//! Multi-label evaluation: per-label precision, recall and F1, micro and
//! macro averages, macro-F1 per language and a confusion summary, with
//! fixed-width and Markdown renderings.
//!
//! Conventions (stated here because multi-label metrics vary between tools):
//! * precision is `TP / (TP + FP)`, recall `TP / (TP + FN)` and F1
//!   `2·TP / (2·TP + FP + FN)`; each is 0 when its denominator is 0;
//! * micro averages pool TP, FP and FN over all labels;
//! * macro averages are the plain mean over the labels that occur in the
//!   gold or the predictions of the set being averaged (a label with
//!   neither has no defined F1 and is left out); this matters for
//!   per-language figures, where some labels never occur;
//! * labels outside the evaluated label set are ignored on both sides.

use crate::dataset::{Example, LabelKind};
use escucha_core::Language;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::fmt::{self, Write as _};

/// Stands for "no label" in confusion summaries: nothing predicted in place
/// of a missed label, or a false positive on a text with no gold label.
pub const NO_LABEL: &str = "(none)";

/// How many entries each confusion list keeps.
pub const TOP_CONFUSIONS: usize = 3;

/// Gold and predicted labels of one text.
#[derive(Debug, Clone, Copy)]
pub struct EvalItem<'a> {
    pub lang: Language,
    pub gold: &'a [String],
    pub predicted: &'a [String],
}

/// The gold set and the predictions do not line up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{examples} gold examples but {predictions} predictions")]
pub struct LengthMismatch {
    pub examples: usize,
    pub predictions: usize,
}

/// Metrics of one label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelMetrics {
    pub label: String,
    /// Gold occurrences (`TP + FN`).
    pub support: usize,
    /// Predicted occurrences (`TP + FP`).
    pub predicted: usize,
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Averaged precision, recall and F1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Averages {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Figures restricted to the texts of one language.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LanguageMetrics {
    pub lang: Language,
    pub examples: usize,
    pub micro_f1: f64,
    pub macro_f1: f64,
    /// Labels the macro average is taken over.
    pub macro_labels: usize,
}

/// What goes wrong with one label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelConfusion {
    pub label: String,
    /// Texts where the label was gold but not predicted.
    pub missed: usize,
    /// Over those texts, the false positives predicted there (or
    /// [`NO_LABEL`] when there were none), most frequent first.
    pub predicted_instead: Vec<(String, usize)>,
    /// Texts where the label was predicted but not gold.
    pub false_positives: usize,
    /// Over those texts, their gold labels (or [`NO_LABEL`] for texts with
    /// none), most frequent first.
    pub gold_instead: Vec<(String, usize)>,
}

/// The evaluation of a set of predictions against gold labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub examples: usize,
    /// In the order of the evaluated label ids.
    pub labels: Vec<LabelMetrics>,
    pub micro: Averages,
    pub macro_avg: Averages,
    /// Labels the macro average is taken over.
    pub macro_labels: usize,
    /// Share of texts whose predicted set equals the gold set exactly.
    pub exact_match: f64,
    /// Languages present in the set, in `Language::ALL` order.
    pub by_language: Vec<LanguageMetrics>,
    /// Labels that were missed or falsely predicted at least once.
    pub confusions: Vec<LabelConfusion>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn occurs(&self) -> bool {
        self.tp + self.fp + self.fn_ > 0
    }
    fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }
    fn add(&mut self, o: &Counts) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
    }
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Micro averages and (macro averages, labels averaged) of per-label counts.
fn averages(counts: &[Counts]) -> (Averages, Averages, usize) {
    let mut total = Counts::default();
    counts.iter().for_each(|c| total.add(c));
    let micro = Averages {
        precision: total.precision(),
        recall: total.recall(),
        f1: total.f1(),
    };
    let active: Vec<&Counts> = counts.iter().filter(|c| c.occurs()).collect();
    let mean = |f: fn(&Counts) -> f64| {
        if active.is_empty() {
            0.0
        } else {
            active.iter().map(|c| f(c)).sum::<f64>() / active.len() as f64
        }
    };
    let macro_avg = Averages {
        precision: mean(Counts::precision),
        recall: mean(Counts::recall),
        f1: mean(Counts::f1),
    };
    (micro, macro_avg, active.len())
}

fn top(counts: BTreeMap<String, usize>) -> Vec<(String, usize)> {
    let mut v: Vec<(String, usize)> = counts.into_iter().collect();
    // Stable sort keeps the alphabetical order of the map among equal counts.
    v.sort_by_key(|entry| std::cmp::Reverse(entry.1));
    v.truncate(TOP_CONFUSIONS);
    v
}

impl Evaluation {
    /// Evaluates predictions for the labels in `label_ids`.
    pub fn compute<'a>(
        label_ids: &[String],
        items: impl IntoIterator<Item = EvalItem<'a>>,
    ) -> Evaluation {
        let l = label_ids.len();
        let mut counts = vec![Counts::default(); l];
        let mut by_lang: BTreeMap<Language, (usize, Vec<Counts>)> = BTreeMap::new();
        let mut instead: Vec<BTreeMap<String, usize>> = vec![BTreeMap::new(); l];
        let mut gold_instead: Vec<BTreeMap<String, usize>> = vec![BTreeMap::new(); l];
        let mut examples = 0;
        let mut exact = 0;

        for item in items {
            examples += 1;
            let in_set = |labels: &'a [String]| -> Vec<bool> {
                let set: HashSet<&str> = labels.iter().map(String::as_str).collect();
                label_ids
                    .iter()
                    .map(|id| set.contains(id.as_str()))
                    .collect()
            };
            let gold = in_set(item.gold);
            let pred = in_set(item.predicted);
            if gold == pred {
                exact += 1;
            }
            let lang = by_lang
                .entry(item.lang)
                .or_insert_with(|| (0, vec![Counts::default(); l]));
            lang.0 += 1;

            let names = |mask: &dyn Fn(usize) -> bool| -> Vec<&str> {
                (0..l)
                    .filter(|&k| mask(k))
                    .map(|k| label_ids[k].as_str())
                    .collect()
            };
            let false_pos = names(&|k| pred[k] && !gold[k]);
            let gold_names = names(&|k| gold[k]);

            for k in 0..l {
                let c = match (gold[k], pred[k]) {
                    (true, true) => Counts {
                        tp: 1,
                        ..Counts::default()
                    },
                    (false, true) => Counts {
                        fp: 1,
                        ..Counts::default()
                    },
                    (true, false) => Counts {
                        fn_: 1,
                        ..Counts::default()
                    },
                    (false, false) => continue,
                };
                counts[k].add(&c);
                lang.1[k].add(&c);
                let (target, names) = if c.fn_ == 1 {
                    (&mut instead[k], &false_pos)
                } else if c.fp == 1 {
                    (&mut gold_instead[k], &gold_names)
                } else {
                    continue;
                };
                if names.is_empty() {
                    *target.entry(NO_LABEL.to_string()).or_default() += 1;
                }
                for n in names {
                    *target.entry(n.to_string()).or_default() += 1;
                }
            }
        }

        let labels: Vec<LabelMetrics> = label_ids
            .iter()
            .zip(&counts)
            .map(|(id, c)| LabelMetrics {
                label: id.clone(),
                support: c.tp + c.fn_,
                predicted: c.tp + c.fp,
                true_positives: c.tp,
                false_positives: c.fp,
                false_negatives: c.fn_,
                precision: c.precision(),
                recall: c.recall(),
                f1: c.f1(),
            })
            .collect();
        let (micro, macro_avg, macro_labels) = averages(&counts);
        let by_language = by_lang
            .into_iter()
            .map(|(lang, (n, c))| {
                let (micro, macro_avg, macro_labels) = averages(&c);
                LanguageMetrics {
                    lang,
                    examples: n,
                    micro_f1: micro.f1,
                    macro_f1: macro_avg.f1,
                    macro_labels,
                }
            })
            .collect();
        let confusions = label_ids
            .iter()
            .zip(&counts)
            .zip(instead.into_iter().zip(gold_instead))
            .filter(|((_, c), _)| c.fp + c.fn_ > 0)
            .map(|((id, c), (inst, gold))| LabelConfusion {
                label: id.clone(),
                missed: c.fn_,
                predicted_instead: top(inst),
                false_positives: c.fp,
                gold_instead: top(gold),
            })
            .collect();

        Evaluation {
            examples,
            labels,
            micro,
            macro_avg,
            macro_labels,
            exact_match: ratio(exact, examples),
            by_language,
            confusions,
        }
    }

    /// Evaluates `predictions[i]` (label ids) against the `kind` labels of
    /// `examples[i]`.
    pub fn from_examples(
        examples: &[Example],
        kind: LabelKind,
        predictions: &[Vec<String>],
        label_ids: &[String],
    ) -> Result<Evaluation, LengthMismatch> {
        if examples.len() != predictions.len() {
            return Err(LengthMismatch {
                examples: examples.len(),
                predictions: predictions.len(),
            });
        }
        Ok(Evaluation::compute(
            label_ids,
            examples.iter().zip(predictions).map(|(ex, p)| EvalItem {
                lang: ex.lang,
                gold: ex.labels(kind),
                predicted: p,
            }),
        ))
    }

    /// The same report as `Display`, as Markdown tables.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "| label | support | predicted | precision | recall | F1 |\n|---|--:|--:|--:|--:|--:|"
        );
        for m in &self.labels {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {:.3} | {:.3} | {:.3} |",
                m.label, m.support, m.predicted, m.precision, m.recall, m.f1
            );
        }
        let support: usize = self.labels.iter().map(|m| m.support).sum();
        let predicted: usize = self.labels.iter().map(|m| m.predicted).sum();
        let _ = writeln!(
            s,
            "| **micro** | {support} | {predicted} | {:.3} | {:.3} | {:.3} |",
            self.micro.precision, self.micro.recall, self.micro.f1
        );
        let _ = writeln!(
            s,
            "| **macro** ({} labels) | | | {:.3} | {:.3} | {:.3} |",
            self.macro_labels, self.macro_avg.precision, self.macro_avg.recall, self.macro_avg.f1
        );
        let _ = writeln!(
            s,
            "\n{} examples, exact match {:.3}.\n",
            self.examples, self.exact_match
        );
        if !self.by_language.is_empty() {
            let _ = writeln!(
                s,
                "| language | examples | micro-F1 | macro-F1 | labels |\n|---|--:|--:|--:|--:|"
            );
            for l in &self.by_language {
                let _ = writeln!(
                    s,
                    "| {} | {} | {:.3} | {:.3} | {} |",
                    l.lang, l.examples, l.micro_f1, l.macro_f1, l.macro_labels
                );
            }
        }
        if !self.confusions.is_empty() {
            let _ = writeln!(
                s,
                "\n| label | missed | predicted instead | false positives | gold instead |\n|---|--:|---|--:|---|"
            );
            for c in &self.confusions {
                let _ = writeln!(
                    s,
                    "| `{}` | {} | {} | {} | {} |",
                    c.label,
                    c.missed,
                    list(&c.predicted_instead),
                    c.false_positives,
                    list(&c.gold_instead)
                );
            }
        }
        s
    }
}

fn list(entries: &[(String, usize)]) -> String {
    entries
        .iter()
        .map(|(l, n)| format!("{l} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self
            .labels
            .iter()
            .map(|m| m.label.chars().count())
            .max()
            .unwrap_or(0)
            .max("macro (99 labels)".len());
        writeln!(
            f,
            "{:<w$} {:>8} {:>9} {:>9} {:>7} {:>7}",
            "label", "support", "predicted", "precision", "recall", "f1"
        )?;
        for m in &self.labels {
            writeln!(
                f,
                "{:<w$} {:>8} {:>9} {:>9.3} {:>7.3} {:>7.3}",
                m.label, m.support, m.predicted, m.precision, m.recall, m.f1
            )?;
        }
        let support: usize = self.labels.iter().map(|m| m.support).sum();
        let predicted: usize = self.labels.iter().map(|m| m.predicted).sum();
        writeln!(
            f,
            "{:<w$} {:>8} {:>9} {:>9.3} {:>7.3} {:>7.3}",
            "micro", support, predicted, self.micro.precision, self.micro.recall, self.micro.f1
        )?;
        writeln!(
            f,
            "{:<w$} {:>8} {:>9} {:>9.3} {:>7.3} {:>7.3}",
            format!("macro ({} labels)", self.macro_labels),
            "",
            "",
            self.macro_avg.precision,
            self.macro_avg.recall,
            self.macro_avg.f1
        )?;
        writeln!(
            f,
            "{} examples, exact match {:.3}",
            self.examples, self.exact_match
        )?;
        if !self.by_language.is_empty() {
            writeln!(f)?;
            writeln!(
                f,
                "{:<8} {:>8} {:>8} {:>8} {:>6}",
                "language", "examples", "micro-F1", "macro-F1", "labels"
            )?;
            for l in &self.by_language {
                writeln!(
                    f,
                    "{:<8} {:>8} {:>8.3} {:>8.3} {:>6}",
                    l.lang.as_str(),
                    l.examples,
                    l.micro_f1,
                    l.macro_f1,
                    l.macro_labels
                )?;
            }
        }
        if !self.confusions.is_empty() {
            writeln!(f)?;
            writeln!(
                f,
                "confusions (missed → predicted instead; false positive ← gold instead)"
            )?;
            for c in &self.confusions {
                writeln!(
                    f,
                    "{:<w$} missed {:>4} → {}",
                    c.label,
                    c.missed,
                    list(&c.predicted_instead)
                )?;
                writeln!(
                    f,
                    "{:<w$} false+ {:>4} ← {}",
                    "",
                    c.false_positives,
                    list(&c.gold_instead)
                )?;
            }
        }
        Ok(())
    }
}
