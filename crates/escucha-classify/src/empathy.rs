//! Agent empathy: acknowledgement of the customer's feelings, apology,
//! ownership of the problem and reassurance, found in agent turns with the
//! cue engine and its own lexicons (`lexicon/empathy/*.toml`).

use crate::engine::CueClassifier;
use escucha_core::{Classifier, Label, Language, TextInput};

/// The empathy signals, in the order they are reported.
pub const EMPATHY_SIGNALS: [&str; 4] = ["acknowledgement", "apology", "ownership", "reassurance"];

const LEXICONS: [&str; 3] = [
    include_str!("../lexicon/empathy/es.toml"),
    include_str!("../lexicon/empathy/pt.toml"),
    include_str!("../lexicon/empathy/en.toml"),
];

/// Finds empathy signals in agent turns.
#[derive(Debug)]
pub struct EmpathyDetector {
    engine: CueClassifier,
}

impl Default for EmpathyDetector {
    fn default() -> Self {
        Self::builtin()
    }
}

impl EmpathyDetector {
    pub fn builtin() -> EmpathyDetector {
        EmpathyDetector {
            engine: CueClassifier::from_lexicons(&LEXICONS)
                .expect("the built-in empathy lexicons are valid"),
        }
    }

    /// The signals in one agent turn, each with a confidence and the spans
    /// of the phrases that show it.
    pub fn signals(&self, text: &str, language: Option<Language>) -> Vec<Label> {
        let mut labels = self.engine.classify(TextInput { text, language }).themes;
        labels.sort_by_key(|l| EMPATHY_SIGNALS.iter().position(|s| *s == l.label));
        labels
    }
}

/// Conversation-level empathy in [0, 1] from the signals of each agent
/// turn: the mean over agent turns of the turn's strongest signal (0 for a
/// turn without any). `None` when there is no agent turn.
pub fn empathy_score(turns: &[Vec<Label>]) -> Option<f32> {
    if turns.is_empty() {
        return None;
    }
    let total: f32 = turns
        .iter()
        .map(|signals| signals.iter().map(|l| l.confidence).fold(0.0, f32::max))
        .sum();
    Some(total / turns.len() as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(d: &EmpathyDetector, text: &str) -> Vec<String> {
        d.signals(text, None).into_iter().map(|l| l.label).collect()
    }

    #[test]
    fn finds_each_signal_in_each_language() {
        let d = EmpathyDetector::builtin();
        assert_eq!(
            ids(&d, "Entiendo lo frustrante que es, lamento mucho la demora. Yo me encargo personalmente, no se preocupe."),
            EMPATHY_SIGNALS
        );
        assert_eq!(
            ids(&d, "Sinto muito pelo transtorno, entendo perfeitamente. Vou resolver isso para você, fique tranquila."),
            EMPATHY_SIGNALS
        );
        assert_eq!(
            ids(&d, "I completely understand, and I'm so sorry about this. Let me look into it right now, rest assured."),
            EMPATHY_SIGNALS
        );
    }

    #[test]
    fn everyday_service_phrasing_counts() {
        let d = EmpathyDetector::builtin();
        assert_eq!(
            ids(&d, "Entiendo su preocupación, vamos a revisarlo juntos."),
            ["acknowledgement", "ownership"]
        );
        assert_eq!(
            ids(&d, "I understand your concern, let's look at it together."),
            ["acknowledgement", "ownership"]
        );
        assert_eq!(
            ids(&d, "Entendo sua preocupação, vamos ver isso juntos."),
            ["acknowledgement", "ownership"]
        );
    }

    #[test]
    fn scripted_or_cold_turns_show_no_empathy() {
        let d = EmpathyDetector::builtin();
        for text in [
            "Su número de cliente, por favor.",
            "Informe o CPF do titular.",
            "That is our policy. Anything else?",
            "Tiene que llamar al otro número.",
        ] {
            assert!(ids(&d, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn evidence_points_at_the_phrase() {
        let d = EmpathyDetector::builtin();
        let text = "Ok. Lamento la espera.";
        let signals = d.signals(text, Some(Language::Es));
        assert_eq!(signals[0].label, "apology");
        assert_eq!(signals[0].evidence[0].slice(text).to_lowercase(), "lamento");
    }

    #[test]
    fn score_is_the_mean_of_each_turns_strongest_signal() {
        let l = |c: f32| Label {
            label: "apology".into(),
            confidence: c,
            evidence: vec![],
        };
        assert_eq!(empathy_score(&[]), None);
        assert_eq!(empathy_score(&[vec![l(0.8), l(0.6)], vec![]]), Some(0.4));
        assert_eq!(empathy_score(&[vec![l(1.0)]]), Some(1.0));
    }
}
