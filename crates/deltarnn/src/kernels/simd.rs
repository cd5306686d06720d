//! Runtime CPU dispatch: each hot body is compiled twice, once for the baseline target and once
//! with AVX2+FMA enabled, and the wide copy runs when the CPU has both features. Bodies written
//! over a lane count (`=> body::<lanes>`) get a third copy with AVX-512 (F, VL, BW, DQ); the
//! lane count is 16 in that copy, 8 in the AVX2 copy and 4 in the baseline, so a body can also
//! tell which copy it is in (see [`fire_bits_f32`]).
//!
//! The copies come from the same safe `#[inline(always)]` body, every operation is per element
//! (the lane count only groups them), and Rust never contracts `a * b + c` into a fused
//! multiply-add on its own, so every copy gives identical bits (tested in `tests/it/kernels.rs`).
//! `DELTARNN_NO_SIMD=1` forces the baseline, `DELTARNN_NO_AVX512=1` the AVX2 copy. This is the
//! only module that may use `unsafe`.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU8, Ordering};

static WIDE: AtomicU8 = AtomicU8::new(UNKNOWN);
static WIDEST: AtomicU8 = AtomicU8::new(UNKNOWN);
const UNKNOWN: u8 = 0;
const YES: u8 = 1;
const NO: u8 = 2;

/// True when the running CPU has AVX2 and FMA and `DELTARNN_NO_SIMD` is not set.
pub fn wide_available() -> bool {
    match WIDE.load(Ordering::Relaxed) {
        YES => true,
        NO => false,
        _ => {
            let wide = detect();
            WIDE.store(if wide { YES } else { NO }, Ordering::Relaxed);
            wide
        }
    }
}

/// True when [`wide_available`] and the running CPU has AVX-512 F, VL, BW and DQ, and
/// `DELTARNN_NO_AVX512` is not set.
pub fn avx512_available() -> bool {
    match WIDEST.load(Ordering::Relaxed) {
        YES => true,
        NO => false,
        _ => {
            let widest = wide_available() && detect_avx512();
            WIDEST.store(if widest { YES } else { NO }, Ordering::Relaxed);
            widest
        }
    }
}

/// True when the environment variable is set to something other than empty or "0".
fn flag_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

fn detect_avx512() -> bool {
    if flag_set("DELTARNN_NO_AVX512") {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512dq")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn detect() -> bool {
    if flag_set("DELTARNN_NO_SIMD") {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Defines `pub fn $name` that runs `$body` compiled with AVX2+FMA when available, and the
/// baseline compile of `$body` otherwise. Also defines `$portable`, which always runs the
/// baseline compile (the scalar twin used by tests and benches).
macro_rules! dispatch {
    (
        $(#[$doc:meta])*
        pub fn $name:ident / $portable:ident <$($g:ident : $bound:path),*> ($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? => $body:ident::<lanes>;
    ) => {
        $(#[$doc])*
        #[allow(unsafe_code)]
        pub fn $name<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
                fn widest<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
                    $body::<16, $($g),*>($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn wide<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
                    $body::<8, $($g),*>($($arg),*)
                }
                if $crate::kernels::simd::avx512_available() {
                    // SAFETY: `avx512_available` checked that this CPU supports AVX-512 F, VL,
                    // BW and DQ, AVX2 and FMA.
                    return unsafe { widest($($arg),*) };
                }
                if $crate::kernels::simd::wide_available() {
                    // SAFETY: `wide_available` checked that this CPU supports AVX2 and FMA.
                    return unsafe { wide($($arg),*) };
                }
            }
            $body::<4, $($g),*>($($arg),*)
        }

        /// The baseline (no AVX2) compile of the same body; the scalar twin of the fast path.
        pub fn $portable<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
            $body::<4, $($g),*>($($arg),*)
        }
    };
    (
        $(#[$doc:meta])*
        pub fn $name:ident / $portable:ident <$($g:ident : $bound:path),*> ($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? => $body:path;
    ) => {
        $(#[$doc])*
        #[allow(unsafe_code)]
        pub fn $name<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn wide<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if $crate::kernels::simd::wide_available() {
                    // SAFETY: `wide_available` checked that this CPU supports AVX2 and FMA.
                    return unsafe { wide($($arg),*) };
                }
            }
            $body($($arg),*)
        }

        /// The baseline (no AVX2) compile of the same body; the scalar twin of the fast path.
        pub fn $portable<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
            $body($($arg),*)
        }
    };
}
pub(crate) use dispatch;

/// Bit `l` set when `|delta[l]| >= threshold` (false for NaN), for 8 values: one compare and one
/// movemask in the AVX2 and AVX-512 copies of a lane body (`W` 8 or 16), a loop otherwise. The
/// compiler builds this mask from a plain loop with 64-bit shifts (docs/performance.md).
#[inline(always)]
pub fn fire_bits_f32<const W: usize>(delta: [f32; 8], threshold: f32) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if W >= 8 {
        use std::arch::x86_64::{
            _mm256_and_ps, _mm256_castsi256_ps, _mm256_cmp_ps, _mm256_loadu_ps, _mm256_movemask_ps, _mm256_set1_epi32,
            _mm256_set1_ps, _CMP_GE_OQ,
        };
        // SAFETY: `dispatch!` instantiates lane bodies with W >= 8 only inside the copies it
        // compiles with AVX2 (W = 8) or AVX-512 (W = 16) enabled and runs only on CPUs that
        // have them; both include AVX, all these intrinsics need. The load reads the 8 f32 of
        // `delta`.
        unsafe {
            let values = _mm256_loadu_ps(delta.as_ptr());
            let magnitude = _mm256_and_ps(values, _mm256_castsi256_ps(_mm256_set1_epi32(i32::MAX)));
            let fired = _mm256_cmp_ps::<_CMP_GE_OQ>(magnitude, _mm256_set1_ps(threshold));
            return _mm256_movemask_ps(fired) as u32;
        }
    }
    super::real::fire_bits8_scalar(delta, threshold)
}
