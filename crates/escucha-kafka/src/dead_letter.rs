use crate::consumer::Incoming;
use crate::error::Error;
use crate::KafkaConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::Duration;

/// Header with the human-readable reason a message was rejected.
pub const HEADER_REASON: &str = "escucha.error";
/// Header with the machine-readable kind of rejection.
pub const HEADER_ERROR_KIND: &str = "escucha.error.kind";

/// Produces rejected messages, unchanged, to a dead-letter topic with the
/// reason and source position in headers.
#[derive(Clone)]
pub struct DeadLetter {
    producer: FutureProducer,
}

impl DeadLetter {
    pub fn new(config: &KafkaConfig) -> Result<DeadLetter, Error> {
        let producer = config
            .client_config()
            .set("enable.idempotence", "false")
            .set("acks", "all")
            .set("message.timeout.ms", "30000")
            .create()?;
        Ok(DeadLetter { producer })
    }

    /// Sends one rejected message and waits until the broker has it.
    pub async fn send(
        &self,
        topic: &str,
        pipeline: &str,
        message: &Incoming,
        kind: &str,
        reason: &str,
    ) -> Result<(), Error> {
        let partition = message.partition.to_string();
        let offset = message.offset.to_string();
        let failed_at = chrono::Utc::now().to_rfc3339();
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: HEADER_REASON,
                value: Some(reason),
            })
            .insert(Header {
                key: HEADER_ERROR_KIND,
                value: Some(kind),
            })
            .insert(Header {
                key: "escucha.pipeline",
                value: Some(pipeline),
            })
            .insert(Header {
                key: "escucha.source.topic",
                value: Some(&message.topic),
            })
            .insert(Header {
                key: "escucha.source.partition",
                value: Some(&partition),
            })
            .insert(Header {
                key: "escucha.source.offset",
                value: Some(&offset),
            })
            .insert(Header {
                key: "escucha.failed_at",
                value: Some(&failed_at),
            });
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).headers(headers);
        if let Some(k) = &message.key {
            record = record.key(k.as_slice());
        }
        if let Some(p) = &message.payload {
            record = record.payload(p.as_slice());
        }
        self.producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| Error::Kafka(e))?;
        Ok(())
    }
}
