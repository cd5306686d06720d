//! The accelerator `simulate` models: its flags and the library configuration they make.

use anyhow::{bail, Result};
use deltarnn::sim::{CycleModel, Format, SimConfig};

/// The simulated accelerator.
#[derive(clap::Args)]
pub struct MachineArgs {
    /// Cycle model: rtl (as the authors' RTL counts cycles, checked against it; 16 PEs, 32 B/cycle
    /// DRAM stream) or ideal (the parametric model for design exploration: the flags below).
    #[arg(long, default_value = "rtl")]
    pub model: CycleModel,
    /// RTL model: refuse layers beyond one instruction's 256 rows, 256 columns or 256 steps
    /// instead of tiling them.
    #[arg(long)]
    pub no_tiling: bool,
    /// Processing elements (the RTL model has 16).
    #[arg(long, default_value_t = 16)]
    pub pes: usize,
    /// Datapath number format: bf16 or fxp16.
    #[arg(long, default_value = "bf16")]
    pub format: Format,
    /// Ideal model: DRAM bandwidth, GB/s (10^9 bytes per second).
    #[arg(long, default_value_t = 25.6)]
    pub dram_gbps: f64,
    /// Ideal model: accelerator clock, MHz (DRAM bytes per cycle = GB/s x 1000 / MHz).
    #[arg(long, default_value_t = 200.0)]
    pub clock_mhz: f64,
    /// Ideal model: DRAM latency in cycles (paid by each step descriptor fetch).
    #[arg(long, default_value_t = 100)]
    pub dram_latency: u64,
    /// Ideal model: on-chip SRAM banks (word-interleaved).
    #[arg(long, default_value_t = 32)]
    pub sram_banks: usize,
    /// Ideal model: ports per SRAM bank.
    #[arg(long, default_value_t = 2)]
    pub sram_ports: usize,
    /// Ideal model: widest layer input or hidden size the accelerator accepts.
    #[arg(long, default_value_t = 256)]
    pub max_width: usize,
}

impl MachineArgs {
    /// The accelerator these flags describe with `pes` PEs and `dram_gbps` of DRAM bandwidth
    /// (the sweep varies both, on the idealised model), validated.
    pub fn config(&self, pes: usize, dram_gbps: f64) -> Result<SimConfig> {
        self.config_for(self.model, pes, dram_gbps)
    }

    /// As [`MachineArgs::config`], on cycle model `model`.
    pub fn config_for(&self, model: CycleModel, pes: usize, dram_gbps: f64) -> Result<SimConfig> {
        if !(self.clock_mhz.is_finite() && self.clock_mhz > 0.0) {
            bail!("--clock-mhz must be positive, got {}", self.clock_mhz);
        }
        if !(dram_gbps.is_finite() && dram_gbps > 0.0) {
            bail!("--dram-gbps must be positive, got {dram_gbps}");
        }
        let config = SimConfig {
            model,
            tiling: !self.no_tiling,
            pes,
            dram_bytes_per_cycle: dram_gbps * 1000.0 / self.clock_mhz,
            dram_latency_cycles: self.dram_latency,
            max_width: self.max_width,
            sram_banks: self.sram_banks,
            sram_ports: self.sram_ports,
            ..SimConfig::default()
        };
        config.validate()?;
        Ok(config)
    }
}
