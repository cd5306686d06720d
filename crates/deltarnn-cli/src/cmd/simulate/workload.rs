//! What `simulate` runs: the layer traces of a trace file, or generated layers at given
//! sparsities, and the flags that choose them.

use anyhow::{bail, Context, Result};
use deltarnn::delta::ActivityTrace;
use deltarnn::nn::CellKind;
use deltarnn::rng::Rng;
use deltarnn::sim::rtl::tiling::MatrixActivity;
use deltarnn::sim::{generate_trace, simulate_layer, simulate_matrix, Comparison, CycleModel, SimConfig};
use deltarnn::tracefile;
use std::path::PathBuf;

/// The workloads to simulate: a recorded trace file, or generated traces.
#[derive(clap::Args)]
pub struct WorkloadArgs {
    /// Activity-trace file (docs/trace-format.md) to replay instead of generated traces.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["sparsity", "width", "input_width", "steps", "cell", "rows"])]
    pub trace: Option<PathBuf>,
    /// Temporal sparsities of the generated traces (fraction of the columns that do not fire).
    #[arg(long, value_delimiter = ',', default_value = "0.5,0.8,0.9")]
    pub sparsity: Vec<f64>,
    /// Generated layer width: input size and hidden size.
    #[arg(long, default_value_t = 256)]
    pub width: usize,
    /// Generated layer input size, when it differs from --width (the hidden size).
    #[arg(long)]
    pub input_width: Option<usize>,
    /// Generated time steps.
    #[arg(long, default_value_t = 256)]
    pub steps: usize,
    /// Recurrent cell of generated traces (rows = 4 x width for LSTM, 3 x width for GRU).
    #[arg(long, default_value = "lstm")]
    pub cell: CellKind,
    /// Generate one weight matrix of this many rows over --width fired-or-not columns instead
    /// of a recurrent layer: the authors' testbench workload (RTL model only).
    #[arg(long)]
    pub rows: Option<usize>,
    /// Seed of generated traces and of the weights and gradients of the value check.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// A set of layer traces simulated together (one generated layer, or every layer of every
/// sequence of a trace file), run back to back.
pub struct Workload {
    /// Short name for tables ("s=0.90" or the file name).
    pub label: String,
    /// Cell of every layer.
    pub cell: CellKind,
    /// The layer traces.
    pub traces: Vec<ActivityTrace<f32>>,
    /// A single-matrix workload: its rows (each trace's input is its columns; no hidden part).
    pub matrix_rows: Option<usize>,
}

impl Workload {
    /// Fraction of delta elements that did not fire, over every trace.
    pub fn sparsity(&self) -> f64 {
        let (mut fired, mut total) = (0usize, 0usize);
        for t in &self.traces {
            fired += t.input.fired() + t.hidden.fired();
            total += t.steps() * (t.n_input + t.n_hidden);
        }
        1.0 - fired as f64 / total.max(1) as f64
    }

    /// Each trace as the weight matrix it drives: rows and combined [x; h] columns.
    pub fn activities(&self) -> Vec<MatrixActivity> {
        let gates = self.cell.gates();
        self.traces
            .iter()
            .map(|t| {
                let mut a = MatrixActivity::layer(gates, t);
                if let Some(rows) = self.matrix_rows {
                    a.rows = rows;
                }
                a
            })
            .collect()
    }

    /// Checks that every trace runs on `config`.
    pub fn check(&self, config: &SimConfig) -> Result<()> {
        if self.matrix_rows.is_some() && config.model != CycleModel::Rtl {
            bail!("--rows (a single-matrix workload) needs the RTL model (--model rtl)");
        }
        for (t, a) in self.traces.iter().zip(self.activities()) {
            config
                .check_layer(t.n_input, t.n_hidden, a.rows, t.steps())
                .with_context(|| format!("simulating {}", self.label))?;
        }
        Ok(())
    }

    /// Simulates every trace dense and sparse and sums the counts.
    pub fn simulate(&self, config: &SimConfig) -> deltarnn::Result<Comparison> {
        let mut total: Option<Comparison> = None;
        for (trace, activity) in self.traces.iter().zip(self.activities()) {
            let c = match self.matrix_rows {
                Some(_) => simulate_matrix(&activity),
                None => simulate_layer(config, self.cell, trace)?,
            };
            match &mut total {
                Some(t) => t.add(&c),
                None => total = Some(c),
            }
        }
        Ok(total.unwrap_or(Comparison { dense: Default::default(), sparse: Default::default() }))
    }
}

impl WorkloadArgs {
    /// The workloads: the trace file's, or one generated layer per sparsity.
    pub fn workloads(&self) -> Result<Vec<Workload>> {
        if let Some(path) = &self.trace {
            let file = tracefile::read(path).with_context(|| format!("reading trace file {}", path.display()))?;
            let label = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if file.sequences.is_empty() {
                bail!("trace file {} holds no sequences", path.display());
            }
            let traces = file.sequences.into_iter().flatten().collect();
            return Ok(vec![Workload { label, cell: file.cell, traces, matrix_rows: None }]);
        }
        if let Some(s) = self.sparsity.iter().find(|s| !(**s >= 0.0 && **s < 1.0)) {
            bail!("--sparsity values must be in [0, 1), got {s}");
        }
        if self.steps == 0 {
            bail!("--steps must be at least 1");
        }
        let input = self.input_width.unwrap_or(self.width);
        if self.width == 0 || input == 0 || self.rows == Some(0) {
            bail!("--width, --input-width and --rows must be at least 1");
        }
        if self.rows.is_some() && self.input_width.is_some() {
            bail!("--rows makes a single matrix over --width columns; --input-width does not apply");
        }
        let hidden = if self.rows.is_some() { 0 } else { self.width };
        Ok(self
            .sparsity
            .iter()
            .map(|&s| Workload {
                label: match self.rows {
                    Some(rows) => format!("{rows}x{} s={s:.2}", self.width),
                    None => format!("s={s:.2}"),
                },
                cell: self.cell,
                traces: vec![generate_trace(input, hidden, self.steps, s, &mut Rng::seed(self.seed))],
                matrix_rows: self.rows,
            })
            .collect())
    }
}
