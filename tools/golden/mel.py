#!/usr/bin/env python3
"""Independent log-mel reference for deltarnn's front end (numpy only, float64).

Implements docs/audio.md's front end from its description, not from the Rust code:
periodic Hamming window over 262-sample frames (hop 262, trailing partial frame dropped),
zero-padded 1024-point real FFT, magnitude spectrum, 16 HTK-mel triangles (peak 1) between
100 and 8000 Hz evaluated at each bin's frequency, 20*log10(max(energy, 1e-5)).

Usage:
  python3 tools/golden/mel.py                 # the generated test signal (self-contained test)
  python3 tools/golden/mel.py FILE.wav ...    # 16 kHz 16-bit mono WAVs, mean removed (real-data test)

The printed numbers are pasted into crates/deltarnn/tests/it/golden.rs and
crates/deltarnn/tests/real_data.rs; the Rust side (float32 FFT) must match within 0.01 dB.
"""
import sys
import wave

import numpy as np

SR, N_MELS, F_MIN, F_MAX, N_FFT, FRAME, HOP, FLOOR = 16000, 16, 100.0, 8000.0, 1024, 262, 262, 1e-5


def hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def mel_to_hz(mel):
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def filterbank():
    edges = mel_to_hz(np.linspace(hz_to_mel(F_MIN), hz_to_mel(F_MAX), N_MELS + 2))
    freqs = np.arange(N_FFT // 2 + 1) * SR / N_FFT
    bank = np.zeros((N_MELS, freqs.size))
    for m in range(N_MELS):
        low, center, high = edges[m], edges[m + 1], edges[m + 2]
        rising = (freqs - low) / (center - low)
        falling = (high - freqs) / (high - center)
        bank[m] = np.maximum(0.0, np.minimum(rising, falling))
    return bank


def log_mel(x):
    window = 0.54 - 0.46 * np.cos(2.0 * np.pi * np.arange(FRAME) / FRAME)
    n_frames = 0 if len(x) < FRAME else (len(x) - FRAME) // HOP + 1
    bank = filterbank()
    out = np.zeros((n_frames, N_MELS))
    for t in range(n_frames):
        frame = x[t * HOP : t * HOP + FRAME] * window
        magnitude = np.abs(np.fft.rfft(frame, n=N_FFT))
        out[t] = 20.0 * np.log10(np.maximum(bank @ magnitude, FLOOR))
    return out


def test_signal():
    """0.25 s: a 440 Hz tone, a 300->3300 Hz chirp and a 5 kHz tone under a rising envelope."""
    t = np.arange(4000) / SR
    chirp_phase = 2.0 * np.pi * (300.0 * t + 0.5 * 12000.0 * t * t)
    x = (0.3 * np.sin(2.0 * np.pi * 440.0 * t)
         + 0.2 * np.sin(chirp_phase)
         + 0.05 * (t / 0.25) * np.sin(2.0 * np.pi * 5000.0 * t))
    # The Rust test builds the signal in f64 and rounds to f32, as done here.
    return x.astype(np.float32).astype(np.float64)


def read_wav(path):
    with wave.open(path, "rb") as w:
        assert w.getframerate() == SR and w.getnchannels() == 1 and w.getsampwidth() == 2, path
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    x = x.astype(np.float32).astype(np.float64)
    return (x - x.mean()).astype(np.float32).astype(np.float64)


def print_rows(name, features, rows):
    print(f"// {name}: {features.shape[0]} frames")
    for t in rows:
        values = ", ".join(f"{v:.4f}" for v in features[t])
        print(f"({t}, [{values}]),")


if __name__ == "__main__":
    if len(sys.argv) == 1:
        print_rows("test signal", log_mel(test_signal()), range(15))
    for path in sys.argv[1:]:
        features = log_mel(read_wav(path))
        print_rows(path, features, [0, 10, 30, features.shape[0] - 1])
