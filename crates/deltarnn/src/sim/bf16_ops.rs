//! BF16 multiply and add as the authors' accelerator computes them: Synopsys DesignWare
//! `DW_fp_mult` / `DW_fp_add` with sig_width 7, exp_width 8, `ieee_compliance` 0 and `rnd` 000
//! (round to nearest, ties to even). DesignWare is proprietary; these are the project's own
//! definitions of that mode, shared bit for bit with the open SystemVerilog models in
//! `tools/rtl/designware/` (checked against each other by `scripts/rtl-dw-check.sh` and the RTL
//! suite's `designware` test).
//!
//! # Semantics (`ieee_compliance` = 0)
//!
//! BF16 is 1 sign, 8 exponent (bias 127) and 7 fraction bits.
//!
//! - **Inputs:** exponent 0 (zero or denormal) reads as a zero of its sign; exponent 255 reads as
//!   an infinity of its sign whatever the fraction (there are no NaNs).
//! - **Finite results:** the exact result is rounded once to 8 significant bits, to nearest with
//!   ties to even, with an unbounded exponent. A rounded magnitude >= 2^128 gives the infinity of
//!   the result's sign; a rounded magnitude below 2^-126 (the smallest normal) gives the zero of
//!   the result's sign (flush to zero after rounding). Nothing else is ever produced: outputs are
//!   normals, signed zeros 0x0000 / 0x8000 and infinities 0x7F80 / 0xFF80.
//! - **Exact zeros:** a product's sign is the xor of the signs. A sum x + (-x) is +0,
//!   (+0) + (+0) = +0, (-0) + (-0) = -0, (+0) + (-0) = +0; zero + y = y.
//! - **Infinities:** inf x finite non-zero and inf x inf give the infinity with the xor sign,
//!   inf + finite and inf + inf of one sign give that infinity.
//! - **Invalid operations** (no NaN to return): inf x 0 gives the infinity with the xor sign;
//!   inf + (-inf) gives +inf (0x7F80). The hardware models raise their `invalid` status bit.
//!
//! The hardware models also drive a DesignWare-layout status byte (bit 0 zero, 1 infinity,
//! 2 invalid, 3 tiny, 4 huge, 5 inexact); the accelerator ignores it and so does this module.

/// Smallest normal BF16 magnitude, 2^-126.
const MIN_NORMAL: f64 = 1.0 / (1u128 << 126) as f64;
/// The first magnitude past the largest finite BF16, 2^128.
const OVERFLOW: f64 = (1u128 << 127) as f64 * 2.0;

