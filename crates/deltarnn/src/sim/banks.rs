//! On-chip SRAM banks and their conflicts.
//!
//! **Bank mapping.** The SRAM has `sram_banks` banks of `sram_ports` ports each (a port serves
//! one read or one write per cycle), word-interleaved: the word at address a lives in bank
//! a mod banks. The current column (the weight column for MxV and MTxV, the gradient column for
//! VxV; streamed in from DRAM) sits at address 0 of its buffer, the rows-long vector G_t at
//! address banks / 2, so element r of each is in bank r mod banks and (r + banks / 2) mod banks.
//! In row slot i, PE p works on row r = i P + p; per row it makes these accesses:
//!
//! | class | accesses per row |
//! |---|---|
//! | MxV | read `W[r, j]` (the memory M_t is in PE registers) |
//! | MTxV | read `W[r, j]`, read `G[r]` |
//! | VxV | read `G[r]`, read `dW[r, j]`, write `dW[r, j]` back (same bank) |
//!
//! A row slot takes max over banks of ceil(accesses to the bank / ports) cycles (at least 1).
//! With P <= banks / 2 and 2 ports no slot ever conflicts (each stream covers P consecutive
//! banks, the two streams sit half the banks apart, and dW's read and write share the two
//! ports); with more PEs the streams overlap and slots take longer. When P = m x banks and
//! P divides the rows, every slot takes ceil(a m / ports) cycles, a = accesses per row above.

use super::config::SimConfig;
use super::program::OpClass;

/// SRAM accesses per row of `class`: (stream, accesses), stream 0 = the column at bank offset
/// 0, stream 1 = the vector G at bank offset banks / 2.
fn streams(class: OpClass) -> &'static [(usize, u64)] {
    match class {
        OpClass::Mxv => &[(0, 1)],
        OpClass::Mtxv => &[(0, 1), (1, 1)],
        OpClass::Vxv => &[(1, 1), (0, 2)],
    }
}

/// SRAM word accesses per row of a column of `class` (1 MxV, 2 MTxV, 3 VxV).
pub fn accesses_per_row(class: OpClass) -> u64 {
    streams(class).iter().map(|&(_, a)| a).sum()
}

/// Cycles the PEs need for one column of `class` over `rows` rows, bank conflicts included:
/// the sum over row slots of the busiest bank's ceil(accesses / ports). Equals
/// ceil(rows / pes) when nothing conflicts.
pub fn column_cycles(config: &SimConfig, class: OpClass, rows: usize) -> u64 {
    let (pes, banks, ports) = (config.pes, config.sram_banks, config.sram_ports as u64);
    let mut load = vec![0u64; banks];
    let mut cycles = 0;
    for slot in 0..rows.div_ceil(pes) {
        load.iter_mut().for_each(|l| *l = 0);
        for r in slot * pes..((slot + 1) * pes).min(rows) {
            for &(stream, accesses) in streams(class) {
                load[(r + stream * (banks / 2)) % banks] += accesses;
            }
        }
        cycles += load.iter().map(|&l| l.div_ceil(ports)).max().unwrap_or(0).max(1);
    }
    cycles
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::machine::row_cycles;

    #[test]
    fn conflict_free_up_to_half_the_banks_with_two_ports() {
        for pes in [1, 3, 5, 8, 16] {
            let config = SimConfig { pes, sram_banks: 32, sram_ports: 2, ..SimConfig::ideal() };
            for rows in [1, 7, 64, 1000, 1024] {
                for class in OpClass::ALL {
                    assert_eq!(column_cycles(&config, class, rows), row_cycles(rows, pes), "{pes} {rows} {class:?}");
                }
            }
        }
    }

    #[test]
    fn more_pes_than_banks_conflict_as_documented() {
        for (pes, banks, ports) in [(32, 32, 2), (64, 32, 2), (64, 16, 1), (16, 16, 2)] {
            let config = SimConfig { pes, sram_banks: banks, sram_ports: ports, ..SimConfig::ideal() };
            let rows = 1024;
            for (class, a) in [(OpClass::Mxv, 1u64), (OpClass::Mtxv, 2), (OpClass::Vxv, 3)] {
                let m = (pes / banks) as u64;
                let expected = (rows / pes) as u64 * (a * m).div_ceil(ports as u64);
                assert_eq!(column_cycles(&config, class, rows), expected, "{pes} {banks} {ports} {class:?}");
            }
        }
        // One port: even MTxV's two streams half the banks apart fit, but dW's read and write
        // to one bank take two cycles.
        let single = SimConfig { pes: 16, sram_banks: 32, sram_ports: 1, ..SimConfig::ideal() };
        assert_eq!(column_cycles(&single, OpClass::Mtxv, 64), 4);
        assert_eq!(column_cycles(&single, OpClass::Vxv, 64), 8);
    }
}
