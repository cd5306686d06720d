"""Datasets from Python: the sequences layout written and read back, and deltarnn.train on it."""

import numpy as np
import pytest

import deltarnn
from test_model import waves


def test_a_sequences_folder_round_trips_and_trains(tmp_path):
    train, valid = waves(1, 30), waves(2, 10)
    classes = ["slow", "fast", "square"]
    deltarnn.save_sequences(tmp_path / "train.safetensors", *train, classes=classes)
    deltarnn.save_sequences(tmp_path / "valid.safetensors", *valid)
    dataset = deltarnn.load_dataset(tmp_path)
    assert (dataset.kind, dataset.classes, dataset.n_features) == ("sequences", classes, 3)
    sequences, frame_labels = dataset.train
    assert len(sequences) == 90 and np.array_equal(sequences[4], train[0][4]), "features as stored"
    assert list(frame_labels[4]) == [train[1][4]] * len(train[0][4])
    assert list(dataset.sequence_labels("valid")[:3]) == [0, 1, 2]
    model = deltarnn.train(tmp_path, tmp_path / "model.safetensors", layers=1, hidden=16, epochs=15, batch=8,
                           lr=1e-2, readout="mean-over-frames", seed=2)
    assert model.classes == classes
    assert model.evaluate(*valid, readout="mean-over-frames")["accuracy"] >= 0.9
    again = deltarnn.Model.load(tmp_path / "model.safetensors")
    assert all(np.array_equal(a, b) for a, b in zip(again.weights().values(), model.weights().values()))


def test_dataset_errors(tmp_path):
    with pytest.raises(deltarnn.Error, match="not a known dataset layout"):
        deltarnn.load_dataset(tmp_path)
    with pytest.raises(deltarnn.Error, match="unknown protocol"):
        deltarnn.load_dataset(tmp_path, protocol="theirs")
    with pytest.raises(deltarnn.Error, match="empty"):
        deltarnn.save_sequences(tmp_path / "train.safetensors", [], [])
