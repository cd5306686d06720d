//! `deltarnn train`: train a Delta (or dense) model on a dataset into a run directory.

use crate::args::{DataArgs, ModelArgs, TrainArgs};
use crate::dataset;
use crate::report;
use crate::training::{record_final_trace, train_run, TraceMode};
use anyhow::{bail, Context, Result};
use deltarnn::data::Dataset;
use deltarnn::tracefile;
use std::path::{Path, PathBuf};

/// Train a model on a dataset (layout detected from the folder) and write a run directory:
/// model.safetensors (best by validation accuracy), state.safetensors (resumable), history.csv,
/// metrics.json and report.md with plots.
#[derive(clap::Args)]
pub struct Args {
    /// Dataset folder (Fluent Speech Commands, Speech Commands v2, keyword CSV splits or FSDD).
    #[arg(long)]
    pub data: PathBuf,
    /// Run directory to write (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub training: TrainArgs,
    #[command(flatten)]
    pub dataset: DataArgs,
    /// Continue an interrupted run from its state.safetensors (same result, bit for bit).
    #[arg(long)]
    pub resume: bool,
    /// Print the final metrics as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// After training, write the activity trace (fired indices and deltas per layer and step,
    /// docs/trace-format.md) of the final model on the first --trace-sequences training
    /// sequences of the final epoch's order. With --resume and no epochs left, records an
    /// existing run.
    #[arg(long, value_name = "FILE")]
    pub record_trace: Option<PathBuf>,
    /// Training sequences --record-trace records.
    #[arg(long, default_value_t = 4)]
    pub trace_sequences: usize,
}

/// Runs `deltarnn train`.
pub fn run(args: Args) -> Result<()> {
    let dataset = dataset::load(&args.data, &args.dataset, None, false)?;
    let config = args.training.config()?;
    if args.record_trace.is_some() && (config.dense || args.trace_sequences == 0) {
        bail!("--record-trace needs a delta run (not --dense) and --trace-sequences of at least 1");
    }
    let summary = train_run(&dataset, &args.out, &args.model, config, args.resume, false)?;
    if let Some(path) = &args.record_trace {
        record_trace(&dataset, &args.out, path, args.trace_sequences)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("{}", report::summary_line(&summary));
    }
    Ok(())
}

/// Records the final model of the run in `out` on the first `n` training sequences of its final
/// epoch's order into the trace file `path`.
fn record_trace(dataset: &Dataset, out: &Path, path: &Path, n: usize) -> Result<()> {
    let (file, epochs) = record_final_trace(dataset, out, n, TraceMode::DeltaF32)?;
    tracefile::write(path, &file).with_context(|| format!("writing trace file {}", path.display()))?;
    eprintln!("recorded {} sequences of epoch {epochs} into {}", file.sequences.len(), path.display());
    Ok(())
}
