#!/usr/bin/env python3
"""Writes the bad-input battery to tests/bad_inputs/ (standard library only, deterministic).

Every file is generated here, nothing is downloaded. `good_*` files are valid and let a test
pair one bad file with otherwise good inputs; every other file is broken in the way its name
says. crates/deltarnn-cli/tests/it/bad_inputs.rs runs every file-reading command against them, and
scripts/fuzz.sh seeds its corpora from them. Re-run after changing this script:

    python3 scripts/make-bad-inputs.py
"""
import json
import math
import os
import struct
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "bad_inputs")


def wav(fmt_tag=1, channels=1, rate=16000, bits=16, data=b"", declared=None, block=None):
    block = channels * ((bits + 7) // 8) if block is None else block
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * block, block, bits)
    size = len(data) if declared is None else declared
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", 4 + len(body) - 4) + body


def tone(seconds=0.5, rate=16000, freq=440.0):
    n = int(seconds * rate)
    return b"".join(struct.pack("<h", int(12000 * math.sin(2 * math.pi * freq * i / rate))) for i in range(n))


def safetensors(tensors, metadata=None, header_len=None):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    header, offset, data = {}, 0, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        data += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    n = len(text) if header_len is None else header_len
    return struct.pack("<Q", n) + text + data


def f32(values):
    return b"".join(struct.pack("<f", v) for v in values)


N_FEATURES, N_HIDDEN, N_CLASSES, GATES = 16, 2, 3, 4
LABELS = ["_silence_", "high", "low"]


def model_tensors(n_features=N_FEATURES):
    rows = GATES * N_HIDDEN
    value = lambda i: 0.01 * ((i * 7919) % 23 - 11)
    t = lambda name, shape: (name, "F32", shape, f32([value(i) for i in range(math.prod(shape))]))
    return [
        t("rnn.weight_ih_l0", [rows, n_features]),
        t("rnn.weight_hh_l0", [rows, N_HIDDEN]),
        t("rnn.bias_ih_l0", [rows]),
        t("rnn.bias_hh_l0", [rows]),
        t("fc.weight", [N_CLASSES, N_HIDDEN]),
        t("fc.bias", [N_CLASSES]),
    ]


def model_metadata(**override):
    meta = {
        "format": "deltarnn-1", "cell": "lstm", "layers": "1", "hidden": str(N_HIDDEN),
        "features": str(N_FEATURES), "classes": str(N_CLASSES), "theta_x": "0.1", "theta_h": "0.1",
        # The front end, so eval and infer accept it (a Bundle).
        "feature_config": json.dumps({}),
        "normalizer": json.dumps({"mean": [0.0] * N_FEATURES, "std": [1.0] * N_FEATURES}),
        "labels": json.dumps({"names": LABELS}),
    }
    meta.update(override)
    return {k: v for k, v in meta.items() if v is not None}


def replace(tensors, name, new):
    return [new if t[0] == name else t for t in tensors]


