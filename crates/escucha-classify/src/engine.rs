//! The cue engine: lexicon matching with negation, contrast, sarcasm and
//! intensity rules.
//!
//! For each text the engine
//!
//! 1. normalises it (see [`crate::normalise`]) and finds every cue and grammar
//!    phrase of the text's language with one Aho-Corasick pass;
//! 2. drops cues contained in a longer cue (`sigue sin funcionar` beats
//!    `funcionar`);
//! 3. splits the text into clauses at punctuation, line breaks and clause
//!    markers (`pero`, `but`, `mas`, `porém`, `sin embargo`, `and`…): both
//!    sides of a contrast keep their labels;
//! 4. vetoes a cue when a negator (`no`, `didn't`, `não precisei`…) precedes it
//!    within the negation window inside the same clause. Cues that contain a
//!    negator themselves (`no me llamaron`, `still not working`) are never
//!    vetoed. Words of a cue already vetoed do not count towards the window,
//!    so `never had to wait on hold` vetoes both `wait` and `on hold`;
//! 5. vetoes loyalty emotions in a sentence holding a sarcasm phrase
//!    (`thanks for nothing`, `great, another…`), and thanks followed by `for`
//!    / `por` and a complaint (`thanks for keeping me on hold`);
//! 6. scores every label from its cues: each distinct cue brings its weight,
//!    raised by an intensifier right before it (`muy`, `re`, `so`), by being
//!    written in capitals and by repetition; weights combine as
//!    `1 - Π(1 - w)`. Anger is further raised by shouting (several words in
//!    capitals) and by runs of `!!!`, and shouting alone turns a complaint
//!    into anger;
//! 7. drops gratitude that rests only on a courtesy formula (`gracias`,
//!    `thanks in advance`) closing a complaint;
//! 8. emits the labels whose confidence reaches the threshold, with the
//!    character spans of their cues in the original text.

use crate::lang::detect_normalised;
use crate::lexicon::{Cue, Grammar, Lexicon, LexiconError, LexiconLanguage, Part, Pattern};
use crate::normalise::{normalise, Normalized, TokenKind};
use aho_corasick::{AhoCorasick, MatchKind};
use escucha_core::{taxonomy, Classification, Classifier, Label, Language, Span, TextInput};
use std::collections::{BTreeMap, HashMap};

/// Name and version of the engine, stored with every label.
pub const ENGINE: &str = "cues-1";

/// Default minimum confidence for a label to be emitted.
pub const DEFAULT_MIN_CONFIDENCE: f32 = 0.5;

/// Built-in lexicons, embedded in the binary.
const BUILTIN: [&str; 4] = [
    include_str!("../lexicon/es.toml"),
    include_str!("../lexicon/pt.toml"),
    include_str!("../lexicon/en.toml"),
    include_str!("../lexicon/common.toml"),
];

/// Boost from an intensifier right before a cue.
const INTENSIFIER_BOOST: f32 = 0.25;
/// Boost for a cue written in capitals.
const CAPS_BOOST: f32 = 0.25;
/// Boost for a cue found more than once.
const REPEAT_BOOST: f32 = 0.2;
/// Boost of anger for a shouted text, and for a run of `!!!`.
const SHOUT_BOOST: f32 = 0.3;
const EXCLAIM_BOOST: f32 = 0.3;
/// Confidence of anger inferred from a shouted complaint without anger cues.
const SHOUTED_ANGER: f32 = 0.55;
/// How far after `for` / `por` a complaint makes thanks sarcastic, in tokens.
const SARCASM_LINK_REACH: usize = 4;
/// How far before a cue an intensifier counts, in tokens.
const INTENSIFIER_REACH: usize = 2;
/// Letters a word needs to count as shouted.
const SHOUT_MIN_LETTERS: u16 = 4;

/// A classifier that labels texts from lexicons of cue phrases.
///
/// Built from the embedded Spanish, Portuguese and English lexicons with
/// [`CueClassifier::builtin`], or from custom lexicon files with
/// [`CueClassifier::from_lexicon_toml`] / [`CueClassifier::from_lexicons`].
///
/// Language: the text's declared language is used when it is `es`, `pt` or
/// `en`; otherwise it is detected with [`crate::detect_language`]. The
/// lexicon of that language (plus the language-independent ones, such as
/// emoji) is applied. When the language is `Other`, or no lexicon exists for
/// it, every lexicon is tried and the results merged, because customers mix
/// languages; the reported language stays `Other` in that case.
#[derive(Debug)]
pub struct CueClassifier {
    models: Vec<(Language, Model)>,
    min_confidence: f32,
}

