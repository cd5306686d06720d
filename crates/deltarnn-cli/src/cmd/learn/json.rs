//! incremental.json: per run and increment the records, and the comparison at the last step.

use super::Args;
use deltarnn::data::Dataset;
use deltarnn::incremental::{IncrementRecord, IncrementalConfig};
use deltarnn::nn::ModeKind;

/// One protocol run: its configuration, and per increment the record and the process's peak
/// memory then.
pub struct Run {
    /// The run's configuration (Delta or dense).
    pub config: IncrementalConfig,
    /// One row per increment.
    pub rows: Vec<(IncrementRecord, Option<u64>)>,
}

impl Run {
    /// Delta or dense.
    pub fn kind(&self) -> ModeKind {
        self.config.mode().kind()
    }

    /// Training matrix ops of the increments after the base task: what learning on the device
    /// costs.
    fn ops_after_base(&self) -> (u64, u64) {
        let after_base = self.rows.iter().skip(1).map(|(r, _)| r);
        after_base.fold((0u64, 0u64), |(a, d), r| (a + r.train_ops, d + r.train_ops_dense))
    }

    fn to_json(&self) -> serde_json::Value {
        let increments: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|(r, peak)| {
                let mut v = serde_json::to_value(r).expect("records serialise");
                v["peak_memory_bytes"] = serde_json::json!(peak);
                v
            })
            .collect();
        let (ops, dense_ops) = self.ops_after_base();
        serde_json::json!({
            "mode": self.kind(),
            "config": self.config,
            "increments": increments,
            "final_accuracy": self.rows.last().map(|(r, _)| r.accuracy),
            "increment_train_ops": ops,
            "increment_train_ops_dense": dense_ops,
            "increment_ops_reduction": reduction(ops, dense_ops),
        })
    }
}

/// 1 - ops / dense (0 when nothing would be dense).
fn reduction(ops: u64, dense: u64) -> f64 {
    if dense == 0 {
        0.0
    } else {
        1.0 - ops as f64 / dense as f64
    }
}

/// incremental.json: the dataset and schedule, every run, and the Delta run against the dense one.
pub fn summary_json(
    args: &Args,
    dataset: &Dataset,
    names: &[String],
    test_split: &str,
    runs: &[Run],
) -> serde_json::Value {
    let run_of = |kind: ModeKind| runs.iter().find(|r| r.kind() == kind);
    let comparison = match (run_of(ModeKind::Delta), run_of(ModeKind::Dense)) {
        (Some(delta), Some(dense)) => match (delta.rows.last(), dense.rows.last()) {
            (Some((delta_last, _)), Some((dense_last, _))) => {
                let (delta_ops, dense_run_ops) = (delta.ops_after_base().0, dense.ops_after_base().0);
                serde_json::json!({
                    "final_accuracy_delta": delta_last.accuracy,
                    "final_accuracy_dense": dense_last.accuracy,
                    "difference_points": 100.0 * (delta_last.accuracy - dense_last.accuracy),
                    "increment_ops_delta": delta_ops,
                    "increment_ops_dense_run": dense_run_ops,
                    "increment_ops_reduction_vs_dense_run": reduction(delta_ops, dense_run_ops),
                })
            }
            _ => serde_json::Value::Null,
        },
        _ => serde_json::Value::Null,
    };
    serde_json::json!({
        "dataset": args.data.display().to_string(),
        "dataset_kind": dataset.kind.name(),
        "scored_on": test_split,
        "class_order": names,
        "base": args.base,
        "step": args.step,
        "online": args.online,
        "arith": args.arith.name(),
        "runs": runs.iter().map(Run::to_json).collect::<Vec<_>>(),
        "comparison": comparison,
    })
}