def files():
    good_pcm = tone()
    yield "good.wav", wav(data=good_pcm)
    yield "good_low.wav", wav(data=tone(freq=300.0))
    # --- WAV files
    yield "truncated.wav", wav(data=good_pcm)[:30]
    yield "truncated_data.wav", wav(data=good_pcm)[:2000]
    yield "wrong_header.wav", b"RIFX" + wav(data=good_pcm)[4:]
    yield "riff_not_wave.wav", wav(data=good_pcm)[:8] + b"AVI " + wav(data=good_pcm)[12:]
    yield "zero_channels.wav", wav(channels=0, data=good_pcm, block=2)
    yield "zero_rate.wav", wav(rate=0, data=good_pcm)
    yield "huge_declared.wav", wav(data=good_pcm[:800], declared=0x7FFF0000)
    yield "not_wav.wav", b"hello, I am a text file pretending to be audio\n"
    yield "empty.wav", b""
    yield "no_samples.wav", wav(data=b"")
    yield "nan_samples.wav", wav(fmt_tag=3, bits=32, data=f32([0.1, float("nan"), 0.2] * 100))
    yield "inf_samples.wav", wav(fmt_tag=3, bits=32, data=f32([0.1, float("inf")] * 100))
    yield "float8.wav", wav(fmt_tag=3, bits=8, data=b"\0" * 100)
    yield "alaw.wav", wav(fmt_tag=6, bits=8, data=b"\0" * 100)
    yield "partial_frame.wav", wav(channels=3, data=b"\0" * 100)
    yield "data_before_fmt.wav", b"RIFF" + struct.pack("<I", 12) + b"WAVEdata" + struct.pack("<I", 0)
    # 64 honest samples at 1 Hz: 64 seconds, over the default 30 s limit, in 108 bytes.
    yield "too_long.wav", wav(rate=1, bits=8, data=b"\x80" * 64)
    # --- tensor files (model inputs x, labels y)
    x = [0.1 * ((i % 7) - 3) for i in range(5 * N_FEATURES)]
    yield "good_input.safetensors", safetensors([("x", "F32", [5, N_FEATURES], f32(x))])
    yield "good_labels.safetensors", safetensors([("y", "I64", [5], b"".join(struct.pack("<q", v) for v in [0, 1, 1, 2, -100]))])
    yield "nan_input.safetensors", safetensors([("x", "F32", [5, N_FEATURES], f32([float("nan")] + x[1:]))])
    yield "inf_input.safetensors", safetensors([("x", "F32", [5, N_FEATURES], f32(x[:-1] + [float("-inf")]))])
    yield "int_input.safetensors", safetensors([("x", "I64", [5, N_FEATURES], b"\0" * (8 * 5 * N_FEATURES))])
    yield "wrong_width_input.safetensors", safetensors([("x", "F32", [5, 3], f32(x[:15]))])
    yield "no_x_input.safetensors", safetensors([("z", "F32", [5, N_FEATURES], f32(x))])
    yield "float_labels.safetensors", safetensors([("y", "F32", [5], f32([0, 1, 1, 2, 0]))])
    yield "garbage.safetensors", bytes((i * 131 + 7) % 256 for i in range(300))
    yield "empty.safetensors", b""
    yield "huge_header.safetensors", struct.pack("<Q", 1 << 40) + b"{}      "
    yield "header_past_end.safetensors", safetensors([("x", "F32", [1], f32([1.0]))], header_len=4096)
    yield "huge_shape.safetensors", safetensors([("x", "F32", [1 << 31, 1 << 31], f32([1.0, 2.0]))])
    yield "overflow_shape.safetensors", safetensors([("x", "F32", [1 << 62, 1 << 62], f32([1.0]))])
    yield "truncated_input.safetensors", safetensors([("x", "F32", [5, N_FEATURES], f32(x))])[:-7]
    yield "bad_json.safetensors", struct.pack("<Q", 8) + b"{not js}"
    # --- checkpoints
    tensors = model_tensors()
    yield "good_model.safetensors", safetensors(tensors, model_metadata())
    yield "wrong_shape_model.safetensors", safetensors(
        replace(tensors, "rnn.weight_hh_l0", ("rnn.weight_hh_l0", "F32", [GATES * N_HIDDEN, 3], f32([0.0] * 24))),
        model_metadata())
    yield "nan_weights_model.safetensors", safetensors(
        replace(tensors, "fc.bias", ("fc.bias", "F32", [N_CLASSES], f32([0.0, float("nan"), 0.0]))), model_metadata())
    yield "inf_weights_model.safetensors", safetensors(
        replace(tensors, "fc.bias", ("fc.bias", "F32", [N_CLASSES], f32([0.0, float("inf"), 0.0]))), model_metadata())
    yield "missing_tensor_model.safetensors", safetensors([t for t in tensors if t[0] != "rnn.bias_hh_l0"], model_metadata())
    yield "unknown_tensor_model.safetensors", safetensors(tensors + [("rnn.weight_ih_l7", "F32", [1], f32([0.0]))], model_metadata())
    yield "wrong_dtype_model.safetensors", safetensors(
        replace(tensors, "fc.bias", ("fc.bias", "I32", [N_CLASSES], b"\0" * 12)), model_metadata())
    yield "bad_metadata_model.safetensors", safetensors(tensors, model_metadata(hidden="two"))
    yield "no_metadata_model.safetensors", safetensors(tensors)
    yield "huge_config_model.safetensors", safetensors(tensors, model_metadata(hidden="16384", layers="64"))
    yield "wrong_format_model.safetensors", safetensors(tensors, model_metadata(format="pickle-7"))
    yield "no_front_end_model.safetensors", safetensors(tensors, model_metadata(feature_config=None))
    yield "bad_labels_model.safetensors", safetensors(tensors, model_metadata(labels=json.dumps({"names": ["a"]})))
    # --- manifests (CSV split files and Speech Commands lists)
    yield "good_train.csv", "path,speaker,keyword\nhigh/a.wav,s1,high\nlow/b.wav,s1,low\n"
    yield "missing_column.csv", "path,keyword\nhigh/a.wav,high\n"
    yield "ragged_row.csv", "path,speaker,keyword\nhigh/a.wav,s1\n"
    yield "unterminated_quote.csv", 'path,speaker,keyword\n"high/a.wav,s1,high\n'
    yield "empty.csv", ""
    yield "header_only.csv", "path,speaker,keyword\n"
    yield "path_escape.csv", "path,speaker,keyword\n../../etc/passwd,s1,high\n"
    yield "absolute_path.csv", "path,speaker,keyword\n/etc/passwd,s1,high\n"
    yield "empty_path.csv", "path,speaker,keyword\n,s1,high\n"
    yield "missing_audio.csv", "path,speaker,keyword\nhigh/does_not_exist.wav,s1,high\n"
    yield "unknown_label.csv", "path,speaker,keyword\nhigh/a.wav,s1,whistle\n"
    yield "non_utf8.csv", b"path,speaker,keyword\nhigh/a\xff\xfe.wav,s1,high\n"
    yield "fsc_missing_column.csv", ",path,speakerId,action\n0,wavs/a.wav,s1,activate\n"
    yield "good_validation_list.txt", "high/a.wav\n"


def main():
    os.makedirs(OUT, exist_ok=True)
    names = []
    for name, content in files():
        if isinstance(content, str):
            content = content.encode()
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(content)
        names.append(name)
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write("# Bad-input battery\n\nGenerated by `scripts/make-bad-inputs.py`; do not edit by hand. "
                "`good_*` files are valid, every other file is broken as its name says.\n\n")
        f.write("".join(f"- `{n}`\n" for n in sorted(names)))
    print(f"wrote {len(names)} files to {os.path.normpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