impl CueClassifier {
    /// The classifier with the built-in lexicons for es, pt and en.
    pub fn builtin() -> CueClassifier {
        CueClassifier::from_lexicons(&BUILTIN).expect("the built-in lexicons are valid")
    }

    /// A classifier from a single lexicon document (see [`crate::lexicon`] for
    /// the format). A lexicon with `language = "any"` applies to every text.
    pub fn from_lexicon_toml(src: &str) -> Result<CueClassifier, LexiconError> {
        CueClassifier::from_lexicons(&[src])
    }

    /// A classifier from several lexicon documents. Documents with the same
    /// language are merged; `any` documents are merged into every language.
    pub fn from_lexicons(sources: &[&str]) -> Result<CueClassifier, LexiconError> {
        if sources.is_empty() {
            return Err(LexiconError::NoLexicon);
        }
        let lexicons = sources
            .iter()
            .map(|s| Lexicon::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        let mut languages: Vec<LexiconLanguage> = lexicons
            .iter()
            .map(|l| l.language)
            .filter(|&l| l != LexiconLanguage::Any)
            .collect();
        languages.sort();
        languages.dedup();
        let mut models = Vec::new();
        if languages.is_empty() {
            let all: Vec<&Lexicon> = lexicons.iter().collect();
            models.push((Language::Other, Model::build(&all)?));
        }
        for language in languages {
            let parts: Vec<&Lexicon> = lexicons
                .iter()
                .filter(|l| l.language == LexiconLanguage::Any)
                .chain(lexicons.iter().filter(|l| l.language == language))
                .collect();
            let lang = match language {
                LexiconLanguage::Es => Language::Es,
                LexiconLanguage::Pt => Language::Pt,
                LexiconLanguage::En => Language::En,
                LexiconLanguage::Any => Language::Other,
            };
            models.push((lang, Model::build(&parts)?));
        }
        Ok(CueClassifier {
            models,
            min_confidence: DEFAULT_MIN_CONFIDENCE,
        })
    }

    /// Sets the minimum confidence for a label to be emitted (clamped to
    /// [0, 1]; default [`DEFAULT_MIN_CONFIDENCE`]).
    pub fn with_min_confidence(mut self, min_confidence: f32) -> CueClassifier {
        self.min_confidence = min_confidence.clamp(0.0, 1.0);
        self
    }

    /// The minimum confidence for a label to be emitted.
    pub fn min_confidence(&self) -> f32 {
        self.min_confidence
    }

    /// Label ids this classifier can emit, sorted.
    pub fn labels(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .models
            .iter()
            .flat_map(|(_, m)| m.labels.iter().map(|l| l.id.as_str()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

impl Classifier for CueClassifier {
    fn engine(&self) -> &str {
        ENGINE
    }

    fn classify(&self, input: TextInput<'_>) -> Classification {
        self.classify_with_vetoes(input).0
    }
}

impl CueClassifier {
    /// The classification, and the labels whose every cue in the text was
    /// vetoed — by a negator before it in its clause ("no tuve que
    /// esperar") or by sarcasm — and that no other cue supports: the cue
    /// engine is sure the text does not say them, so the layered engine
    /// does not let a head emit them on its own.
    pub fn classify_with_vetoes(&self, input: TextInput<'_>) -> (Classification, Vec<String>) {
        let norm = normalise(input.text);
        let language = match input.language {
            Some(l) if l != Language::Other => l,
            _ => detect_normalised(input.text, &norm),
        };
        let own = self.models.iter().find(|(l, _)| *l == language);
        let mut vetoed: Vec<String> = Vec::new();
        let found: Vec<Found> = match own {
            Some((_, model)) => {
                let a = model.analyse(&norm, self.min_confidence);
                vetoed = a.vetoed;
                a.found
            }
            None => {
                let mut merged: BTreeMap<String, Found> = BTreeMap::new();
                for (_, model) in &self.models {
                    let a = model.analyse(&norm, self.min_confidence);
                    vetoed.extend(a.vetoed);
                    for f in a.found {
                        match merged.get_mut(&f.id) {
                            Some(m) => {
                                m.confidence = m.confidence.max(f.confidence);
                                m.spans.extend(f.spans);
                            }
                            None => {
                                merged.insert(f.id.clone(), f);
                            }
                        }
                    }
                }
                vetoed.retain(|v| !merged.contains_key(v));
                merged.into_values().collect()
            }
        };
        vetoed.sort_unstable();
        vetoed.dedup();
        let mut emotions = Vec::new();
        let mut themes = Vec::new();
        for mut f in found {
            f.spans.sort_unstable();
            f.spans.dedup();
            let label = Label {
                label: f.id,
                confidence: (f.confidence * 1000.0).round() / 1000.0,
                evidence: f.spans,
            };
            if taxonomy::is_emotion(&label.label) {
                emotions.push(label);
            } else {
                themes.push(label);
            }
        }
        for list in [&mut emotions, &mut themes] {
            list.sort_by(|a, b| {
                b.confidence
                    .total_cmp(&a.confidence)
                    .then_with(|| a.label.cmp(&b.label))
            });
        }
        let classification = Classification {
            language,
            emotions,
            themes,
            engine: ENGINE.to_string(),
        };
        (classification, vetoed)
    }
}

/// What one language's lexicon finds in a text.
struct Analysed {
    found: Vec<Found>,
    /// Ids of labels with cues in the text, all of them vetoed, and no cue
    /// left standing.
    vetoed: Vec<String>,
}

/// A label found in a text, before it becomes a [`Label`].
#[derive(Debug)]
struct Found {
    id: String,
    confidence: f32,
    spans: Vec<Span>,
}

/// What a label is, for the rules that depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Surprise, familiarity, relief, gratitude, belonging.
    Loyalty,
    /// Frustration, anger, anxiety, confusion, disappointment.
    Negative,
    /// Process gaps and custom themes.
    Theme,
}

#[derive(Debug)]
struct LabelInfo {
    id: String,
    class: Class,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Cue {
        label: usize,
        weight: f32,
        negatable: bool,
    },
    Negator,
    ClauseMarker,
    Intensifier,
    Sarcasm,
    SarcasmLink,
    Courtesy,
}

#[derive(Debug)]
struct Entry {
    kind: Kind,
    pattern: Pattern,
}

/// A match of an entry over tokens `first..=last`.
#[derive(Debug, Clone, Copy)]
struct Hit {
    entry: usize,
    first: usize,
    last: usize,
}

/// The compiled lexicons of one language.
#[derive(Debug)]
struct Model {
    automaton: AhoCorasick,
    /// Automaton pattern → entries whose pattern starts with it.
    by_head: Vec<Vec<usize>>,
    entries: Vec<Entry>,
    labels: Vec<LabelInfo>,
    negation_window: usize,
    gratitude: Option<usize>,
    anger: Option<usize>,
}

impl Model {
    fn build(lexicons: &[&Lexicon]) -> Result<Model, LexiconError> {
        let mut grammar = Grammar::default();
        let mut cues: BTreeMap<&str, Vec<&Cue>> = BTreeMap::new();
        for lex in lexicons {
            grammar.merge(&lex.grammar);
            for (id, list) in &lex.labels {
                cues.entry(id.as_str()).or_default().extend(list.iter());
            }
        }
        let mut labels = Vec::new();
        let mut entries: Vec<Entry> = Vec::new();
        for (id, list) in cues {
            let class = if taxonomy::LOYALTY_EMOTIONS.contains(&id) {
                Class::Loyalty
            } else if taxonomy::is_emotion(id) {
                Class::Negative
            } else {
                Class::Theme
            };
            let label = labels.len();
            labels.push(LabelInfo {
                id: id.to_string(),
                class,
            });
            // The same phrase listed twice (or by two merged lexicons) is one
            // cue with the larger weight, not two pieces of evidence.
            let mut seen: HashMap<(&str, &[Part]), usize> = HashMap::new();
            for cue in list {
                let key = (cue.pattern.head.as_str(), cue.pattern.rest.as_slice());
                if let Some(&i) = seen.get(&key) {
                    if let Kind::Cue {
                        weight, negatable, ..
                    } = &mut entries[i].kind
                    {
                        *weight = weight.max(cue.weight);
                        *negatable &= cue.negatable;
                    }
                    continue;
                }
                seen.insert(key, entries.len());
                entries.push(Entry {
                    kind: Kind::Cue {
                        label,
                        weight: cue.weight,
                        negatable: cue.negatable,
                    },
                    pattern: cue.pattern.clone(),
                });
            }
        }
        let grammar_lists = [
            (Kind::Negator, &grammar.negators),
            (Kind::ClauseMarker, &grammar.clause_markers),
            (Kind::Intensifier, &grammar.intensifiers),
            (Kind::Sarcasm, &grammar.sarcasm),
            (Kind::SarcasmLink, &grammar.sarcasm_links),
            (Kind::Courtesy, &grammar.courtesy),
        ];
        for (kind, list) in grammar_lists {
            entries.extend(list.iter().map(|p| Entry {
                kind,
                pattern: p.clone(),
            }));
        }
        let mut heads: Vec<&str> = Vec::new();
        let mut head_index: HashMap<&str, usize> = HashMap::new();
        let mut by_head: Vec<Vec<usize>> = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let h = *head_index
                .entry(e.pattern.head.as_str())
                .or_insert_with(|| {
                    heads.push(e.pattern.head.as_str());
                    by_head.push(Vec::new());
                    heads.len() - 1
                });
            by_head[h].push(i);
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&heads)
            .map_err(|e| LexiconError::Matcher(e.to_string()))?;
        let find = |id: &str| labels.iter().position(|l| l.id == id);
        let gratitude = find("gratitude");
        let anger = find("anger");
        Ok(Model {
            automaton,
            by_head,
            entries,
            negation_window: grammar
                .negation_window
                .unwrap_or(crate::lexicon::DEFAULT_NEGATION_WINDOW),
            labels,
            gratitude,
            anger,
        })
    }

    /// Every entry matched in `norm`.
    fn hits(&self, norm: &Normalized) -> Vec<Hit> {
        let text = norm.text.as_str();
        let bytes = text.as_bytes();
        let mut hits = Vec::new();
        for m in self.automaton.find_overlapping_iter(text) {
            let start = m.start();
            if start > 0 && bytes[start - 1] != b' ' {
                continue;
            }
            let Some(first) = norm.token_starting_at(start) else {
                continue;
            };
            for &entry in &self.by_head[m.pattern().as_usize()] {
                let end = self.entries[entry].pattern.match_rest(text, m.end());
                if let Some(last) = end.and_then(|e| norm.token_ending_at(e)) {
                    hits.push(Hit { entry, first, last });
                }
            }
        }
        hits
    }

    /// Labels of `norm` reaching `min_confidence`.
    fn analyse(&self, norm: &Normalized, min_confidence: f32) -> Analysed {
        if norm.tokens.is_empty() {
            return Analysed {
                found: Vec::new(),
                vetoed: Vec::new(),
            };
        }
        let mut text = Analysis::new(norm);
        let mut cues = Vec::new();
        for hit in self.hits(norm) {
            let range = hit.first..=hit.last;
            match self.entries[hit.entry].kind {
                Kind::Cue { .. } => cues.push(hit),
                Kind::Negator => text.negators.push(hit),
                Kind::ClauseMarker => range.for_each(|t| text.boundary[t] = true),
                Kind::Intensifier => range.for_each(|t| text.intensifier[t] = true),
                Kind::SarcasmLink => range.for_each(|t| text.link[t] = true),
                Kind::Sarcasm => text.sarcastic.push(text.sentence[hit.first]),
                Kind::Courtesy => text.courtesy.push((hit.first, hit.last)),
            }
        }
        // "sin" in "sin embargo" is part of a clause marker, not a negator.
        let boundary = &text.boundary;
        text.negators
            .retain(|h| !(h.first..=h.last).any(|t| boundary[t]));
        for hit in &text.negators {
            (hit.first..=hit.last).for_each(|t| text.negator[t] = true);
        }

        let cues = drop_contained(cues);
        let mut vetoed = self.negation_and_sarcasm(&text, &cues);
        self.sarcastic_thanks(&text, &cues, &mut vetoed);
        let label_of = |hit: &Hit| match self.entries[hit.entry].kind {
            Kind::Cue { label, .. } => Some(label),
            _ => None,
        };
        let mut vetoed_labels: Vec<usize> = Vec::new();
        let mut kept: Vec<Hit> = Vec::new();
        for (hit, v) in cues.into_iter().zip(vetoed) {
            if v {
                vetoed_labels.extend(label_of(&hit));
            } else {
                kept.push(hit);
            }
        }
        vetoed_labels.retain(|l| !kept.iter().any(|h| label_of(h) == Some(*l)));
        vetoed_labels.sort_unstable();
        vetoed_labels.dedup();
        let mut scores = self.score(&text, &kept);
        self.shouted_anger(&text, &mut scores, min_confidence);
        scores.retain(|s| s.confidence >= min_confidence);
        self.drop_courtesy(&mut scores);
        Analysed {
            found: scores
                .into_iter()
                .map(|s| Found {
                    id: self.labels[s.label].id.clone(),
                    confidence: s.confidence.min(0.99),
                    spans: s.spans,
                })
                .collect(),
            vetoed: vetoed_labels
                .into_iter()
                .map(|l| self.labels[l].id.clone())
                .collect(),
        }
    }

    /// Which cues are vetoed by a negator before them in their clause, or by
    /// sarcasm in their sentence (loyalty emotions only). `cues` are sorted.
    fn negation_and_sarcasm(&self, text: &Analysis<'_>, cues: &[Hit]) -> Vec<bool> {
        let tokens = &text.norm.tokens;
        let mut vetoed = vec![false; cues.len()];
        // Tokens of vetoed cues do not count towards the window, so one
        // negator reaches a chain of cues ("never had to wait on hold").
        let mut vetoed_cover = vec![false; tokens.len()];
        for (k, hit) in cues.iter().enumerate() {
            let Kind::Cue {
                label, negatable, ..
            } = self.entries[hit.entry].kind
            else {
                continue;
            };
            // A cue holding a whole negator carries its own negation.
            let bearing = text
                .negators
                .iter()
                .any(|n| n.first >= hit.first && n.last <= hit.last);
            let mut veto = false;
            if negatable && !bearing && tokens[hit.first].kind == TokenKind::Word {
                let mut t = hit.first;
                let mut counted = 0;
                while t > 0 && counted < self.negation_window {
                    t -= 1;
                    if text.boundary[t] {
                        break;
                    }
                    if text.negator[t] {
                        veto = true;
                        break;
                    }
                    if !vetoed_cover[t] {
                        counted += 1;
                    }
                }
            }
            if self.labels[label].class == Class::Loyalty
                && text.sarcastic.contains(&text.sentence[hit.first])
            {
                veto = true;
            }
            if veto {
                vetoed[k] = true;
                (hit.first..=hit.last).for_each(|t| vetoed_cover[t] = true);
            }
        }
        vetoed
    }

    /// Vetoes thanks followed by `for` / `por` and, within a few words of the
    /// same sentence, a complaint: "gracias por tenerme una hora en espera".
    fn sarcastic_thanks(&self, text: &Analysis<'_>, cues: &[Hit], vetoed: &mut [bool]) {
        let Some(gratitude) = self.gratitude else {
            return;
        };
        let n = text.norm.tokens.len();
        for k in 0..cues.len() {
            let h = cues[k];
            if vetoed[k] || self.label_of(&h) != gratitude {
                continue;
            }
            let at = if text.link[h.last] {
                h.last
            } else if h.last + 1 < n && text.link[h.last + 1] {
                h.last + 1
            } else {
                continue;
            };
            let complaint = cues.iter().enumerate().any(|(j, c)| {
                !vetoed[j]
                    && self.labels[self.label_of(c)].class != Class::Loyalty
                    && c.first > at
                    && c.first <= at + SARCASM_LINK_REACH
                    && text.sentence[c.first] == text.sentence[at]
            });
            if complaint {
                vetoed[k] = true;
            }
        }
    }

    /// Confidence of every label with a kept cue.
    fn score(&self, text: &Analysis<'_>, kept: &[Hit]) -> Vec<Score> {
        /// What the cues of one label add up to.
        struct Tally {
            /// Entry → (best weight, occurrences).
            cues: BTreeMap<usize, (f32, u32)>,
            spans: Vec<Span>,
            courtesy_only: bool,
        }
        let tokens = &text.norm.tokens;
        let mut tallies: BTreeMap<usize, Tally> = BTreeMap::new();
        for hit in kept {
            let Kind::Cue { label, weight, .. } = self.entries[hit.entry].kind else {
                continue;
            };
            let mut boost = 0.0;
            if text.intensified(hit.first) {
                boost += INTENSIFIER_BOOST;
            }
            if (hit.first..=hit.last).any(|t| tokens[t].is_shouted(SHOUT_MIN_LETTERS)) {
                boost += CAPS_BOOST;
            }
            let tally = tallies.entry(label).or_insert_with(|| Tally {
                cues: BTreeMap::new(),
                spans: Vec::new(),
                courtesy_only: true,
            });
            let cue = tally.cues.entry(hit.entry).or_insert((0.0, 0));
            cue.0 = cue.0.max(raise(weight, boost));
            cue.1 += 1;
            tally.spans.push(Span::new(
                tokens[hit.first].orig_start,
                tokens[hit.last].orig_end,
            ));
            tally.courtesy_only &= text.courtesy.contains(&(hit.first, hit.last));
        }
        tallies
            .into_iter()
            .map(|(label, tally)| {
                let miss: f32 = tally
                    .cues
                    .values()
                    .map(|&(w, count)| 1.0 - if count > 1 { raise(w, REPEAT_BOOST) } else { w })
                    .product();
                let mut confidence = 1.0 - miss;
                if Some(label) == self.anger {
                    let boost = if text.shouting { SHOUT_BOOST } else { 0.0 }
                        + if text.exclaiming { EXCLAIM_BOOST } else { 0.0 };
                    confidence = raise(confidence, boost);
                }
                Score {
                    label,
                    confidence,
                    spans: tally.spans,
                    courtesy_only: tally.courtesy_only,
                }
            })
            .collect()
    }

    /// Shouting a complaint is anger even without an anger word.
    fn shouted_anger(&self, text: &Analysis<'_>, scores: &mut Vec<Score>, min_confidence: f32) {
        let Some(anger) = self.anger else {
            return;
        };
        if !text.shouting || scores.iter().any(|s| s.label == anger) {
            return;
        }
        let complaint = scores.iter().any(|s| {
            s.confidence >= min_confidence
                && (self.labels[s.label].class == Class::Theme
                    || matches!(
                        self.labels[s.label].id.as_str(),
                        "frustration" | "disappointment"
                    ))
        });
        if complaint {
            let boost = if text.exclaiming { EXCLAIM_BOOST } else { 0.0 };
            scores.push(Score {
                label: anger,
                confidence: raise(SHOUTED_ANGER, boost),
                spans: shouted_runs(text.norm),
                courtesy_only: false,
            });
        }
    }

    /// Drops gratitude resting only on a courtesy formula ("gracias",
    /// "thanks in advance") in a text that complains and shows no other
    /// loyalty emotion.
    fn drop_courtesy(&self, scores: &mut Vec<Score>) {
        let Some(gratitude) = self.gratitude else {
            return;
        };
        let class = |s: &Score| self.labels[s.label].class;
        let complaint = scores.iter().any(|s| class(s) != Class::Loyalty);
        let other_loyalty = scores
            .iter()
            .any(|s| s.label != gratitude && class(s) == Class::Loyalty);
        if complaint && !other_loyalty {
            scores.retain(|s| !(s.label == gratitude && s.courtesy_only));
        }
    }

    fn label_of(&self, hit: &Hit) -> usize {
        match self.entries[hit.entry].kind {
            Kind::Cue { label, .. } => label,
            _ => unreachable!("only cue hits carry a label"),
        }
    }
}

/// A label's score in one text.
#[derive(Debug)]
struct Score {
    label: usize,
    confidence: f32,
    spans: Vec<Span>,
    /// Whether every cue is a courtesy formula.
    courtesy_only: bool,
}

/// Per-token facts about one text.
struct Analysis<'a> {
    norm: &'a Normalized,
    /// Token ends a clause: punctuation, line break or clause marker.
    boundary: Vec<bool>,
    /// Sentence number of each token.
    sentence: Vec<u32>,
    negator: Vec<bool>,
    negators: Vec<Hit>,
    intensifier: Vec<bool>,
    link: Vec<bool>,
    /// Sentences holding a sarcasm phrase.
    sarcastic: Vec<u32>,
    /// Token ranges of courtesy formulas.
    courtesy: Vec<(usize, usize)>,
    /// Most words in capitals.
    shouting: bool,
    /// A run of `!!!` (or `?!?`).
    exclaiming: bool,
}

impl<'a> Analysis<'a> {
    fn new(norm: &'a Normalized) -> Analysis<'a> {
        let n = norm.tokens.len();
        let mut boundary = vec![false; n];
        let mut sentence = vec![0u32; n];
        let mut sid = 0u32;
        for (i, t) in norm.tokens.iter().enumerate() {
            match t.kind {
                TokenKind::Break => {
                    boundary[i] = true;
                    sentence[i] = sid;
                    sid += 1;
                }
                TokenKind::Punct => {
                    let p = norm.token_text(i);
                    boundary[i] = matches!(
                        p,
                        "," | "." | ";" | ":" | "!" | "?" | "¡" | "¿" | "…" | "(" | ")" | "-"
                    );
                    if matches!(p, "¡" | "¿") {
                        sid += 1;
                    }
                    sentence[i] = sid;
                    if matches!(p, "." | "!" | "?" | "…" | ";") {
                        sid += 1;
                    }
                }
                TokenKind::Word | TokenKind::Symbol => sentence[i] = sid,
            }
        }
        let words = norm
            .tokens
            .iter()
            .filter(|t| t.kind == TokenKind::Word)
            .count();
        let shouted = norm
            .tokens
            .iter()
            .filter(|t| t.is_shouted(SHOUT_MIN_LETTERS))
            .count();
        Analysis {
            norm,
            boundary,
            sentence,
            negator: vec![false; n],
            negators: Vec::new(),
            intensifier: vec![false; n],
            link: vec![false; n],
            sarcastic: Vec::new(),
            courtesy: Vec::new(),
            shouting: shouted >= 2 && shouted * 2 >= words,
            exclaiming: exclamation_run(norm) >= 3,
        }
    }

    /// Whether an intensifier stands right before token `first`, in its clause.
    fn intensified(&self, first: usize) -> bool {
        let mut t = first;
        for _ in 0..INTENSIFIER_REACH {
            if t == 0 || self.boundary[t - 1] {
                return false;
            }
            t -= 1;
            if self.intensifier[t] {
                return true;
            }
        }
        false
    }
}

/// Drops cues contained in a longer cue (a longer phrase says more:
/// `sigue sin funcionar` beats `funcionar`); returns the rest sorted.
fn drop_contained(cues: Vec<Hit>) -> Vec<Hit> {
    let mut kept: Vec<Hit> = cues
        .iter()
        .filter(|h| {
            !cues.iter().any(|o| {
                o.first <= h.first && o.last >= h.last && o.last - o.first > h.last - h.first
            })
        })
        .copied()
        .collect();
    kept.sort_by_key(|h| (h.first, h.last, h.entry));
    kept
}

/// Spans of the runs of words written in capitals that hold at least one
/// shouted word (`LLEVO TRES HORAS`, but not a lone `DNI`).
fn shouted_runs(norm: &Normalized) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut run: Option<(usize, usize, bool)> = None;
    let tokens = &norm.tokens;
    for (i, t) in tokens.iter().enumerate() {
        let capital = t.kind == TokenKind::Word && t.lower == 0 && t.upper > 0;
        if capital {
            let shouted = t.is_shouted(SHOUT_MIN_LETTERS);
            run = Some(match run {
                Some((first, _, any)) => (first, i, any || shouted),
                None => (i, i, shouted),
            });
        } else if let Some((first, last, any)) = run.take() {
            if any {
                spans.push(Span::new(tokens[first].orig_start, tokens[last].orig_end));
            }
        }
    }
    if let Some((first, last, true)) = run {
        spans.push(Span::new(tokens[first].orig_start, tokens[last].orig_end));
    }
    spans
}

/// Raises a weight towards 1 by `boost` (a fraction of what is missing).
fn raise(w: f32, boost: f32) -> f32 {
    w + (1.0 - w) * boost.min(0.9)
}

/// Longest run of consecutive `!` / `?` tokens that holds at least one `!`.
fn exclamation_run(norm: &Normalized) -> usize {
    let mut best = 0;
    let mut run = 0;
    let mut bang = false;
    for (i, t) in norm.tokens.iter().enumerate() {
        let mark = norm.token_text(i);
        if !matches!(mark, "!" | "¡" | "?" | "¿") {
            run = 0;
            bang = false;
            continue;
        }
        // Marks separated by a space ("hola!!! ¿qué?") are separate runs.
        let glued = i > 0 && norm.tokens[i - 1].orig_end == t.orig_start;
        if run > 0 && !glued {
            run = 0;
            bang = false;
        }
        run += 1;
        bang |= matches!(mark, "!" | "¡");
        if bang {
            best = best.max(run);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negated_cues_are_reported_as_vetoes() {
        let cues = CueClassifier::builtin();
        let es = |text: &str| {
            cues.classify_with_vetoes(TextInput {
                text,
                language: Some(Language::Es),
            })
        };
        let (c, vetoed) = es("No tuve que esperar nada, me atendieron enseguida");
        assert!(c.themes.iter().all(|l| l.label != "long_wait"));
        assert_eq!(vetoed, vec!["long_wait".to_string()]);
        // A cue left standing for the same label lifts the veto.
        let (c, vetoed) = es("Esperé una hora en línea y no me atendieron");
        assert!(c.themes.iter().any(|l| l.label == "long_wait"), "{c:?}");
        assert!(!vetoed.contains(&"long_wait".to_string()));
        let (_, vetoed) = cues.classify_with_vetoes(TextInput {
            text: "I never had to wait on hold, great service",
            language: Some(Language::En),
        });
        assert!(vetoed.contains(&"long_wait".to_string()), "{vetoed:?}");
    }

    #[test]
    fn raise_moves_towards_one_without_reaching_it() {
        assert_eq!(raise(0.5, 0.0), 0.5);
        assert!((raise(0.5, 0.5) - 0.75).abs() < 1e-6);
        assert!(raise(0.9, 5.0) < 1.0);
    }

    #[test]
    fn exclamation_runs_need_a_bang() {
        assert_eq!(exclamation_run(&normalise("hola!!! ¿qué?")), 3);
        assert_eq!(exclamation_run(&normalise("what?!?!")), 4);
        assert_eq!(exclamation_run(&normalise("¿¿¿qué???")), 0);
        assert_eq!(exclamation_run(&normalise("sin signos")), 0);
    }

    #[test]
    fn shouted_runs_join_capital_words_and_skip_lone_acronyms() {
        let text = "el DNI no, ME COBRARON DOS VECES, qué ROBO";
        let spans: Vec<&str> = shouted_runs(&normalise(text))
            .iter()
            .map(|s| s.slice(text))
            .collect();
        assert_eq!(spans, vec!["ME COBRARON DOS VECES", "ROBO"]);
    }

    #[test]
    fn contained_cues_give_way_to_longer_ones() {
        let hit = |entry, first, last| Hit { entry, first, last };
        let kept = drop_contained(vec![hit(0, 2, 2), hit(1, 0, 3), hit(2, 3, 5), hit(3, 0, 3)]);
        let ranges: Vec<(usize, usize, usize)> =
            kept.iter().map(|h| (h.entry, h.first, h.last)).collect();
        // Same range, different cues: both stay. Partial overlap: both stay.
        assert_eq!(ranges, vec![(1, 0, 3), (3, 0, 3), (2, 3, 5)]);
    }

    #[test]
    fn duplicate_cues_are_merged_into_one() {
        let lexicon = r#"
            language = "en"
            [labels.anger]
            cues = [{ cue = "furious", weight = 0.5 }, { cue = "Furious", weight = 0.6 }]
        "#;
        let engine = CueClassifier::from_lexicon_toml(lexicon).unwrap();
        let out = engine.classify(TextInput {
            text: "I am furious",
            language: Some(Language::En),
        });
        // One cue of weight 0.6, not two cues combining to 0.8.
        assert_eq!(out.emotions[0].confidence, 0.6);
    }
}
