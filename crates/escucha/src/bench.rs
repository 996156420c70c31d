use anyhow::Result;
use clap::Args;
use std::path::Path;
use std::process::ExitCode;

#[derive(Args)]
pub struct BenchArgs {
    /// Messages to produce.
    #[arg(long, default_value_t = 20000)]
    pub messages: usize,
}

pub async fn run(_config: Option<&Path>, _args: BenchArgs) -> Result<ExitCode> {
    anyhow::bail!("bench: not built yet")
}
