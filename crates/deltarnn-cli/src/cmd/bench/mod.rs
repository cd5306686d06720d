//! `deltarnn bench`: sparse against dense, timed alternately in one process.
//!
//! The machines we run on are shared and noisy, so every case times its two variants in
//! alternation (A, B, A, B ...) and reports medians and their ratio, never one absolute time.
//! Single-threaded sections time the thread's CPU time (immune to being descheduled by other
//! processes); the epoch section, which compares thread counts, times the wall clock.
//!
//! Sections: `kernels` (forward MxV, fused backward), `step` (one sequence, forward + backward),
//! `batch` (a batch of sequences with the AdamW update, the step peers report; dense both per
//! sequence and batched across sequences, Delta against the faster), `epoch` (one
//! training epoch on a cached dataset, 1 thread and all threads), `update` (the batch-1
//! incremental update of `deltarnn learn --online`).

mod batch;
mod epoch;
mod kernels;
mod step;
mod update;

use anyhow::{bail, Result};
use deltarnn::nn::{CellKind, Mode};

/// Time sparse (Delta) against dense training work at several fired fractions.
#[derive(clap::Args)]
pub struct Args {
    /// Sections to run: kernels, step, batch, epoch, update (the batch-1 incremental update of
    /// `learn --online` on a 1 s utterance) [default: kernels,step,batch, plus epoch when --data
    /// is given].
    #[arg(long, value_delimiter = ',')]
    sections: Vec<Section>,
    /// Shapes to run: paper (16 in, 2 x 64, T 150, 31 classes), gscd (16 in, 1 x 128, T 62,
    /// 36 classes), wide (40 in, 1 x 256, T 100, 31 classes).
    #[arg(long, value_delimiter = ',', default_value = "paper,gscd,wide")]
    shapes: Vec<String>,
    /// Target fractions of the matrix work that fires (a threshold is calibrated for each).
    #[arg(long, value_delimiter = ',', default_value = "1,0.5,0.2,0.1")]
    fired: Vec<f64>,
    /// Recurrent cell.
    #[arg(long, default_value = "lstm")]
    cell: CellKind,
    /// Timed repetitions of each variant per case (after warm-up); medians are reported.
    #[arg(long, default_value_t = 21)]
    repeats: usize,
    /// Sequences per batch in the batch section.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Fired fraction of the Delta network in the batch section.
    #[arg(long, default_value_t = 0.2)]
    batch_fired: f64,
    /// Threads of the batch section: the batch is cut into this many parts whose gradients run
    /// in parallel, timed by the wall clock (one thread: by the thread's CPU time).
    #[arg(long, default_value_t = 1)]
    batch_threads: usize,
    /// Seed for the models and the synthetic inputs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object per case instead of tables.
    #[arg(long)]
    json: bool,
    /// Run every Delta product per fired column: never the matrix product form a Delta layer
    /// uses for a matrix whose inputs mostly fired (times the per-column path alone).
    #[arg(long)]
    no_product_form: bool,
    #[command(flatten)]
    epoch: epoch::EpochArgs,
}

/// What every timed section shares: the cell, repetitions, seed, and how Delta runs.
pub struct Settings {
    /// Recurrent cell.
    pub cell: CellKind,
    /// Timed repetitions per variant.
    pub repeats: usize,
    /// Seed of models and inputs.
    pub seed: u64,
    /// Whether Delta may use the matrix product form.
    pub product_form: bool,
}

