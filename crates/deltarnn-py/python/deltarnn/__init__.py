"""Delta LSTM / GRU with temporally sparse backpropagation through time, on NumPy arrays.

A Delta network sends a neuron's change into the next matrix product only when it has moved by
at least a threshold since it was last sent; training then skips the same columns in the
backward pass, with an exact gradient. ``deltarnn.Model`` trains and runs such a network on a
list of ``(frames, features)`` float arrays; its checkpoints are the command-line tool's.
"""

from os import PathLike
from typing import Any, Optional, Union

from ._native import Dataset, Error, Model, __version__, load_dataset, save_sequences

__all__ = ["Dataset", "Error", "Model", "__version__", "load_dataset", "save_sequences", "train"]


def train(
    data: Union[str, "PathLike[str]"],
    out: Optional[Union[str, "PathLike[str]"]] = None,
    *,
    cell: str = "lstm",
    layers: int = 2,
    hidden: int = 64,
    theta_x: float = 0.1,
    theta_h: float = 0.1,
    seed: int = 0,
    protocol: str = "authors",
    cache_dir: Optional[Union[str, "PathLike[str]"]] = None,
    **fit_options: Any,
) -> Model:
    """Trains on a dataset folder as ``deltarnn train --data DATA`` does, with its defaults.

    Loads ``data`` (any layout the CLI reads), builds the model for it (``seed`` seeds the
    initialisation and the shuffling, as ``--seed``), trains with ``Model.fit`` (``fit_options``:
    epochs, batch, lr, l1_beta, threads, callback, verbose, ...), keeps the best validation
    epoch, and, with ``out``, saves the checkpoint there (the CLI's ``model.safetensors``).
    """
    dataset = load_dataset(data, protocol=protocol, cache_dir=cache_dir)
    model = Model.from_dataset(
        dataset, cell=cell, hidden=hidden, layers=layers, theta_x=theta_x, theta_h=theta_h, seed=seed
    )
    valid = dataset.valid
    model.fit(*dataset.train, valid=valid if len(valid[0]) else None, normalize=False, **fit_options)
    if out is not None:
        model.save(out)
    return model
