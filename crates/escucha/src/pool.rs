//! Classification on dedicated threads fed by a bounded channel, so
//! CPU-bound inference never runs on the async runtime.

use crate::process::{Processor, Rejection};
use escucha_core::{Record, SourcePosition};
use escucha_kafka::Incoming;
use escucha_pipeline::Pipeline;
use std::sync::Arc;
use tokio::sync::oneshot;

type Output = Vec<Result<Record, Rejection>>;

struct Job {
    pipeline: Arc<Pipeline>,
    messages: Arc<[Incoming]>,
    range: std::ops::Range<usize>,
    reply: oneshot::Sender<Output>,
}

/// A fixed set of classification threads shared by every pipeline.
#[derive(Clone)]
pub struct ClassifyPool {
    jobs: async_channel::Sender<Job>,
    threads: usize,
}

/// Messages per job: small enough to spread a batch over the threads.
const CHUNK: usize = 64;

impl ClassifyPool {
    pub fn new(processor: Arc<Processor>, threads: usize) -> ClassifyPool {
        let threads = threads.max(1);
        let (tx, rx) = async_channel::bounded::<Job>(threads * 4);
        for i in 0..threads {
            let rx = rx.clone();
            let processor = processor.clone();
            std::thread::Builder::new()
                .name(format!("classify-{i}"))
                .spawn(move || {
                    while let Ok(job) = rx.recv_blocking() {
                        let batch = job.messages[job.range.clone()]
                            .iter()
                            .map(|m| {
                                let source = SourcePosition {
                                    topic: m.topic.clone(),
                                    partition: m.partition,
                                    offset: m.offset,
                                };
                                (m.payload.as_deref(), source)
                            })
                            .collect();
                        let out: Output = processor.process_batch(&job.pipeline, batch);
                        let _ = job.reply.send(out);
                    }
                })
                .expect("spawning a classification thread");
        }
        ClassifyPool { jobs: tx, threads }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Processes a batch in order, spread over the threads.
    pub async fn process(&self, pipeline: Arc<Pipeline>, messages: Arc<[Incoming]>) -> Output {
        let mut replies = Vec::new();
        let mut start = 0;
        while start < messages.len() {
            let end = (start + CHUNK).min(messages.len());
            let (reply, rx) = oneshot::channel();
            let job = Job {
                pipeline: pipeline.clone(),
                messages: messages.clone(),
                range: start..end,
                reply,
            };
            if self.jobs.send(job).await.is_err() {
                break;
            }
            replies.push(rx);
            start = end;
        }
        let mut out = Vec::with_capacity(messages.len());
        for rx in replies {
            out.extend(rx.await.unwrap_or_default());
        }
        out
    }
}
