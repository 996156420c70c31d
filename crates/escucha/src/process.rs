//! From a message payload to a redacted, classified [`Record`]: decode with
//! the pipeline, redact every text, hash the customer id, detect the
//! language and classify the texts of the pipeline's speakers.

use escucha_classify::EmpathyDetector;
use escucha_core::{
    taxonomy, Classification, Classifier, Interaction, Label, Language, Record, SourcePosition,
    Speaker, TextInput, TurnLabels,
};
use escucha_pipeline::Pipeline;
use escucha_redact::Redactor;
use std::sync::Arc;

/// Why a message cannot be stored. Never contains customer text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub kind: String,
    pub reason: String,
}

/// An interaction redacted and ready to classify.
struct Prepared {
    interaction: Interaction,
    language: Language,
    hint: Option<Language>,
    /// Indexes of the turns to classify.
    classified: Vec<usize>,
    source: SourcePosition,
}

/// Stateless per message; shared by the classification threads.
pub struct Processor {
    redactor: Redactor,
    classifier: Arc<dyn Classifier>,
    empathy: EmpathyDetector,
    secret: Vec<u8>,
}

impl Processor {
    pub fn new(classifier: Arc<dyn Classifier>, secret: Vec<u8>) -> Processor {
        Processor {
            redactor: Redactor::new(),
            classifier,
            empathy: EmpathyDetector::builtin(),
            secret,
        }
    }

    /// Decodes and processes one message.
    pub fn process(
        &self,
        pipeline: &Pipeline,
        payload: Option<&[u8]>,
        source: SourcePosition,
    ) -> Result<Record, Rejection> {
        self.process_batch(pipeline, vec![(payload, source)])
            .pop()
            .expect("one result per message")
    }

    /// Decodes and processes messages, in order, classifying the texts of
    /// all of them in one engine call (the sentence encoder is much faster
    /// on batches than on single texts).
    pub fn process_batch(
        &self,
        pipeline: &Pipeline,
        messages: Vec<(Option<&[u8]>, SourcePosition)>,
    ) -> Vec<Result<Record, Rejection>> {
        let prepared: Vec<Result<Prepared, Rejection>> = messages
            .into_iter()
            .map(|(payload, source)| {
                let payload = payload.ok_or_else(|| Rejection {
                    kind: "empty".into(),
                    reason: "message has no payload".into(),
                })?;
                let interaction = pipeline.decode(payload).map_err(|e| Rejection {
                    kind: e.kind().into(),
                    reason: e.to_string(),
                })?;
                Ok(self.prepare(pipeline, interaction, source))
            })
            .collect();
        let inputs: Vec<TextInput<'_>> = prepared
            .iter()
            .flatten()
            .flat_map(|p| {
                p.classified.iter().map(|&i| TextInput {
                    text: &p.interaction.turns[i].text,
                    language: p.hint,
                })
            })
            .collect();
        let started = std::time::Instant::now();
        let mut results = self.classifier.classify_batch(&inputs).into_iter();
        if !inputs.is_empty() {
            metrics::histogram!("escucha_classify_seconds").record(started.elapsed().as_secs_f64());
        }
        prepared
            .into_iter()
            .map(|p| {
                let p = p?;
                let labels: Vec<_> = results.by_ref().take(p.classified.len()).collect();
                Ok(self.finish(pipeline, p, labels))
            })
            .collect()
    }

    /// Redacts every text, hashes the customer id, finds the texts to
    /// classify and the language.
    fn prepare(
        &self,
        pipeline: &Pipeline,
        mut interaction: Interaction,
        source: SourcePosition,
    ) -> Prepared {
        for turn in &mut interaction.turns {
            self.redactor.redact_in_place(&mut turn.text);
        }
        interaction.customer_id = interaction
            .customer_id
            .as_deref()
            .map(|id| escucha_redact::customer_key(&self.secret, id));
        let speakers = &pipeline.classify().speakers;
        let classified: Vec<usize> = interaction
            .turns
            .iter()
            .enumerate()
            .filter(|(_, t)| speakers.contains(&t.speaker) && !t.text.trim().is_empty())
            .map(|(i, _)| i)
            .collect();
        let language = match interaction.language {
            Some(l) if l != Language::Other => l,
            declared => {
                let joined: String = classified
                    .iter()
                    .map(|&i| interaction.turns[i].text.as_str())
                    .collect::<Vec<_>>()
                    .join("\n");
                if joined.trim().is_empty() {
                    declared.unwrap_or(Language::Other)
                } else {
                    escucha_classify::detect_language(&joined)
                }
            }
        };
        let hint = (language != Language::Other).then_some(language);
        Prepared {
            interaction,
            language,
            hint,
            classified,
            source,
        }
    }

