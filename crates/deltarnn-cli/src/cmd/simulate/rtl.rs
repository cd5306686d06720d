//! `simulate --emit-rtl-inputs DIR` and `simulate --compare-rtl DIR`: the harness that holds the
//! RTL cycle model and the RTL arithmetic against the authors' RTL (docs/rtl.md).
//!
//! Emit writes, for every tile of every workload, the testbench's input files and the values the
//! simulator computes (`<tile>/dat/*.dat`), plus `manifest.json` with each tile's shape and the
//! simulator's cycles per instruction class. `scripts/rtl-check.sh DIR` runs every tile on the
//! RTL and writes `<tile>/rtl.json` (the testbench's cycles and its verdict on the values).
//! Compare reads both and prints, per workload and class, RTL against simulator.

use super::workload::Workload;
use anyhow::{bail, Context, Result};
use deltarnn::files::write_atomic;
use deltarnn::sim::rtl::cycles::tile_cycles;
use deltarnn::sim::rtl::tile::LANES;
use deltarnn::sim::rtl::tiling::{make_tile, places};
use deltarnn::sim::{Format, OpClass};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The harness's flags.
#[derive(clap::Args)]
pub struct RtlArgs {
    /// Write the RTL testbench's inputs for every tile of every workload into DIR (with the
    /// simulator's values and cycles), for scripts/rtl-check.sh DIR.
    #[arg(long, value_name = "DIR", conflicts_with = "compare_rtl")]
    pub emit_rtl_inputs: Option<PathBuf>,
    /// Print the RTL's cycles (from scripts/rtl-check.sh DIR) against the simulator's.
    #[arg(long, value_name = "DIR")]
    pub compare_rtl: Option<PathBuf>,
    /// With --emit-rtl-inputs: end every tile with a step that fires every column with zero
    /// deltas, so the RTL writes out (and the testbench checks) dW at every column, not only at
    /// the last step's; it adds that step's cycles.
    #[arg(long, requires = "emit_rtl_inputs")]
    pub dw_readout: bool,
}

/// One tile in the manifest.
#[derive(Serialize, Deserialize)]
struct TileEntry {
    workload: String,
    layer: usize,
    /// Folder of the tile, relative to the manifest.
    dir: String,
    rows: usize,
    columns: usize,
    steps: usize,
    fired: usize,
    /// The simulator's cycles: mxv, mtxv, vxv.
    predicted: [u64; 3],
}

/// The manifest `--emit-rtl-inputs` writes.
#[derive(Serialize, Deserialize)]
struct Manifest {
    format: Format,
    tiles: Vec<TileEntry>,
}

/// What scripts/rtl-check.sh writes per tile: the testbench's cycles and verdicts.
#[derive(Deserialize)]
struct RtlResult {
    cycles: [u64; 3],
    /// "correct" or "incorrect (...)" per class.
    values: [String; 3],
}

/// Writes every tile of `workloads` in `format` under `dir` (seeded values from `seed`).
pub fn emit(dir: &Path, format: Format, workloads: &[Workload], seed: u64, dw_readout: bool) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tiles = Vec::new();
    for (w_index, w) in workloads.iter().enumerate() {
        for (layer, activity) in w.activities().iter().enumerate() {
            for (k, place) in places(activity).iter().enumerate() {
                let tile_seed = seed ^ ((w_index as u64) << 40) ^ ((layer as u64) << 20) ^ k as u64;
                let Some(tile) = make_tile(format, activity, place, 1e-3, tile_seed) else { continue };
                let tile = if dw_readout { tile.with_dw_readout() } else { tile };
                let rel = format!("w{w_index}-l{layer}-t{k}");
                let outputs = tile.outputs();
                // A result from an earlier emit into the same folder must not pass for this one.
                for stale in ["rtl.json", "rtl.log"] {
                    let path = dir.join(&rel).join(stale);
                    if path.exists() {
                        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
                    }
                }
                let dat = dir.join(&rel).join("dat");
                tile.write_testbench_files(&dat, &outputs)
                    .with_context(|| format!("writing the testbench files of {}", dat.display()))?;
                let fired: Vec<Vec<u32>> =
                    tile.steps.iter().map(|(idx, _)| idx.iter().map(|&j| u32::from(j)).collect()).collect();
                let cycles = tile_cycles((tile.rows / LANES) as u64, &fired);
                tiles.push(TileEntry {
                    workload: w.label.clone(),
                    layer,
                    dir: rel,
                    rows: tile.rows,
                    columns: tile.columns,
                    steps: tile.steps.len(),
                    fired: tile.fired(),
                    predicted: cycles.map(|c| c.total()),
                });
            }
        }
    }
    let path = dir.join("manifest.json");
    let manifest = Manifest { format, tiles };
    write_atomic(&path, serde_json::to_string_pretty(&manifest)?.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {} tiles to {}; run scripts/rtl-check.sh {}", manifest.tiles.len(), dir.display(), dir.display());
    Ok(())
}

