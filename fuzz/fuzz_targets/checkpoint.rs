//! Checkpoint loaders from bytes: the model (`checkpoint::from_bytes`), the model with its front
//! end (`Bundle::from_bytes`) and the resumable training state (`state_from_bytes`).
#![no_main]
use deltarnn::bundle::Bundle;
use deltarnn::checkpoint;
use deltarnn::train::run::state_from_bytes;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.safetensors");
    if let Ok((model, _)) = checkpoint::from_bytes(path, data) {
        assert!(model.params.all_finite());
    }
    let _ = Bundle::from_bytes(path, data);
    let _ = state_from_bytes(path, data);
});
