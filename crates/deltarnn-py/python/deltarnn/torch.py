"""PyTorch, both ways: a Delta LSTM / GRU as an ``nn.Module`` whose forward and backward run
deltarnn's sparse kernels (so a PyTorch loop trains it with sparse BPTT), and conversions
between ``deltarnn.Model`` and ``nn.LSTM`` / ``nn.GRU`` + ``nn.Linear``.

Imported only on demand (``import deltarnn.torch``); needs PyTorch (``pip install torch``).
CPU tensors, float32. The module's parameters are an ordinary ``nn.LSTM`` / ``nn.GRU``
(``self.rnn``) and ``nn.Linear`` (``self.fc``), so its ``state_dict`` has the checkpoint's names
(``rnn.weight_ih_l0``, ..., ``fc.bias``) and any PyTorch optimiser trains it.
"""

from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from . import _native
from ._native import Model

__all__ = ["DeltaRNN", "to_torch", "from_torch"]


def _weights_of(rnn: nn.Module, fc: nn.Linear) -> dict:
    """The modules' tensors under the checkpoint's names, as float32 NumPy arrays."""
    named = {f"rnn.{k}": v for k, v in rnn.state_dict().items()}
    named.update({f"fc.{k}": v for k, v in fc.state_dict().items()})
    return {k: v.detach().to(torch.float32).cpu().contiguous().numpy() for k, v in named.items()}


class _DeltaFunction(torch.autograd.Function):
    """Forward: deltarnn's Delta forward over a batch of sequences (the module's current
    weights); backward: its sparse BPTT given dL/dlogits. Inputs: the module, the number of
    sequences, the sequences, then the parameters in ``_named_parameters`` order."""

    @staticmethod
    def forward(ctx, module: "DeltaRNN", n_sequences: int, *tensors: torch.Tensor):
        sequences = [t.detach().to(torch.float32).contiguous().numpy() for t in tensors[:n_sequences]]
        logits, tape = _native.forward_batch(module._sync(), sequences, dense=module.dense)
        ctx.module, ctx.tape = module, tape
        ctx.shapes = [l.shape for l in logits]
        return tuple(torch.from_numpy(np.ascontiguousarray(l)) for l in logits)

    @staticmethod
    def backward(ctx, *grad_logits: Optional[torch.Tensor]):
        module = ctx.module
        upstream = [
            np.zeros(shape, np.float32) if g is None else g.detach().to(torch.float32).contiguous().numpy()
            for g, shape in zip(grad_logits, ctx.shapes)
        ]
        # Raises when the weights changed after this forward pass (the tape would be stale).
        grads, dxs = _native.backward_batch(module._model, ctx.tape, upstream, l1_beta=module.l1_beta)
        dx = [torch.from_numpy(np.ascontiguousarray(d)) for d in dxs]
        params = [torch.from_numpy(np.ascontiguousarray(grads[name])) for name, _ in module._named_parameters()]
        return (None, None, *dx, *params)


class DeltaRNN(nn.Module):
    """A Delta LSTM / GRU whose forward and backward run deltarnn's sparse kernels.

    ``forward(sequences)`` takes a list of (frames, n_features) float tensors and returns a list
    of (frames, n_classes + 1) logit tensors (column 0 is background, as in deltarnn); gradients
    flow to the parameters (``self.rnn``, ``self.fc``) and to the inputs. ``l1_beta`` adds the
    authors' L1 penalty on delta_h to the gradient (not to the returned logits). At thresholds 0
    this is the standard network: its gradients equal ``torch.autograd`` through ``self.rnn`` and
    ``self.fc`` (tested).
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
        l1_beta: float = 0.0,
        dense: bool = False,
    ) -> None:
        super().__init__()
        self._model = Model(
            n_features, n_classes, cell=cell, hidden=hidden, layers=layers, theta_x=theta_x, theta_h=theta_h, seed=seed
        )
        self.rnn, self.fc = to_torch(self._model)
        self.l1_beta, self.dense = l1_beta, dense
        self._synced = None

    def _named_parameters(self) -> List[Tuple[str, nn.Parameter]]:
        """The parameters under the checkpoint's names, in the order the Function takes them."""
        return [(f"rnn.{k}", p) for k, p in self.rnn.named_parameters()] + [
            (f"fc.{k}", p) for k, p in self.fc.named_parameters()
        ]

    def _sync(self):
        """The native model with this module's current weights (copied again only when a
        parameter changed: PyTorch counts in-place changes in ``Tensor._version``)."""
        key = tuple((id(p), p._version) for _, p in self._named_parameters())
        if key != self._synced:
            self._model.set_weights(_weights_of(self.rnn, self.fc))
            self._synced = key
        return self._model

    def forward(self, sequences: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        params = [p for _, p in self._named_parameters()]
        return list(_DeltaFunction.apply(self, len(sequences), *sequences, *params))

    def to_model(self) -> Model:
        """A ``deltarnn.Model`` with this module's weights (save it, evaluate it, stream it)."""
        return self._sync()


def to_torch(model: Model) -> Tuple[nn.Module, nn.Linear]:
    """``nn.LSTM`` / ``nn.GRU`` (batch_first) and ``nn.Linear`` with ``model``'s weights; their
    dense forward is the Delta network's at thresholds 0 (logits: the Linear on the RNN's
    output, column 0 background)."""
    weights = model.weights()
    rnn_class = {"lstm": nn.LSTM, "gru": nn.GRU}[model.cell]
    rnn = rnn_class(model.n_features, model.hidden, num_layers=model.layers, batch_first=True)
    fc = nn.Linear(model.hidden, model.n_classes + 1)
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            p.copy_(torch.from_numpy(weights[f"rnn.{name}"]))
        for name, p in fc.named_parameters():
            p.copy_(torch.from_numpy(weights[f"fc.{name}"]))
    return rnn, fc


def from_torch(
    rnn: nn.Module,
    fc: nn.Linear,
    *,
    theta_x: float = 0.1,
    theta_h: float = 0.1,
    classes: Optional[Sequence[str]] = None,
) -> Model:
    """A ``deltarnn.Model`` from an ``nn.LSTM`` / ``nn.GRU`` (one direction, with biases) and the
    ``nn.Linear`` on its output (``out_features`` = classes + 1, column 0 background)."""
    cell = {nn.LSTM: "lstm", nn.GRU: "gru"}.get(type(rnn))
    if cell is None:
        raise TypeError(f"from_torch takes nn.LSTM or nn.GRU, not {type(rnn).__name__}")
    if rnn.bidirectional or not rnn.bias or getattr(rnn, "proj_size", 0):
        raise ValueError("from_torch takes a one-direction RNN with biases and no projection")
    model = Model(
        rnn.input_size,
        fc.out_features - 1,
        cell=cell,
        hidden=rnn.hidden_size,
        layers=rnn.num_layers,
        theta_x=theta_x,
        theta_h=theta_h,
        classes=list(classes) if classes is not None else None,
    )
    model.set_weights(_weights_of(rnn, fc))
    return model
