//! Tensor files (model inputs `x`, labels `y`) from bytes.
#![no_main]
use deltarnn::tensorfile::{float_from_bytes, int_from_bytes};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.safetensors");
    if let Ok(t) = float_from_bytes(path, data, "x") {
        assert_eq!(t.shape.iter().product::<usize>(), t.data.len());
        assert!(t.data.iter().all(|v| v.is_finite()));
    }
    if let Ok((shape, values)) = int_from_bytes(path, data, "y") {
        assert_eq!(shape.iter().product::<usize>(), values.len());
    }
});
