//! `deltarnn sweep`: one model per threshold (and a dense baseline per cell), then a table and
//! plots of accuracy against matrix-op reduction and training time.

use super::dataset::{self, DataArgs};
use super::train::{train_run, ModelArgs, TrainArgs};
use crate::plot::{line_chart, Series};
use anyhow::{bail, Result};
use deltarnn::files::write_atomic;
use deltarnn::nn::CellKind;
use std::path::PathBuf;

/// Train one model per threshold (theta_x = theta_h) for each cell, plus the dense baseline, and
/// write SWEEP/sweep.{md,csv,json} and SWEEP/sweep.png.
#[derive(clap::Args)]
pub struct Args {
    /// Dataset folder.
    #[arg(long)]
    data: PathBuf,
    /// Thresholds to train (theta_x = theta_h).
    #[arg(long, value_delimiter = ',', default_value = "0,0.05,0.1,0.2,0.3")]
    thetas: Vec<f64>,
    /// Cells to sweep.
    #[arg(long, value_delimiter = ',', default_value = "lstm")]
    cells: Vec<CellKind>,
    /// Output folder (one run directory per model inside).
    #[arg(long)]
    out: PathBuf,
    /// Stacked recurrent layers.
    #[arg(long, default_value_t = 2)]
    layers: usize,
    /// Hidden units per layer.
    #[arg(long, default_value_t = 64)]
    hidden: usize,
    #[command(flatten)]
    training: TrainArgs,
    #[command(flatten)]
    dataset: DataArgs,
}

/// Runs `deltarnn sweep`.
pub fn run(args: Args) -> Result<()> {
    if args.thetas.is_empty() || args.thetas.iter().any(|t| !(t.is_finite() && *t >= 0.0)) {
        bail!("--thetas must be a list of finite numbers >= 0");
    }
    let dataset = dataset::load(&args.data, &args.dataset, None, false)?;
    let mut rows: Vec<serde_json::Value> = Vec::new();
    for &cell in &args.cells {
        let mut dense_seconds = f64::NAN;
        let runs = std::iter::once(None).chain(args.thetas.iter().map(|&t| Some(t)));
        for theta in runs {
            let model = ModelArgs {
                cell,
                layers: args.layers,
                hidden: args.hidden,
                theta_x: theta.unwrap_or(0.0),
                theta_h: theta.unwrap_or(0.0),
            };
            let mut training = args.training.clone();
            training.dense = theta.is_none();
            let name = match theta {
                None => format!("{cell}-dense"),
                Some(t) => format!("{cell}-theta-{t}"),
            };
            eprintln!("sweep: training {name}");
            let m = train_run(&dataset, &args.out.join(&name), &model, training.config(&model), false, false)?;
            // Runs stop early at different epochs, so compare time per epoch.
            let epochs = m["epochs"].as_f64().unwrap_or(f64::NAN);
            let seconds = m["train_seconds"].as_f64().unwrap_or(f64::NAN);
            let epoch_seconds = seconds / epochs;
            if theta.is_none() {
                dense_seconds = epoch_seconds;
            }
            rows.push(serde_json::json!({
                "cell": cell,
                "theta": theta,
                "run": name,
                "test_accuracy": m["test_accuracy"],
                "valid_accuracy": m["valid_accuracy"],
                "sparsity": m["sparsity"]["overall"],
                "op_reduction": m["ops"]["reduction"],
                "train_seconds": seconds,
                "epoch_seconds": epoch_seconds,
                "speedup_vs_dense": dense_seconds / epoch_seconds,
                "epochs": m["epochs"],
            }));
        }
    }
    let f = |r: &serde_json::Value, k: &str| r[k].as_f64().unwrap_or(f64::NAN);
    let mut md = String::from(
        "| cell | theta | test acc | valid acc | sparsity | op reduction | epochs | s per epoch | speedup per epoch vs dense |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut csv =
        String::from("cell,theta,test_accuracy,valid_accuracy,sparsity,op_reduction,train_seconds,speedup_vs_dense\n");
    for r in &rows {
        let theta = r["theta"].as_f64().map(|t| t.to_string()).unwrap_or_else(|| "dense".into());
        md.push_str(&format!(
            "| {} | {theta} | {:.1}% | {:.1}% | {:.1}% | {:.1}% | {} | {:.3} | {:.2}x |\n",
            r["cell"].as_str().unwrap_or("?"),
            100.0 * f(r, "test_accuracy"),
            100.0 * f(r, "valid_accuracy"),
            100.0 * f(r, "sparsity"),
            100.0 * f(r, "op_reduction"),
            r["epochs"],
            f(r, "epoch_seconds"),
            f(r, "speedup_vs_dense")
        ));
        csv.push_str(&format!(
            "{},{theta},{},{},{},{},{},{},{},{}\n",
            r["cell"].as_str().unwrap_or("?"),
            f(r, "test_accuracy"),
            f(r, "valid_accuracy"),
            f(r, "sparsity"),
            f(r, "op_reduction"),
            r["epochs"],
            f(r, "train_seconds"),
            f(r, "epoch_seconds"),
            f(r, "speedup_vs_dense")
        ));
    }
    write_atomic(&args.out.join("sweep.md"), md.as_bytes())?;
    write_atomic(&args.out.join("sweep.csv"), csv.as_bytes())?;
    write_atomic(&args.out.join("sweep.json"), serde_json::to_string_pretty(&rows)?.as_bytes())?;
    let series = |x: &str| -> Vec<Series> {
        args.cells
            .iter()
            .map(|cell| Series {
                name: cell.to_string(),
                points: rows
                    .iter()
                    .filter(|r| r["cell"] == serde_json::json!(cell))
                    .map(|r| (if x == "op_reduction" { 100.0 } else { 1.0 } * f(r, x), 100.0 * f(r, "test_accuracy")))
                    .collect(),
            })
            .collect()
    };
    line_chart(
        &args.out.join("sweep.png"),
        "Accuracy against matrix-op reduction",
        "training matrix ops saved (%)",
        "test accuracy (%)",
        &series("op_reduction"),
    )?;
    line_chart(
        &args.out.join("sweep-time.png"),
        "Accuracy against training time",
        "training seconds",
        "test accuracy (%)",
        &series("train_seconds"),
    )?;
    print!("{md}");
    Ok(())
}
