"""Type stubs of the compiled core (see deltarnn/__init__.py)."""

from os import PathLike
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

class Error(ValueError):
    """A deltarnn error: bad input, a malformed file, a training run that cannot go on."""

Sequences = Sequence[npt.NDArray[Union[np.float32, np.float64]]]
"""A list of (frames, n_features) float arrays, one per sequence."""
Labels = Union[Sequence[int], npt.NDArray[np.integer], Sequence[npt.NDArray[np.integer]]]
"""A class per sequence (0..n_classes-1), or per sequence an integer array of frame classes
(-1: background)."""

class Dataset:
    """A loaded dataset: per split (sequences, frame labels), the features as computed (a model
    applies its normaliser), frame label -1 for background / silence."""

    @property
    def train(self) -> Tuple[list[npt.NDArray[np.float32]], list[npt.NDArray[np.int64]]]: ...
    @property
    def valid(self) -> Tuple[list[npt.NDArray[np.float32]], list[npt.NDArray[np.int64]]]: ...
    @property
    def test(self) -> Tuple[list[npt.NDArray[np.float32]], list[npt.NDArray[np.int64]]]: ...
    def sequence_labels(self, split: str) -> npt.NDArray[np.int64]:
        """The class of every sequence of "train", "valid" or "test"."""
    @property
    def n_features(self) -> int: ...
    @property
    def classes(self) -> list[str]: ...
    @property
    def kind(self) -> str: ...
    @property
    def protocol(self) -> str: ...

def load_dataset(
    path: Union[str, PathLike[str]], *, protocol: str = "authors", cache_dir: Optional[Union[str, PathLike[str]]] = None
) -> Dataset:
    """Loads a dataset folder as the CLI does (any layout it reads; audio featurised and cached)."""

def save_sequences(
    path: Union[str, PathLike[str]], sequences: Sequences, labels: Labels, *, classes: Optional[Sequence[str]] = None
) -> None:
    """Writes one split file of the sequences layout (DIR/train.safetensors, valid, test)."""

class Model:
    """A Delta LSTM or Delta GRU with its input normaliser and class names.

    The network has one more output than your classes, number 0, for background (frame label
    -1), so ``forward``'s logits have ``n_classes + 1`` columns.
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        *,
        cell: str = "lstm",
        hidden: int = 64,
        layers: int = 2,
        theta_x: float = 0.1,
        theta_h: float = 0.1,
        seed: int = 0,
        classes: Optional[Sequence[str]] = None,
    ) -> None: ...
    @staticmethod
    def from_dataset(
        dataset: Dataset,
        *,
        cell: str = "lstm",
        hidden: int = 64,
        layers: int = 2,
        theta_x: float = 0.1,
        theta_h: float = 0.1,
        seed: int = 0,
    ) -> "Model":
        """A fresh network keeping the dataset's front end (features, normaliser, classes)."""
    def weights(self) -> dict[str, npt.NDArray[np.float32]]:
        """Every tensor under its PyTorch name (rnn.weight_ih_l0, ..., fc.weight, fc.bias)."""
    @staticmethod
    def load(path: Union[str, PathLike[str]]) -> "Model":
        """Reads a checkpoint written by ``save`` or by the CLI (``RUN/model.safetensors``)."""
    def save(self, path: Union[str, PathLike[str]]) -> None:
        """Writes the checkpoint (safetensors, PyTorch's tensor names), whole or not at all."""
    @property
    def n_features(self) -> int: ...
    @property
    def n_classes(self) -> int: ...
    @property
    def classes(self) -> list[str]: ...
    @property
    def cell(self) -> str: ...
    @property
    def hidden(self) -> int: ...
    @property
    def layers(self) -> int: ...
    @property
    def thresholds(self) -> Tuple[float, float]: ...
    def fit(
        self,
        sequences: Sequences,
        labels: Labels,
        *,
        valid: Optional[Tuple[Sequences, Labels]] = None,
        epochs: int = 30,
        batch: int = 32,
        lr: float = 2e-3,
        weight_decay: float = 0.01,
        clip_norm: float = 200.0,
        warmup: int = 50,
        early_stop: int = 8,
        l1_beta: float = 0.0,
        seed: Optional[int] = None,
        threads: Optional[int] = None,
        readout: str = "last-non-silence",
        normalize: bool = True,
        dense: bool = False,
        callback: Optional[Callable[[dict[str, Any]], Optional[bool]]] = None,
        verbose: bool = False,
    ) -> list[dict[str, Any]]:
        """Trains with sparse BPTT; returns the per-epoch history. See the class docs."""
    def evaluate(
        self,
        sequences: Sequences,
        labels: Labels,
        *,
        readout: str = "last-non-silence",
        threads: Optional[int] = None,
        dense: bool = False,
    ) -> dict[str, Any]:
        """accuracy, loss, sequences, sparsity, cost, predictions."""
    def predict(self, sequences: Sequences, *, readout: str = "last-non-silence") -> npt.NDArray[np.int64]:
        """The class of every sequence (-1 when every frame is background)."""
    def set_weights(self, weights: dict[str, npt.NDArray[np.float32]]) -> None:
        """Sets every weight from PyTorch-named float32 arrays (the names and shapes of weights())."""
    def loss_and_gradient(
        self, sequence: npt.NDArray[Union[np.float32, np.float64]], labels: Union[int, npt.NDArray[np.integer]], *,
        dense: bool = False, l1_beta: float = 0.0
    ) -> Tuple[float, dict[str, npt.NDArray[np.float32]]]:
        """One sequence's mean per-frame loss and its gradient under PyTorch's names."""
    def cost(self, sequences: Sequences, *, dense: bool = False) -> dict[str, Any]:
        """Dense against actual ops of every matrix product, per layer and in total; sparsity."""
    def stream(self) -> "Stream":
        """A stream for one frame at a time."""
    def forward(self, sequence: npt.NDArray[Union[np.float32, np.float64]], *, dense: bool = False) -> dict[str, Any]:
        """logits (frames, n_classes + 1), hidden (per layer), sparsity (per layer)."""

class Stream:
    """One utterance streamed frame by frame (Model.stream())."""

    def step(self, frame: Sequence[float]) -> npt.NDArray[np.float32]:
        """Feeds one frame; returns the logits (n_classes + 1; 0 is background)."""
    def reset(self) -> None:
        """Starts a new utterance."""
    @property
    def counts(self) -> Tuple[int, int, int]:
        """Frames fed, delta_x and delta_h elements fired."""

class Tape:
    """The forward passes of a batch, kept for its backward (deltarnn.torch)."""

    def __len__(self) -> int: ...
    def fired(self) -> list[list[Tuple[int, int, int]]]: ...

def forward_batch(model: Model, sequences: Sequences, *, dense: bool = False) -> Tuple[list[npt.NDArray[np.float32]], Tape]:
    """Logits of a batch and its tape (no normaliser applied)."""

def backward_batch(
    model: Model, tape: Tape, dlogits: Sequence[npt.NDArray[np.float32]], *, l1_beta: float = 0.0
) -> Tuple[dict[str, npt.NDArray[np.float32]], list[npt.NDArray[np.float32]]]:
    """Parameter gradients (summed over the batch, PyTorch names) and dL/dx per sequence."""
