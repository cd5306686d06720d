//! The terminal table of `deltarnn learn`: a header, a row per increment, the summary line.

use deltarnn::incremental::IncrementRecord;

/// How a run is named: the Delta network or the dense baseline.
pub fn name(dense: bool) -> &'static str {
    if dense {
        "LSTM, dense BPTT"
    } else {
        "Delta, sparse BPTT"
    }
}

/// The column header.
pub fn header() -> String {
    format!(
        "{:<6} {:>3} {:>7} {:>6} {:>6} {:>6} {:>9} {:>9} {:>6} {:>9} {:>8} {:>8}",
        "run", "inc", "classes", "acc%", "old%", "new%", "GOP", "dense GOP", "-ops%", "ms/update", "mem KB", "peak MB"
    )
}

/// One increment of one run; `peak` is the process's peak memory then.
pub fn row(dense: bool, r: &IncrementRecord, peak: Option<u64>) -> String {
    let pct = |v: Option<f64>| v.map(|v| format!("{:.1}", 100.0 * v)).unwrap_or_else(|| "-".into());
    format!(
        "{:<6} {:>3} {:>7} {:>6} {:>6} {:>6} {:>9.2} {:>9.2} {:>6.1} {:>9.2} {:>8} {:>8}",
        if dense { "dense" } else { "delta" },
        r.increment,
        r.classes_seen,
        pct(Some(r.accuracy)),
        pct(r.old_accuracy),
        pct(Some(r.new_accuracy)),
        r.train_ops as f64 / 1e9,
        r.train_ops_dense as f64 / 1e9,
        100.0 * (1.0 - r.train_ops as f64 / r.train_ops_dense.max(1) as f64),
        1e3 * r.seconds_per_update,
        r.memory_bytes / 1024,
        peak.map(|b| format!("{:.0}", b as f64 / (1 << 20) as f64)).unwrap_or_else(|| "-".into()),
    )
}

/// The last line: final accuracies and the matrix ops the increments saved.
pub fn summary_line(json: &serde_json::Value) -> String {
    let c = &json["comparison"];
    let delta = &json["runs"][0];
    let reduction = delta["increment_ops_reduction"].as_f64().unwrap_or(0.0);
    if c.is_null() {
        format!(
            "final accuracy {:.1}%; the increments used {:.1}% fewer matrix ops than dense BPTT would",
            100.0 * delta["final_accuracy"].as_f64().unwrap_or(0.0),
            100.0 * reduction
        )
    } else {
        format!(
            "final accuracy: Delta {:.1}%, dense {:.1}% ({:+.1} points); increments: {:.1}% fewer matrix ops than dense BPTT",
            100.0 * c["final_accuracy_delta"].as_f64().unwrap_or(0.0),
            100.0 * c["final_accuracy_dense"].as_f64().unwrap_or(0.0),
            c["difference_points"].as_f64().unwrap_or(0.0),
            100.0 * c["increment_ops_reduction_vs_dense_run"].as_f64().unwrap_or(0.0),
        )
    }
}

/// Peak resident memory of this process (VmHWM from /proc/self/status), bytes; None elsewhere.
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
