//! `deltarnn sweep`: one model per threshold (and a dense baseline per cell), then a table and
//! plots of accuracy against matrix-op reduction and training time.

use crate::args::{DataArgs, ModelArgs, TrainArgs};
use crate::dataset;
use crate::plot::{line_chart, Series};
use crate::training::train_run;
use anyhow::{Context, Result};
use deltarnn::data::Dataset;
use deltarnn::files::write_atomic;
use deltarnn::nn::CellKind;
use deltarnn::Thresholds;
use std::fmt::Write as _;
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
    if args.thetas.is_empty() {
        anyhow::bail!("--thetas must list at least one threshold");
    }
    for &theta in &args.thetas {
        Thresholds::both(theta).validate().context("--thetas")?;
    }
    let dataset = dataset::load(&args.data, &args.dataset, None, false)?;
    let mut rows = Vec::new();
    for &cell in &args.cells {
        rows.extend(train_cell(&args, &dataset, cell)?);
    }
    let md = markdown(&rows);
    write_atomic(&args.out.join("sweep.md"), md.as_bytes())?;
    write_atomic(&args.out.join("sweep.csv"), csv(&rows).as_bytes())?;
    write_atomic(
        &args.out.join("sweep.json"),
        serde_json::to_string_pretty(&serde_json::to_value(&rows)?)?.as_bytes(),
    )?;
    plots(&args, &rows)?;
    print!("{md}");
    Ok(())
}

/// One trained model of the sweep (a row of sweep.md, sweep.csv and sweep.json).
#[derive(serde::Serialize)]
struct Row {
    cell: CellKind,
    /// None for the dense baseline.
    theta: Option<f64>,
    run: String,
    test_accuracy: f64,
    valid_accuracy: f64,
    sparsity: f64,
    op_reduction: f64,
    train_seconds: f64,
    epoch_seconds: f64,
    speedup_vs_dense: f64,
    epochs: u64,
}

impl Row {
    /// "dense" or the threshold.
    fn theta_name(&self) -> String {
        self.theta.map(|t| t.to_string()).unwrap_or_else(|| "dense".into())
    }
}

/// The dense baseline of `cell`, then one Delta model per threshold.
fn train_cell(args: &Args, dataset: &Dataset, cell: CellKind) -> Result<Vec<Row>> {
    let mut rows: Vec<Row> = Vec::new();
    let mut dense_epoch_seconds = f64::NAN;
    for theta in std::iter::once(None).chain(args.thetas.iter().map(|&t| Some(t))) {
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
        let m = train_run(dataset, &args.out.join(&name), &model, training.config()?, false, false)?;
        let number = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
        // Runs stop early at different epochs, so compare time per epoch.
        let train_seconds = number(&m["train_seconds"]);
        let epoch_seconds = train_seconds / number(&m["epochs"]);
        if theta.is_none() {
            dense_epoch_seconds = epoch_seconds;
        }
        rows.push(Row {
            cell,
            theta,
            run: name,
            test_accuracy: number(&m["test_accuracy"]),
            valid_accuracy: number(&m["valid_accuracy"]),
            sparsity: number(&m["sparsity"]["overall"]),
            op_reduction: number(&m["ops"]["reduction"]),
            train_seconds,
            epoch_seconds,
            speedup_vs_dense: dense_epoch_seconds / epoch_seconds,
            epochs: m["epochs"].as_u64().unwrap_or(0),
        });
    }
    Ok(rows)
}

fn markdown(rows: &[Row]) -> String {
    let mut md = String::from(
        "| cell | theta | test acc | valid acc | sparsity | op reduction | epochs | s per epoch | speedup per epoch vs dense |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {:.1}% | {:.1}% | {:.1}% | {:.1}% | {} | {:.3} | {:.2}x |",
            r.cell,
            r.theta_name(),
            100.0 * r.test_accuracy,
            100.0 * r.valid_accuracy,
            100.0 * r.sparsity,
            100.0 * r.op_reduction,
            r.epochs,
            r.epoch_seconds,
            r.speedup_vs_dense
        );
    }
    md
}

fn csv(rows: &[Row]) -> String {
    let mut csv =
        String::from("cell,theta,test_accuracy,valid_accuracy,sparsity,op_reduction,epochs,train_seconds,epoch_seconds,speedup_vs_dense\n");
    for r in rows {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{}",
            r.cell,
            r.theta_name(),
            r.test_accuracy,
            r.valid_accuracy,
            r.sparsity,
            r.op_reduction,
            r.epochs,
            r.train_seconds,
            r.epoch_seconds,
            r.speedup_vs_dense
        );
    }
    csv
}

/// sweep.png (accuracy against op reduction) and sweep-time.png (against training time), one
/// series per cell.
fn plots(args: &Args, rows: &[Row]) -> Result<()> {
    let series = |x: &dyn Fn(&Row) -> f64| -> Vec<Series> {
        args.cells
            .iter()
            .map(|&cell| Series {
                name: cell.to_string(),
                points: rows.iter().filter(|r| r.cell == cell).map(|r| (x(r), 100.0 * r.test_accuracy)).collect(),
            })
            .collect()
    };
    line_chart(
        &args.out.join("sweep.png"),
        "Accuracy against matrix-op reduction",
        "training matrix ops saved (%)",
        "test accuracy (%)",
        &series(&|r| 100.0 * r.op_reduction),
    )?;
    line_chart(
        &args.out.join("sweep-time.png"),
        "Accuracy against training time",
        "training seconds",
        "test accuracy (%)",
        &series(&|r| r.train_seconds),
    )
}
