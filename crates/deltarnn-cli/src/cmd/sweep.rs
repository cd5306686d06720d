//! `deltarnn sweep`: one model per threshold and arithmetic (and a dense baseline per cell), then
//! a table and plots of accuracy against matrix-op reduction, training time, and the
//! accelerator's simulated training time (the RTL cycle model on each run's activity trace).

use crate::args::{ArithArg, DataArgs, ModelArgs, TrainArgs};
use crate::dataset;
use crate::plot::{line_chart, Series};
use crate::training::{record_final_trace, train_run, TraceMode};
use anyhow::{Context, Result};
use deltarnn::data::Dataset;
use deltarnn::files::write_atomic;
use deltarnn::nn::CellKind;
use deltarnn::sim::{simulate_layer, SimConfig};
use deltarnn::Thresholds;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Train one model per threshold (theta_x = theta_h) and --arith format for each cell, plus the
/// dense baseline, and write SWEEP/sweep.{md,csv,json} and SWEEP/sweep*.png (accuracy against op
/// reduction, training time, and the accelerator's simulated training time).
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
    /// The arithmetic of the Delta model's matrix products ("f32" for the dense baseline).
    arith: ArithArg,
    /// The accelerator's training cycles per sequence (RTL model) on the final model's trace.
    accelerator_cycles_per_sequence: f64,
    /// Those cycles over one epoch of the training split at [`CLOCK_MHZ`], seconds.
    accelerator_epoch_seconds: f64,
    /// Why the run stopped without a model (an FXP16 overflow), if it did.
    stopped: Option<String>,
}

/// The accelerator clock the simulated seconds assume (the simulator's default).
const CLOCK_MHZ: f64 = 200.0;
/// Training sequences whose trace the simulator runs per model.
const TRACE_SEQUENCES: usize = 16;

/// Whether `e` is an FXP16 overflow (the run's format could not hold its values).
fn is_format_overflow(e: &anyhow::Error) -> bool {
    e.chain().any(|c| matches!(c.downcast_ref::<deltarnn::Error>(), Some(deltarnn::Error::FormatOverflow { .. })))
}

impl Row {
    /// The row of a run its arithmetic stopped: no accuracy, the reason kept.
    fn stopped(cell: CellKind, theta: Option<f64>, run: String, arith: ArithArg, reason: String) -> Row {
        Row {
            cell,
            theta,
            run,
            test_accuracy: f64::NAN,
            valid_accuracy: f64::NAN,
            sparsity: f64::NAN,
            op_reduction: f64::NAN,
            train_seconds: f64::NAN,
            epoch_seconds: f64::NAN,
            speedup_vs_dense: f64::NAN,
            epochs: 0,
            arith,
            accelerator_cycles_per_sequence: f64::NAN,
            accelerator_epoch_seconds: f64::NAN,
            stopped: Some(reason),
        }
    }

    /// "dense" or the threshold.
    fn theta_name(&self) -> String {
        self.theta.map(|t| t.to_string()).unwrap_or_else(|| "dense".into())
    }
}

/// The accelerator's training cycles per sequence (the RTL cycle model; dense: every column
/// fires) of the final model in run `dir`, on its first [`TRACE_SEQUENCES`] training sequences
/// of the final epoch's order, recorded in the run's own mode.
fn accelerator_cycles(dataset: &Dataset, dir: &std::path::Path, dense: bool) -> Result<f64> {
    let mode = if dense { TraceMode::DeltaF32 } else { TraceMode::Trained };
    let (file, _) = record_final_trace(dataset, dir, TRACE_SEQUENCES, mode)?;
    let sim = SimConfig::default();
    let mut cycles = 0u64;
    for trace in file.sequences.iter().flatten() {
        let c = simulate_layer(&sim, file.cell, trace)?;
        cycles += if dense { c.dense.total_cycles() } else { c.sparse.total_cycles() };
    }
    Ok(cycles as f64 / file.sequences.len().max(1) as f64)
}

