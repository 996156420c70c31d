//! From a message payload to a redacted, classified [`Record`]: decode with
//! the pipeline, redact every text, hash the customer id, detect the
//! language and classify the texts of the pipeline's speakers.

use escucha_core::{
    Classifier, Interaction, Language, Record, SourcePosition, TextInput, TurnLabels,
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

/// Stateless per message; shared by the classification threads.
pub struct Processor {
    redactor: Redactor,
    classifier: Arc<dyn Classifier>,
    secret: Vec<u8>,
}

impl Processor {
    pub fn new(classifier: Arc<dyn Classifier>, secret: Vec<u8>) -> Processor {
        Processor {
            redactor: Redactor::new(),
            classifier,
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
        let payload = payload.ok_or_else(|| Rejection {
            kind: "empty".into(),
            reason: "message has no payload".into(),
        })?;
        let interaction = pipeline.decode(payload).map_err(|e| Rejection {
            kind: e.kind().into(),
            reason: e.to_string(),
        })?;
        Ok(self.record(pipeline, interaction, source))
    }

    /// Redacts, hashes and classifies a decoded interaction.
    pub fn record(
        &self,
        pipeline: &Pipeline,
        mut interaction: Interaction,
        source: SourcePosition,
    ) -> Record {
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
        let inputs: Vec<TextInput<'_>> = classified
            .iter()
            .map(|&i| TextInput {
                text: &interaction.turns[i].text,
                language: hint,
            })
            .collect();
        let started = std::time::Instant::now();
        let results = self.classifier.classify_batch(&inputs);
        if !inputs.is_empty() {
            metrics::histogram!("escucha_classify_seconds").record(started.elapsed().as_secs_f64());
        }
        let turn_labels = classified
            .iter()
            .zip(results)
            .map(|(&turn, classification)| TurnLabels {
                turn,
                classification,
            })
            .collect();
        Record {
            pipeline: pipeline.name().to_string(),
            interaction,
            language,
            turn_labels,
            engine: self.classifier.engine().to_string(),
            source,
        }
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
