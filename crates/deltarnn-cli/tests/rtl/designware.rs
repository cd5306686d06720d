//! The project's open models of DesignWare `DW_fp_mult` / `DW_fp_add` (tools/rtl/designware/,
//! BF16 with `ieee_compliance` 0, round to nearest even) against `deltarnn::sim::bf16_ops`, bit for
//! bit: `scripts/rtl-dw-check.sh` runs the models under Verilator on 512 x 512 special operand
//! pairs and 16777216 random ones and writes every result; this test recomputes each in Rust.

use crate::util::run_script;
use deltarnn::sim::bf16_ops::{bf16_add, bf16_mul};
use std::time::Instant;

const RANDOM_PAIRS: u64 = 16_777_216;
const SPECIAL_PAIRS: u64 = 512 * 512;

#[test]
fn designware_models_match_the_rust_bf16_ops_bit_for_bit() {
    let start = Instant::now();
    let out = run_script("rtl-dw-check.sh", &[&RANDOM_PAIRS.to_string(), "1"]);
    let path = out.lines().last().expect("rtl-dw-check.sh printed no path").trim().to_owned();
    let simulated = start.elapsed();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    assert!(bytes.len() >= 16, "{path}: {} bytes, no header", bytes.len());
    assert_eq!(&bytes[0..4], b"DWCK", "{path}: bad magic");
    assert_eq!(u32::from_le_bytes(bytes[4..8].try_into().unwrap()), 1, "{path}: version");
    let count = u64::from_le_bytes(bytes[8..16].try_into().unwrap());
    assert_eq!(count, SPECIAL_PAIRS + RANDOM_PAIRS, "{path}: record count");
    let body = &bytes[16..];
    assert_eq!(body.len() as u64, count * 8, "{path}: {count} records need {} bytes", count * 8);

    let word = |r: &[u8], i: usize| u16::from_le_bytes([r[2 * i], r[2 * i + 1]]);
    let mut mismatches = 0u64;
    for (n, record) in body.chunks_exact(8).enumerate() {
        let (a, b, mul, add) = (word(record, 0), word(record, 1), word(record, 2), word(record, 3));
        let (want_mul, want_add) = (bf16_mul(a, b), bf16_add(a, b));
        if mul != want_mul || add != want_add {
            if mismatches < 10 {
                println!(
                    "record {n}: a {a:#06x} b {b:#06x}: mult rtl {mul:#06x} rust {want_mul:#06x}, add rtl {add:#06x} rust {want_add:#06x}"
                );
            }
            mismatches += 1;
        }
    }
    println!(
        "designware: {count} pairs checked ({SPECIAL_PAIRS} special x special, {RANDOM_PAIRS} random), mult and add each; \
         {mismatches} mismatches; script {:.1} s, total {:.1} s",
        simulated.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    assert_eq!(mismatches, 0, "{mismatches} of {count} pairs differ between the RTL models and bf16_ops");
}