/// The dense baseline of `cell`, then one Delta model per threshold and arithmetic.
fn train_cell(args: &Args, dataset: &Dataset, cell: CellKind) -> Result<Vec<Row>> {
    let mut rows: Vec<Row> = Vec::new();
    let mut dense_epoch_seconds = f64::NAN;
    let mut runs = vec![(None, ArithArg::F32)];
    for &theta in &args.thetas {
        runs.extend(args.training.arith.iter().map(|&a| (Some(theta), a)));
    }
    for (theta, arith) in runs {
        let model = ModelArgs {
            cell,
            layers: args.layers,
            hidden: args.hidden,
            theta_x: theta.unwrap_or(0.0),
            theta_h: theta.unwrap_or(0.0),
        };
        let mut training = args.training.clone();
        training.dense = theta.is_none();
        training.arith = vec![arith];
        if arith != ArithArg::Fxp16 {
            training.q_format = None;
        }
        training.weights_in_format &= arith != ArithArg::F32;
        let name = match (theta, arith) {
            (None, _) => format!("{cell}-dense"),
            (Some(t), ArithArg::F32) => format!("{cell}-theta-{t}"),
            (Some(t), a) => format!("{cell}-theta-{t}-{}", a.name()),
        };
        eprintln!("sweep: training {name}");
        let m = match train_run(dataset, &args.out.join(&name), &model, training.config()?, false, false) {
            Ok(m) => m,
            // A format that cannot hold the run's values is a result of the sweep, not its end.
            Err(e) if is_format_overflow(&e) => {
                eprintln!("sweep: {name} stopped: {e:#}");
                rows.push(Row::stopped(cell, theta, name, arith, format!("{:#}", e.root_cause())));
                continue;
            }
            Err(e) => return Err(e),
        };
        let number = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
        // Runs stop early at different epochs, so compare time per epoch.
        let cycles = accelerator_cycles(dataset, &args.out.join(&name), theta.is_none())?;
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
            arith,
            accelerator_cycles_per_sequence: cycles,
            accelerator_epoch_seconds: cycles * dataset.train.examples.len() as f64 / (CLOCK_MHZ * 1e6),
            stopped: None,
        });
    }
    Ok(rows)
}

fn markdown(rows: &[Row]) -> String {
    let mut md = String::from(
        "| cell | theta | arith | test acc | valid acc | sparsity | op reduction | epochs | s per epoch | speedup per epoch vs dense | accelerator cycles per sequence | accelerator s per epoch |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        if r.stopped.is_some() {
            let _ = writeln!(
                md,
                "| {} | {} | {} | stopped | stopped | - | - | - | - | - | - | - |",
                r.cell,
                r.theta_name(),
                r.arith.name()
            );
            continue;
        }
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.1}% | {:.1}% | {:.1}% | {:.1}% | {} | {:.3} | {:.2}x | {:.0} | {:.4} |",
            r.cell,
            r.theta_name(),
            r.arith.name(),
            100.0 * r.test_accuracy,
            100.0 * r.valid_accuracy,
            100.0 * r.sparsity,
            100.0 * r.op_reduction,
            r.epochs,
            r.epoch_seconds,
            r.speedup_vs_dense,
            r.accelerator_cycles_per_sequence,
            r.accelerator_epoch_seconds
        );
    }
    for r in rows {
        if let Some(reason) = &r.stopped {
            let _ = writeln!(md, "\n{} stopped: {reason}", r.run);
        }
    }
    md
}

fn csv(rows: &[Row]) -> String {
    let mut csv =
        String::from("cell,theta,arith,test_accuracy,valid_accuracy,sparsity,op_reduction,epochs,train_seconds,epoch_seconds,speedup_vs_dense,accelerator_cycles_per_sequence,accelerator_epoch_seconds\n");
    for r in rows {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.cell,
            r.theta_name(),
            r.arith.name(),
            r.test_accuracy,
            r.valid_accuracy,
            r.sparsity,
            r.op_reduction,
            r.epochs,
            r.train_seconds,
            r.epoch_seconds,
            r.speedup_vs_dense,
            r.accelerator_cycles_per_sequence,
            r.accelerator_epoch_seconds
        );
    }
    csv
}

/// sweep.png (accuracy against op reduction) and sweep-time.png (against training time), one
/// series per cell.
fn plots(args: &Args, rows: &[Row]) -> Result<()> {
    // One series per cell and arithmetic, each starting at the cell's dense baseline.
    let series = |x: &dyn Fn(&Row) -> f64| -> Vec<Series> {
        let mut out = Vec::new();
        for &cell in &args.cells {
            for &arith in &args.training.arith {
                let member = |r: &&Row| r.cell == cell && (r.theta.is_none() || r.arith == arith);
                out.push(Series {
                    name: format!("{cell} {}", arith.name()),
                    points: rows
                        .iter()
                        .filter(member)
                        .filter(|r| r.stopped.is_none())
                        .map(|r| (x(r), 100.0 * r.test_accuracy))
                        .collect(),
                });
            }
        }
        out
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
    )?;
    line_chart(
        &args.out.join("sweep-accelerator.png"),
        "Accuracy against the accelerator's training time",
        "simulated accelerator seconds per epoch (RTL model, 200 MHz)",
        "test accuracy (%)",
        &series(&|r| r.accelerator_epoch_seconds),
    )
}
