//! report.md and its plots for a training run, and the one-line summary.

use crate::plot::{line_chart, Series};
use anyhow::Result;
use deltarnn::files::write_atomic;
use deltarnn::train::run::RunDir;
use deltarnn::train::{EpochRecord, Evaluation, TrainState};

/// One line for the terminal.
pub fn summary_line(m: &serde_json::Value) -> String {
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    format!(
        "{} model: test accuracy {:.1}%, valid accuracy {:.1}%, sparsity {:.1}%, training matrix ops -{:.1}%, {:.1} s over {} epochs",
        m["mode"].as_str().unwrap_or("?"),
        100.0 * f(&m["test_accuracy"]),
        100.0 * f(&m["valid_accuracy"]),
        100.0 * f(&m["sparsity"]["overall"]),
        100.0 * f(&m["ops"]["reduction"]),
        f(&m["train_seconds"]),
        m["epochs"]
    )
}

/// Writes report.md, loss.png, accuracy.png, sparsity.png and ops.png into the run.
pub fn write(run: &RunDir, state: &TrainState, test: &Evaluation, metrics: &serde_json::Value) -> Result<()> {
    write_plots(run, &state.history)?;
    write_atomic(&run.path("report.md"), markdown(test, metrics).as_bytes())?;
    Ok(())
}

/// The four curves over the epochs of `h`.
fn write_plots(run: &RunDir, h: &[EpochRecord]) -> Result<()> {
    let series = |name: &str, get: &dyn Fn(&EpochRecord) -> f64| Series {
        name: name.into(),
        points: h.iter().map(|r| (r.epoch as f64, get(r))).collect(),
    };
    let plots = [
        (
            "loss.png",
            "Loss per frame",
            "cross-entropy",
            vec![series("train", &|r| r.train_loss), series("valid", &|r| r.valid_loss)],
        ),
        (
            "accuracy.png",
            "Utterance accuracy",
            "accuracy (%)",
            vec![series("train", &|r| 100.0 * r.train_accuracy), series("valid", &|r| 100.0 * r.valid_accuracy)],
        ),
        (
            "sparsity.png",
            "Temporal sparsity while training",
            "zero deltas (%)",
            vec![
                series("delta_x", &|r| 100.0 * r.sparsity.delta_x),
                series("delta_h", &|r| 100.0 * r.sparsity.delta_h),
                series("overall", &|r| 100.0 * r.sparsity.overall),
            ],
        ),
        (
            "ops.png",
            "Training matrix operations per epoch",
            "GOP",
            vec![series("dense", &|r| r.ops_dense as f64 / 1e9), series("actual", &|r| r.ops_actual as f64 / 1e9)],
        ),
    ];
    for (file, title, y_label, curves) in plots {
        line_chart(&run.path(file), title, "epoch", y_label, &curves)?;
    }
    Ok(())
}

/// report.md: the summary, the metrics table, inference sparsity per layer and the curves.
fn markdown(test: &Evaluation, metrics: &serde_json::Value) -> String {
    let mut md = String::new();
    md.push_str("# Training report\n\n");
    md.push_str(&format!("{}\n\n", summary_line(metrics)));
    md.push_str("| metric | value |\n|---|---|\n");
    for (name, value) in [
        ("test accuracy", format!("{:.2}%", 100.0 * metrics["test_accuracy"].as_f64().unwrap_or(0.0))),
        ("validation accuracy", format!("{:.2}%", 100.0 * metrics["valid_accuracy"].as_f64().unwrap_or(0.0))),
        ("parameters", metrics["params"].to_string()),
        ("epochs (best)", format!("{} ({})", metrics["epochs"], metrics["best_epoch"])),
        ("training matrix ops, dense", format!("{:.3e}", metrics["ops"]["dense"].as_f64().unwrap_or(0.0))),
        (
            "training matrix ops, actual (fired columns)",
            format!("{:.3e}", metrics["ops"]["actual"].as_f64().unwrap_or(0.0)),
        ),
        ("training matrix ops, executed", format!("{:.3e}", metrics["ops"]["executed"].as_f64().unwrap_or(0.0))),
        ("training seconds", format!("{:.1}", metrics["train_seconds"].as_f64().unwrap_or(0.0))),
    ] {
        md.push_str(&format!("| {name} | {value} |\n"));
    }
    md.push_str("\n## Inference sparsity per layer (test split, best model)\n\n");
    md.push_str("| layer | zero delta_x | zero delta_h | forward ops reduction |\n|---|---|---|---|\n");
    for (k, l) in test.cost.layers.iter().enumerate() {
        let frac = |zero: u64, all: u64| if all == 0 { 0.0 } else { 100.0 * zero as f64 / all as f64 };
        md.push_str(&format!(
            "| {k} | {:.1}% | {:.1}% | {:.1}% |\n",
            frac(l.input_elements - l.input_nonzero, l.input_elements),
            frac(l.hidden_elements - l.hidden_nonzero, l.hidden_elements),
            100.0 * l.forward_mxv.reduction()
        ));
    }
    md.push_str("\n## Curves\n\n![loss](loss.png)\n\n![accuracy](accuracy.png)\n\n![sparsity](sparsity.png)\n\n![ops](ops.png)\n\n");
    md.push_str("Per-epoch figures are in `history.csv`; the full configuration is in `metrics.json`.\n");
    md
}
