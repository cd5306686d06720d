//! Runtime CPU dispatch: each hot body is compiled twice, once for the baseline target and once
//! with AVX2+FMA enabled, and the wide copy runs when the CPU has both features.
//!
//! The two copies come from the same safe `#[inline(always)]` body, and Rust never contracts
//! `a * b + c` into a fused multiply-add on its own, so both copies give identical bits
//! (tested in `tests/it/kernels.rs`). This is the only module that may use `unsafe`.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU8, Ordering};

static WIDE: AtomicU8 = AtomicU8::new(UNKNOWN);
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

fn detect() -> bool {
    if std::env::var_os("DELTARNN_NO_SIMD").is_some_and(|v| !v.is_empty() && v != "0") {
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