/// One workload's tiles summed: RTL and simulator cycles per class, and whether the RTL found
/// every value of the class equal to the simulator's.
struct WorkloadSum {
    name: String,
    tiles: usize,
    rtl: [u64; 3],
    sim: [u64; 3],
    identical: [bool; 3],
}

impl WorkloadSum {
    /// (RTL cycles, simulator cycles, difference in percent, verdict) of class `c`.
    fn class(&self, c: usize) -> (u64, u64, f64, &'static str) {
        let diff = 100.0 * (self.sim[c] as f64 / self.rtl[c].max(1) as f64 - 1.0);
        (self.rtl[c], self.sim[c], diff, if self.identical[c] { "bit-identical" } else { "DIFFER" })
    }
}

/// Reads `dir`'s manifest and every tile's RTL result and sums them per workload, in manifest
/// order; also returns one line per class the RTL found different.
fn sum_results(dir: &Path) -> Result<(Format, usize, Vec<WorkloadSum>, Vec<String>)> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let manifest: Manifest = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut sums: Vec<WorkloadSum> = Vec::new();
    let mut mismatched = Vec::new();
    for t in &manifest.tiles {
        let result_path = dir.join(&t.dir).join("rtl.json");
        let text = std::fs::read_to_string(&result_path).with_context(|| {
            format!("reading {} (run scripts/rtl-check.sh {} first)", result_path.display(), dir.display())
        })?;
        let r: RtlResult = serde_json::from_str(&text).with_context(|| format!("parsing {}", result_path.display()))?;
        if sums.last().is_none_or(|w| w.name != t.workload) {
            let name = t.workload.clone();
            sums.push(WorkloadSum { name, tiles: 0, rtl: [0; 3], sim: [0; 3], identical: [true; 3] });
        }
        let sum = sums.last_mut().expect("pushed above");
        sum.tiles += 1;
        for c in 0..3 {
            sum.rtl[c] += r.cycles[c];
            sum.sim[c] += t.predicted[c];
            if r.values[c] != "correct" {
                sum.identical[c] = false;
                mismatched.push(format!("{} {} {}: {}", t.dir, t.workload, OpClass::ALL[c].name(), r.values[c]));
            }
        }
    }
    Ok((manifest.format, manifest.tiles.len(), sums, mismatched))
}

/// Prints the RTL's cycles against the simulator's for the tiles under `dir`, per workload and
/// class (a table, or one JSON line per workload); fails when a tile has no RTL result or the
/// RTL found a value different from the simulator's.
pub fn compare(dir: &Path, json: bool) -> Result<()> {
    let (format, tiles, sums, mismatched) = sum_results(dir)?;
    if !json {
        println!("RTL against simulator, {format} ({tiles} tiles)");
        println!("{:<24} {:<6} {:>12} {:>12} {:>8}  values", "workload", "class", "RTL cycles", "sim cycles", "diff");
    }
    for w in &sums {
        let mut classes = serde_json::Map::new();
        for (c, class) in OpClass::ALL.iter().enumerate() {
            let (rtl, sim, diff, verdict) = w.class(c);
            if json {
                let entry =
                    serde_json::json!({"rtl_cycles": rtl, "sim_cycles": sim, "diff_percent": diff, "values": verdict});
                classes.insert(class.name().into(), entry);
            } else {
                println!("{:<24} {:<6} {rtl:>12} {sim:>12} {diff:>+7.2}%  {verdict}", w.name, class.name());
            }
        }
        if json {
            println!(
                "{}",
                serde_json::json!({"workload": w.name, "format": format, "tiles": w.tiles, "classes": classes})
            );
        }
    }
    if !mismatched.is_empty() {
        bail!("the RTL computed values different from the simulator's: {}", mismatched.join("; "));
    }
    Ok(())
}
