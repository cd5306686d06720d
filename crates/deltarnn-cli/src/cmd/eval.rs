//! `deltarnn eval`: accuracy, loss, sparsity and ops of a trained model on a dataset split.

use crate::args::{default_threads, DataArgs, ModeArgs, ReadoutArg};
use crate::dataset::{self, FrontEnd};
use anyhow::{bail, Context, Result};
use deltarnn::bundle::Bundle;
use deltarnn::train::evaluate;
use std::path::PathBuf;

/// Evaluate a trained model (its own feature configuration, normalisation and labels are used).
#[derive(clap::Args)]
pub struct Args {
    /// Trained model (RUN/model.safetensors).
    #[arg(long)]
    model: PathBuf,
    /// Dataset folder.
    #[arg(long)]
    data: PathBuf,
    /// Split to score: train, valid or test (test falls back to valid when the dataset has none).
    #[arg(long, default_value = "test")]
    split: String,
    #[command(flatten)]
    mode: ModeArgs,
    /// Utterance readout.
    #[arg(long, default_value = "last-non-silence")]
    readout: ReadoutArg,
    /// Worker threads [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    dataset: DataArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `deltarnn eval`.
pub fn run(args: Args) -> Result<()> {
    let bundle = Bundle::load(&args.model).with_context(|| format!("loading model {}", args.model.display()))?;
    let protocol = args.dataset.model_protocol(&args.model, bundle.protocol)?;
    let front_end = FrontEnd {
        feature_config: &bundle.feature_config,
        normalizer: &bundle.normalizer,
        labels: &bundle.labels,
        protocol,
    };
    let dataset = dataset::load(&args.data, &args.dataset, Some(front_end), false)?;
    let (name, examples) = match args.split.as_str() {
        "train" => ("train", &dataset.train.examples),
        "valid" => ("valid", &dataset.valid.examples),
        "test" if dataset.test.examples.is_empty() => ("valid (no test split)", &dataset.valid.examples),
        "test" => ("test", &dataset.test.examples),
        other => bail!("unknown split '{other}' (expected train, valid or test)"),
    };
    if examples.is_empty() {
        bail!("{}: the {name} split is empty", args.data.display());
    }
    let mode = args.mode.resolve(&bundle.model)?;
    let threads = args.threads.unwrap_or_else(default_threads);
    let result = evaluate(&bundle.model, examples, mode, args.readout.into(), threads)?;
    let total = result.cost.total();
    let json = serde_json::json!({
        "split": name,
        "utterances": result.utterances,
        "accuracy": result.accuracy,
        "loss": result.loss,
        "mode": mode.kind(),
        "protocol": protocol,
        "thresholds": mode.thresholds(),
        "sparsity": result.cost.sparsity(),
        "inference_ops": {
            "dense": total.forward_mxv.dense_ops(),
            "actual": total.forward_mxv.actual_ops(),
            "executed": total.forward_mxv.executed_ops(),
            "reduction": total.forward_mxv.reduction(),
        },
        "cost": result.cost.to_json(),
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!(
            "{name}: {} utterances, accuracy {:.2}%, loss {:.4}, sparsity {:.1}%, inference matrix ops -{:.1}%",
            result.utterances,
            100.0 * result.accuracy,
            result.loss,
            100.0 * result.cost.sparsity().overall,
            100.0 * total.forward_mxv.reduction()
        );
    }
    Ok(())
}