impl Settings {
    /// The Delta mode at threshold `theta` (both thresholds) under these settings.
    pub fn delta(&self, theta: f64) -> Mode {
        Mode::Delta(deltarnn::Thresholds::both(theta)).with_product_form(self.product_form)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Section {
    Kernels,
    Step,
    Batch,
    Epoch,
    Update,
}

/// A benchmark shape: (name, features, layers, hidden, frames, classes).
pub type Shape = (&'static str, usize, usize, usize, usize, usize);

/// The shapes of the issue and of ../shared/docs/peers.md.
pub const SHAPES: [Shape; 3] =
    [("paper", 16, 2, 64, 150, 31), ("gscd", 16, 1, 128, 62, 36), ("wide", 40, 1, 256, 100, 31)];

/// Runs `deltarnn bench`.
pub fn run(args: Args) -> Result<()> {
    if args.repeats == 0 {
        bail!("--repeats must be at least 1");
    }
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    if args.batch_threads == 0 || args.batch_threads > args.batch {
        bail!("--batch-threads must be between 1 and --batch ({}), got {}", args.batch, args.batch_threads);
    }
    if let Some(f) = args.fired.iter().chain([&args.batch_fired]).find(|f| !(**f > 0.0 && **f <= 1.0)) {
        bail!("fired fractions must be in (0, 1], got {f}");
    }
    let mut shapes = Vec::new();
    for name in &args.shapes {
        match SHAPES.iter().find(|s| s.0 == name) {
            Some(s) => shapes.push(*s),
            None => bail!("unknown shape '{name}' (known: paper, gscd, wide)"),
        }
    }
    let mut sections = args.sections.clone();
    if sections.is_empty() {
        sections = vec![Section::Kernels, Section::Step, Section::Batch];
        if args.epoch.data.is_some() {
            sections.push(Section::Epoch);
        }
    }
    let out = Output { json: args.json };
    let settings =
        Settings { cell: args.cell, repeats: args.repeats, seed: args.seed, product_form: !args.no_product_form };
    for section in sections {
        match section {
            Section::Kernels => kernels::run(&out, &shapes, &args.fired, args.repeats, args.seed),
            Section::Step => step::run_steps(&out, &shapes, &args.fired, &settings),
            Section::Batch => {
                batch::run_batches(&out, &shapes, args.batch, args.batch_fired, args.batch_threads, &settings)
            }
            Section::Epoch => epoch::run(&out, &args.epoch, &settings)?,
            Section::Update => update::run(&out, &args.fired, &settings),
        }
    }
    Ok(())
}

/// Where results go: a table on stdout, or one JSON object per line.
pub struct Output {
    json: bool,
}

impl Output {
    /// Prints a section title and column header (tables only).
    fn header(&self, title: &str, columns: &str) {
        if !self.json {
            println!("\n{title}\n{columns}");
        }
    }

    /// Prints one case: `row` in table mode, `record` in JSON mode.
    fn case(&self, row: String, record: serde_json::Value) {
        if self.json {
            println!("{record}");
        } else {
            println!("{row}");
        }
    }
}

/// What a timed section measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// The calling thread's CPU time: single-threaded work on a shared machine, immune to the
    /// time the thread spends descheduled.
    ThreadCpu,
    /// The wall clock: work on several threads.
    Wall,
}

impl Clock {
    /// The name in tables and JSON records.
    pub fn name(self) -> &'static str {
        match self {
            Clock::ThreadCpu => "thread_cpu",
            Clock::Wall => "wall",
        }
    }

    /// Seconds `work` took on this clock.
    pub fn seconds(self, work: impl FnOnce()) -> f64 {
        match self {
            Clock::ThreadCpu => cpu_seconds(work),
            Clock::Wall => {
                let start = std::time::Instant::now();
                work();
                start.elapsed().as_secs_f64()
            }
        }
    }
}

/// Thread CPU seconds `work` took: single-threaded work on a shared machine, immune to the
/// time the thread spends descheduled.
pub fn cpu_seconds(work: impl FnOnce()) -> f64 {
    let start = cpu_time::ThreadTime::now();
    work();
    start.elapsed().as_secs_f64()
}

/// Times `a` and `b` alternately, `warmup` untimed pairs then `repeats` timed pairs; returns
/// the median thread CPU seconds of each.
pub fn alternate(warmup: usize, repeats: usize, mut a: impl FnMut(), mut b: impl FnMut()) -> (f64, f64) {
    let medians = alternate_all(Clock::ThreadCpu, warmup, repeats, &mut [&mut a, &mut b]);
    (medians[0], medians[1])
}

/// Times every variant in turn (A, B, C, A, B, C, ...) on `clock`, `warmup` untimed rounds then
/// `repeats` timed rounds; returns the median seconds of each, in the given order.
pub fn alternate_all(clock: Clock, warmup: usize, repeats: usize, variants: &mut [&mut dyn FnMut()]) -> Vec<f64> {
    for _ in 0..warmup {
        variants.iter_mut().for_each(|run| run());
    }
    let mut times = vec![Vec::with_capacity(repeats); variants.len()];
    for _ in 0..repeats {
        for (run, samples) in variants.iter_mut().zip(&mut times) {
            samples.push(clock.seconds(run));
        }
    }
    times.iter_mut().map(|samples| median(samples)).collect()
}

/// Median of a non-empty sample (sorts it).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        0.5 * (values[n / 2 - 1] + values[n / 2])
    }
}
