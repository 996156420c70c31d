/// Errors of the Kafka adapter.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("creating topic {topic}: {reason}")]
    CreateTopic { topic: String, reason: String },
    #[error("invalid Kafka configuration: {0}")]
    Config(String),
}

impl Error {
    /// Whether retrying may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Kafka(e) => e.rdkafka_error_code().is_none_or(|c| {
                use rdkafka::types::RDKafkaErrorCode as C;
                matches!(
                    c,
                    C::BrokerTransportFailure
                        | C::AllBrokersDown
                        | C::OperationTimedOut
                        | C::RequestTimedOut
                        | C::NetworkException
                        | C::LeaderNotAvailable
                        | C::NotLeaderForPartition
                        | C::QueueFull
                        | C::CoordinatorLoadInProgress
                        | C::CoordinatorNotAvailable
                        | C::NotCoordinator
                )
            }),
            Error::CreateTopic { .. } | Error::Config(_) => false,
        }
    }
}