/// A BF16 word as an exact f64 under the `ieee_compliance` = 0 reading: exponent 0 is a signed
/// zero, exponent 255 a signed infinity.
fn decode(w: u16) -> f64 {
    let negative = w & 0x8000 != 0;
    let magnitude = match (w >> 7) & 0xFF {
        0 => 0.0,
        255 => f64::INFINITY,
        // A normal BF16 is the top half of the f32 with the same bits; f32 -> f64 is exact.
        _ => f64::from(f32::from_bits(u32::from(w & 0x7FFF) << 16)),
    };
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// Rounds a finite f64 once to 8 significant bits (nearest, ties to even, unbounded exponent),
/// then flushes below 2^-126 and overflows from 2^128, and returns the BF16 word.
fn round_to_bf16(x: f64) -> u16 {
    if x.is_infinite() {
        return if x < 0.0 { 0xFF80 } else { 0x7F80 };
    }
    if x == 0.0 {
        return if x.is_sign_negative() { 0x8000 } else { 0x0000 };
    }
    // x is a normal f64 here (sums and products of BF16 normals lie within 2^-252 .. 2^256), so
    // keeping the top 7 of its 52 fraction bits is rounding to 8 significant bits. Adding
    // 2^44 - 1 plus the kept LSB rounds the 45 dropped bits to nearest, ties to even; a carry out
    // of the fraction correctly bumps the exponent.
    let bits = x.to_bits();
    let keep_lsb = (bits >> 45) & 1;
    let rounded = f64::from_bits((bits + (1 << 44) - 1 + keep_lsb) & !((1u64 << 45) - 1));
    let sign = if rounded < 0.0 { 0x8000 } else { 0 };
    if rounded.abs() >= OVERFLOW {
        sign | 0x7F80
    } else if rounded.abs() < MIN_NORMAL {
        sign
    } else {
        // Exactly representable now: the f32 conversion is exact and its top half is the word.
        ((rounded as f32).to_bits() >> 16) as u16
    }
}

/// BF16 product `a * b` as DesignWare `DW_fp_mult` computes it with `ieee_compliance` = 0 and
/// round to nearest even: denormal inputs read as signed zeros and exponent-255 inputs as
/// infinities (no NaNs); the exact product is rounded once to 8 significant bits with an
/// unbounded exponent, then gives infinity from 2^128 and a signed zero below 2^-126. Zero
/// results carry the xor of the signs; inf x 0 (invalid) gives the infinity with that sign.
/// See the module docs.
pub fn bf16_mul(a: u16, b: u16) -> u16 {
    let (x, y) = (decode(a), decode(b));
    if (x.is_infinite() && y == 0.0) || (x == 0.0 && y.is_infinite()) {
        return ((a ^ b) & 0x8000) | 0x7F80;
    }
    // Exact: 8 x 8 significand bits fit f64's 53, and 2^-252 .. 2^256 is inside its range. So
    // the single rounding below is the only one. IEEE f64 already gives inf x y and the signed
    // zeros of the xor sign.
    round_to_bf16(x * y)
}

/// BF16 sum `a + b` as DesignWare `DW_fp_add` computes it with `ieee_compliance` = 0 and round to
/// nearest even: denormal inputs read as signed zeros and exponent-255 inputs as infinities (no
/// NaNs); the exact sum is rounded once to 8 significant bits with an unbounded exponent, then
/// gives infinity from 2^128 and a zero of the result's sign below 2^-126. x + (-x) = +0,
/// (-0) + (-0) = -0, other zero sums +0; inf + (-inf) (invalid) gives +inf. See the module docs.
pub fn bf16_add(a: u16, b: u16) -> u16 {
    let (x, y) = (decode(a), decode(b));
    if x.is_infinite() && y.is_infinite() && x != y {
        return 0x7F80;
    }
    // Rounding the exact sum s to f64 and then to 8 bits is a double rounding, innocuous for
    // addition when the first precision is at least 2p + 2 bits (Figueroa, "When is double
    // rounding innocuous?", SIGNUM Newsletter 1995; here p = 8 and 53 >= 18). Directly: when the
    // operands' exponents differ by at most 44, s fits in 8 + 44 + 1 = 53 bits and the f64 sum is
    // exact. Otherwise |y| < 2^-44 |x|, so s and its f64 rounding both lie within 2^-44 |x| of x,
    // which is a BF16 value, while the BF16 midpoints nearest x are at least 2^-9 |x| away: both
    // round to x. IEEE f64 also gives x + (-x) = +0, the signed zero sums and inf + finite.
    round_to_bf16(x + y)
}

/// [`bf16_mul`] through f32, several times faster, the same word for every operand pair (checked
/// on all 2^32 pairs once; a test compares millions). The product of two BF16 significands is
/// exact in f32 whenever it is a normal f32; one that overflows f32 is at least 2^128 and one
/// that underflows to an f32 subnormal is below 2^-126 but keeps 16 or more bits there, so the
/// rounding to 8 bits and the flush decide as on the exact product.
#[inline(always)]
pub fn bf16_mul_fast(a: u16, b: u16) -> u16 {
    let p = fast_decode(a) * fast_decode(b);
    // inf x 0 (the only NaN): the infinity with the xor of the signs.
    let infinity = ((a ^ b) & 0x8000) | 0x7F80;
    select(p.is_nan(), infinity, fast_round(p))
}

/// [`bf16_add`] through f32, the same word for every operand pair (as [`bf16_mul_fast`]). When the
/// exponents differ by at most 15 the f32 sum is exact; otherwise the smaller operand is below
/// 2^-15 of the larger, a BF16 value whose nearest rounding midpoints are 2^-9 of it away, so the
/// exact sum and the f32 sum both round to the larger.
#[inline(always)]
pub fn bf16_add_fast(a: u16, b: u16) -> u16 {
    let s = fast_decode(a) + fast_decode(b);
    // inf + (-inf) (the only NaN): +inf.
    select(s.is_nan(), 0x7F80, fast_round(s))
}

/// `if condition { a } else { b }` with both sides computed: the fast ops are written without
/// branches so that loops over independent sums vectorise.
#[inline(always)]
fn select(condition: bool, a: u16, b: u16) -> u16 {
    let mask = u16::from(condition).wrapping_neg();
    (a & mask) | (b & !mask)
}

/// A BF16 word as f32 under the `ieee_compliance` = 0 reading (exponent 0: signed zero; 255:
/// signed infinity), without branches.
#[inline(always)]
fn fast_decode(w: u16) -> f32 {
    let bits = u32::from(w) << 16;
    let exponent = bits & 0x7F80_0000;
    let keep = if exponent == 0 {
        0x8000_0000
    } else if exponent == 0x7F80_0000 {
        0xFF80_0000
    } else {
        0xFFFF_FFFF
    };
    f32::from_bits(bits & keep)
}

/// f32 to BF16, nearest with ties to even (a carry bumps the exponent, up to infinity), then a
/// result below 2^-126 flushed to the zero of its sign. An f32 subnormal is rounded with an
/// unbounded exponent, as the exact value would be: it becomes 2^-126 from the midpoint
/// (1 - 2^-9) 2^-126 up (ties go to the even 2^-126), else zero; rounding its bit pattern would
/// use the subnormal grid, which is coarser.
#[inline(always)]
fn fast_round(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = (bits >> 16) as u16 & 0x8000;
    let subnormal_or_zero = bits & 0x7F80_0000 == 0;
    let from_subnormal = select(bits & 0x7FFF_FFFF >= 0x007F_C000, sign | 0x0080, sign);
    let rounded = (bits.wrapping_add(0x7FFF + ((bits >> 16) & 1)) >> 16) as u16;
    let from_normal = select(rounded & 0x7F80 == 0, sign, rounded);
    select(subnormal_or_zero, from_subnormal, from_normal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// An independent reference: exact integer significands, the exponent tracked separately.
    #[derive(Clone, Copy)]
    enum Val {
        Zero(bool),
        Inf(bool),
        /// (negative, significand in 128..256, value = significand x 2^exp)
        Num(bool, u128, i32),
    }

    fn reference_decode(w: u16) -> Val {
        let negative = w >> 15 == 1;
        let e = i32::from((w >> 7) & 0xFF);
        match e {
            0 => Val::Zero(negative),
            255 => Val::Inf(negative),
            _ => Val::Num(negative, 128 + u128::from(w & 0x7F), e - 127 - 7),
        }
    }

    /// Rounds `negative` x `m` x 2^`e` (m > 0) to the BF16 word by integer arithmetic.
    fn reference_round(negative: bool, m: u128, e: i32) -> u16 {
        let sign = if negative { 0x8000 } else { 0 };
        let bits = 128 - m.leading_zeros() as i32;
        let (mut q, mut e) = if bits > 8 {
            let shift = bits - 8;
            let (q, rem, half) = (m >> shift, m & ((1u128 << shift) - 1), 1u128 << (shift - 1));
            let up = rem > half || (rem == half && q & 1 == 1);
            (q + u128::from(up), e + shift)
        } else {
            (m << (8 - bits), e - (8 - bits))
        };
        if q == 256 {
            q = 128;
            e += 1;
        }
        // Value q x 2^e with q in 128..256: the leading bit weighs 2^(e + 7).
        let biased = e + 7 + 127;
        if biased >= 255 {
            sign | 0x7F80
        } else if biased <= 0 {
            sign
        } else {
            sign | (biased as u16) << 7 | (q - 128) as u16
        }
    }

    fn reference_mul(a: u16, b: u16) -> u16 {
        let sign = (a ^ b) & 0x8000;
        match (reference_decode(a), reference_decode(b)) {
            (Val::Inf(_), _) | (_, Val::Inf(_)) => sign | 0x7F80,
            (Val::Zero(_), _) | (_, Val::Zero(_)) => sign,
            (Val::Num(sa, ma, ea), Val::Num(sb, mb, eb)) => reference_round(sa != sb, ma * mb, ea + eb),
        }
    }

    fn reference_add(a: u16, b: u16) -> u16 {
        match (reference_decode(a), reference_decode(b)) {
            (Val::Inf(sa), Val::Inf(sb)) => {
                if sa && sb {
                    0xFF80
                } else {
                    0x7F80
                }
            }
            (Val::Inf(s), _) | (_, Val::Inf(s)) => {
                if s {
                    0xFF80
                } else {
                    0x7F80
                }
            }
            (Val::Zero(sa), Val::Zero(sb)) => {
                if sa && sb {
                    0x8000
                } else {
                    0
                }
            }
            (Val::Zero(_), Val::Num(..)) => b,
            (Val::Num(..), Val::Zero(_)) => a,
            (Val::Num(sa, ma, ea), Val::Num(sb, mb, eb)) => {
                // Bring both to the smaller exponent, signed, shifting the larger up by the gap
                // clamped to 100 bits (to stay inside i128). A clamped gap only scales the
                // smaller operand up to a value still below 2^-90 of the larger: the true and the
                // scaled sum both lie that close to the larger operand, a BF16 value far from any
                // rounding midpoint, and both round to it.
                let (hi, lo) = if ea >= eb { ((sa, ma, ea), (sb, mb, eb)) } else { ((sb, mb, eb), (sa, ma, ea)) };
                let gap = (hi.2 - lo.2).min(100);
                let signed = |neg: bool, m: i128| if neg { -m } else { m };
                let sum = signed(hi.0, (hi.1 as i128) << gap) + signed(lo.0, lo.1 as i128);
                match sum.cmp(&0) {
                    std::cmp::Ordering::Equal => 0,
                    _ => reference_round(sum < 0, sum.unsigned_abs(), hi.2 - gap),
                }
            }
        }
    }

    #[test]
    fn hand_picked_products() {
        assert_eq!(bf16_mul(0x3F80, 0x3F80), 0x3F80, "1 x 1");
        assert_eq!(bf16_mul(0x3FC0, 0xC000), 0xC040, "1.5 x -2 = -3");
        // (1 + 2^-7)^2 = 1 + 2^-6 + 2^-14: below the midpoint, rounds down to 1 + 2^-6.
        assert_eq!(bf16_mul(0x3F81, 0x3F81), 0x3F82);
        // 1.9921875^2 = (2 - 2^-7)^2 = 4 - 2^-5 + 2^-14 rounds down to 3.96875 (0x407E).
        assert_eq!(bf16_mul(0x3FFF, 0x3FFF), 0x407E);
        assert_eq!(bf16_mul(0x0080, 0x3F00), 0x0000, "min normal x 0.5 flushes");
        assert_eq!(bf16_mul(0x8080, 0x3F00), 0x8000, "negative flush keeps the sign");
        // min normal x (1 - 2^-8) is exact and tiny: flushed.
        assert_eq!(bf16_mul(0x0080, 0x3F7F), 0x0000);
        // (1 + 2^-7) 2^-126 x (1 - 2^-7) = (1 - 2^-14) 2^-126 rounds up to 2^-126 first: kept.
        assert_eq!(bf16_mul(0x0081, 0x3F7E), 0x0080);
        assert_eq!(bf16_mul(0x7F7F, 0x4000), 0x7F80, "max x 2 overflows");
        assert_eq!(bf16_mul(0xFF7F, 0x4000), 0xFF80);
        // 2^127 x 1.9921875 stays finite.
        assert_eq!(bf16_mul(0x7F00, 0x3FFF), 0x7F7F);
        assert_eq!(bf16_mul(0x0001, 0x3F80), 0x0000, "denormal reads as zero");
        assert_eq!(bf16_mul(0x807F, 0x3F80), 0x8000, "negative denormal is -0");
        assert_eq!(bf16_mul(0x0000, 0xBF80), 0x8000, "0 x -1 = -0");
        assert_eq!(bf16_mul(0x8000, 0x8000), 0x0000);
        assert_eq!(bf16_mul(0x7F80, 0x0000), 0x7F80, "inf x 0: invalid, infinity");
        assert_eq!(bf16_mul(0x8000, 0x7F80), 0xFF80);
        assert_eq!(bf16_mul(0x7F80, 0xBF80), 0xFF80);
        assert_eq!(bf16_mul(0x7FC0, 0x3F80), 0x7F80, "exponent 255 with a fraction is infinity");
        assert_eq!(bf16_mul(0xFF81, 0x0080), 0xFF80);
    }

    #[test]
    fn hand_picked_sums() {
        assert_eq!(bf16_add(0x3F80, 0x3F80), 0x4000, "1 + 1");
        assert_eq!(bf16_add(0x3F80, 0x3B80), 0x3F80, "1 + 2^-8 ties to even, down");
        assert_eq!(bf16_add(0x3F81, 0x3B80), 0x3F82, "(1 + 2^-7) + 2^-8 ties to even, up");
        assert_eq!(bf16_add(0x3F80, 0x3BC0), 0x3F81, "1 + 3 x 2^-9 rounds up");
        assert_eq!(bf16_add(0x3F80, 0xBB80), 0x3F7F, "1 - 2^-8 = 0.99609375 is exact");
        assert_eq!(bf16_add(0x3F80, 0xB780), 0x3F80, "1 - 2^-16 rounds back to 1");
        assert_eq!(bf16_add(0x3F80, 0x0080), 0x3F80, "1 + min normal");
        assert_eq!(bf16_add(0x7F7F, 0x7F7F), 0x7F80, "max + max overflows");
        assert_eq!(bf16_add(0x7F7F, 0x7B00), 0x7F80, "max + half an ulp ties up to 2^128: overflow");
        assert_eq!(bf16_add(0x7F7F, 0x7AFF), 0x7F7F, "max + just under half an ulp stays");
        // (1 + 2^-7) 2^-126 - 2^-126 = 2^-133: tiny, flushed with the result's sign.
        assert_eq!(bf16_add(0x0081, 0x8080), 0x0000);
        assert_eq!(bf16_add(0x8081, 0x0080), 0x8000);
        assert_eq!(bf16_add(0x0100, 0x8080), 0x0080, "2^-125 - 2^-126 = min normal");
        assert_eq!(bf16_add(0x3F80, 0xBF80), 0x0000, "x + (-x) = +0");
        assert_eq!(bf16_add(0xBF80, 0x3F80), 0x0000);
        assert_eq!(bf16_add(0x0000, 0x0000), 0x0000);
        assert_eq!(bf16_add(0x8000, 0x8000), 0x8000);
        assert_eq!(bf16_add(0x0000, 0x8000), 0x0000);
        assert_eq!(bf16_add(0x8000, 0x0000), 0x0000);
        assert_eq!(bf16_add(0x8001, 0x807F), 0x8000, "denormals are -0 + -0");
        assert_eq!(bf16_add(0x0001, 0xBF80), 0xBF80, "denormal + y = y");
        assert_eq!(bf16_add(0x8000, 0x4040), 0x4040);
        assert_eq!(bf16_add(0x7F80, 0xFF80), 0x7F80, "inf - inf: invalid, +inf");
        assert_eq!(bf16_add(0xFF80, 0x7F80), 0x7F80);
        assert_eq!(bf16_add(0xFF80, 0xFF80), 0xFF80);
        assert_eq!(bf16_add(0xFF80, 0x7F7F), 0xFF80);
        assert_eq!(bf16_add(0x7F81, 0xFFFF), 0x7F80, "exponent-255 inputs are infinities: inf - inf");
        assert_eq!(bf16_add(0xFFC0, 0x3F80), 0xFF80);
    }

    #[test]
    fn the_reference_agrees_on_the_hand_picked_cases() {
        for (a, b) in [(0x3F80, 0x3B80), (0x3F81, 0x3B80), (0x0081, 0x8080), (0x7F7F, 0x7B00), (0x3F80, 0xB780)] {
            assert_eq!(reference_add(a, b), bf16_add(a, b), "{a:#06x} + {b:#06x}");
        }
        for (a, b) in [(0x3F81, 0x3F81), (0x0080, 0x3F7F), (0x0081, 0x3F7E), (0x7F00, 0x3FFF), (0x0080, 0x3F00)] {
            assert_eq!(reference_mul(a, b), bf16_mul(a, b), "{a:#06x} x {b:#06x}");
        }
    }

    #[test]
    fn random_pairs_match_the_integer_reference() {
        let mut rng = Rng::seed(0x0bf1_6000);
        let check = |a: u16, b: u16| {
            assert_eq!(bf16_mul(a, b), reference_mul(a, b), "{a:#06x} x {b:#06x}");
            assert_eq!(bf16_add(a, b), reference_add(a, b), "{a:#06x} + {b:#06x}");
        };
        for _ in 0..300_000 {
            let r = rng.next_u64();
            let a = r as u16;
            check(a, (r >> 16) as u16);
            // Targeted partners: exponents close to a's (sums that cancel or tie), and exponents
            // whose product lands near 2^-126 or 2^128.
            let ea = i32::from((a >> 7) & 0xFF);
            let delta = (r >> 32) as i32 % 5 - 2;
            let partner =
                |e: i32| ((r >> 37) as u16 & 0x8000) | ((e.clamp(0, 255) as u16) << 7) | ((r >> 40) as u16 & 0x7F);
            for eb in [ea + delta, 128 - ea + delta, 381 - ea + delta] {
                check(a, partner(eb));
            }
        }
        // All pairs of a few values near 1 and the range ends, both signs.
        let specials: Vec<u16> =
            [0x0000u16, 0x0001, 0x0080, 0x0081, 0x00FF, 0x3F7F, 0x3F80, 0x3F81, 0x7F7F, 0x7F80, 0x7FFF]
                .iter()
                .flat_map(|&w| [w, w | 0x8000])
                .collect();
        for &a in &specials {
            for &b in &specials {
                check(a, b);
            }
        }
    }

    #[test]
    fn the_fast_ops_equal_the_reference_ops() {
        let mut rng = Rng::seed(11);
        let special: Vec<u16> = (0..512u32)
            .map(|i| {
                let exps = [0u16, 1, 2, 7, 119, 120, 126, 127, 128, 134, 135, 247, 248, 253, 254, 255];
                let e = exps[(i as usize / 16) % 16];
                let frac =
                    [0u16, 1, 0x3F, 0x40, 0x41, 0x7E, 0x7F, 0x55, 0x2A, 0x10, 0x01, 0x7F, 0x00, 0x3F, 0x40, 0x20]
                        [i as usize % 16];
                ((i as u16 >> 8) << 15) | (e << 7) | frac
            })
            .collect();
        let check = |a: u16, b: u16| {
            assert_eq!(bf16_mul_fast(a, b), bf16_mul(a, b), "mul {a:#06x} {b:#06x}");
            assert_eq!(bf16_add_fast(a, b), bf16_add(a, b), "add {a:#06x} {b:#06x}");
        };
        for &a in &special {
            for &b in &special {
                check(a, b);
            }
        }
        for _ in 0..2_000_000 {
            check(rng.below(1 << 16) as u16, rng.below(1 << 16) as u16);
        }
    }

    /// Every one of the 2^32 operand pairs, fast against reference (about a minute on 2 cores):
    /// `cargo test -p deltarnn --release --lib exhaustive_fast_ops -- --ignored`.
    #[test]
    #[ignore]
    fn exhaustive_fast_ops() {
        use rayon::prelude::*;
        let mismatches: u64 = (0..=u16::MAX)
            .into_par_iter()
            .map(|a| {
                (0..=u16::MAX)
                    .filter(|&b| bf16_mul_fast(a, b) != bf16_mul(a, b) || bf16_add_fast(a, b) != bf16_add(a, b))
                    .count() as u64
            })
            .sum();
        assert_eq!(mismatches, 0);
    }
}