    /// Puts the classifications of a prepared interaction's texts together.
    fn finish(&self, pipeline: &Pipeline, p: Prepared, labels: Vec<Classification>) -> Record {
        let mut turn_labels: Vec<TurnLabels> = p
            .classified
            .iter()
            .zip(labels)
            .map(|(&turn, classification)| TurnLabels {
                turn,
                classification,
                empathy: vec![],
            })
            .collect();
        let agent_empathy = self.agent_empathy(&p.interaction, p.hint, &mut turn_labels);
        turn_labels.sort_by_key(|t| t.turn);
        Record {
            pipeline: pipeline.name().to_string(),
            interaction: p.interaction,
            language: p.language,
            turn_labels,
            engine: self.classifier.engine().to_string(),
            source: p.source,
            agent_empathy,
        }
    }

    /// Finds empathy signals in agent turns (adding a labels entry for each
    /// agent turn that shows one) and returns the conversation's empathy
    /// score. When agents answered an upset customer without any sign of
    /// empathy, the first turn with a negative emotion also gets the
    /// `lack_of_empathy` theme, with that emotion's evidence.
    fn agent_empathy(
        &self,
        interaction: &Interaction,
        language: Option<Language>,
        turn_labels: &mut Vec<TurnLabels>,
    ) -> Option<f32> {
        let agent_turns: Vec<(usize, Vec<Label>)> = interaction
            .turns
            .iter()
            .enumerate()
            .filter(|(_, t)| t.speaker == Speaker::Agent && !t.text.trim().is_empty())
            .map(|(i, t)| (i, self.empathy.signals(&t.text, language)))
            .collect();
        let signals: Vec<Vec<Label>> = agent_turns.iter().map(|(_, s)| s.clone()).collect();
        let score = escucha_classify::empathy_score(&signals)?;
        if score == 0.0 {
            let upset = turn_labels.iter_mut().find_map(|t| {
                let negative = t
                    .classification
                    .emotions
                    .iter()
                    .find(|e| taxonomy::NEGATIVE_EMOTIONS.contains(&e.label.as_str()))?
                    .clone();
                Some((t, negative))
            });
            if let Some((turn, negative)) = upset {
                if !turn
                    .classification
                    .themes
                    .iter()
                    .any(|l| l.label == "lack_of_empathy")
                {
                    turn.classification.themes.push(Label {
                        label: "lack_of_empathy".into(),
                        confidence: 0.6,
                        evidence: negative.evidence,
                    });
                }
            }
        }
        for (turn, empathy) in agent_turns.into_iter().filter(|(_, s)| !s.is_empty()) {
            turn_labels.push(TurnLabels {
                turn,
                classification: Classification {
                    language: language.unwrap_or(Language::Other),
                    emotions: vec![],
                    themes: vec![],
                    engine: escucha_classify::ENGINE.to_string(),
                },
                empathy,
            });
        }
        Some(score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn pipeline() -> Pipeline {
        escucha_pipeline::load_str(
            Path::new("test.toml"),
            r#"
            name = "t"
            kind = "survey"
            [source]
            topics = ["t"]
            group = "g"
            dead_letter_topic = "t.dlq"
            [fields]
            id = "$.id"
            occurred_at = { path = "$.at", time = "rfc3339" }
            customer_id = "$.customer"
            nps = "$.nps"
            [[texts]]
            path = "$.comment"
            speaker = "customer"
            "#,
        )
        .expect("valid pipeline")
    }

    fn processor() -> Processor {
        Processor::new(
            Arc::new(escucha_classify::CueClassifier::builtin()),
            b"0123456789abcdef0123".to_vec(),
        )
    }

    #[test]
    fn redacts_hashes_and_classifies() {
        let payload = r#"{"id":"r1","at":"2026-11-20T10:00:00Z","customer":"C-77","nps":2,
            "comment":"Esperé 50 minutos en espera y nadie me resolvió nada. Mi correo es ana.perez@gmail.com y mi tel +34 612 345 678"}"#.as_bytes();
        let record = processor()
            .process(&pipeline(), Some(payload), SourcePosition::default())
            .unwrap();
        let text = &record.interaction.turns[0].text;
        assert!(!text.contains("ana.perez@gmail.com"), "{text}");
        assert!(!text.contains("612 345 678"), "{text}");
        assert!(text.starts_with("Esperé 50 minutos"));
        let key = record.interaction.customer_id.clone().unwrap();
        assert_ne!(key, "C-77");
        assert_eq!(
            Some(key),
            processor()
                .process(&pipeline(), Some(payload), SourcePosition::default())
                .unwrap()
                .interaction
                .customer_id
        );
        assert_eq!(record.language, Language::Es);
        let themes: Vec<String> = record.themes().into_iter().map(|l| l.label).collect();
        assert!(themes.contains(&"long_wait".to_string()), "{themes:?}");
    }

    fn transcripts() -> Pipeline {
        escucha_pipeline::load_file(
            &Path::new(
                &std::env::var_os("CARGO_MANIFEST_DIR")
                    .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../pipelines/transcripts.toml"),
        )
        .expect("shipped pipeline")
    }

    fn conversation(agent: &str) -> String {
        serde_json::json!({
            "conversation_id": "c1", "channel": "chat", "started_at": "2026-11-20T10:00:00Z",
            "ended_at": "2026-11-20T10:10:00Z", "customer_id": "C-1", "queue": "billing",
            "agent_id": "ag-1", "wait_seconds": 30, "handle_seconds": 600, "transfers": 0,
            "bot_handled": false, "escalated": false, "resolved": true,
            "turns": [
                { "speaker": "customer", "text": "Estoy harta, otra vez me cobraron de más", "at": "2026-11-20T10:00:10Z" },
                { "speaker": "agent", "text": agent, "at": "2026-11-20T10:01:00Z" },
                { "speaker": "customer", "text": "Bueno, por fin, muchas gracias", "at": "2026-11-20T10:09:00Z" },
            ],
        })
        .to_string()
    }

    #[test]
    fn empathic_agents_score_and_cold_agents_facing_upset_customers_are_a_gap() {
        let p = processor();
        let warm = p
            .process(
                &transcripts(),
                Some(
                    conversation(
                        "Lamento mucho la molestia, yo me encargo ahora mismo, no se preocupe",
                    )
                    .as_bytes(),
                ),
                SourcePosition::default(),
            )
            .unwrap();
        assert!(
            warm.agent_empathy.unwrap() > 0.5,
            "{:?}",
            warm.agent_empathy
        );
        let agent_turn = warm.turn_labels.iter().find(|t| t.turn == 1).unwrap();
        let signals: Vec<&str> = agent_turn
            .empathy
            .iter()
            .map(|l| l.label.as_str())
            .collect();
        assert_eq!(signals, ["apology", "ownership", "reassurance"]);
        assert!(!warm.themes().iter().any(|l| l.label == "lack_of_empathy"));
        assert_eq!(warm.first_emotions(), vec!["frustration"]);
        assert!(warm.last_emotions().contains(&"gratitude".to_string()));

        let cold = p
            .process(
                &transcripts(),
                Some(conversation("Número de cliente.").as_bytes()),
                SourcePosition::default(),
            )
            .unwrap();
        assert_eq!(cold.agent_empathy, Some(0.0));
        assert!(
            cold.themes().iter().any(|l| l.label == "lack_of_empathy"),
            "{:?}",
            cold.themes()
        );
    }

    #[test]
    fn invalid_messages_are_rejected_with_a_reason_and_no_text() {
        let p = processor();
        let r = p
            .process(
                &pipeline(),
                Some(br#"{"id":"r2","at":"2026-11-20T10:00:00Z","nps":14,"comment":"secreto"}"#),
                SourcePosition::default(),
            )
            .unwrap_err();
        assert_eq!(r.kind, "out_of_range");
        assert!(!r.reason.contains("secreto"));
        let r = p
            .process(&pipeline(), Some(b"{not json"), SourcePosition::default())
            .unwrap_err();
        assert_eq!(r.kind, "invalid_json");
        let r = p
            .process(&pipeline(), None, SourcePosition::default())
            .unwrap_err();
        assert_eq!(r.kind, "empty");
    }
}
