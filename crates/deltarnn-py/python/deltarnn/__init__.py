"""Delta LSTM / GRU with temporally sparse backpropagation through time, on NumPy arrays.

A Delta network sends a neuron's change into the next matrix product only when it has moved by
at least a threshold since it was last sent; training then skips the same columns in the
backward pass, with an exact gradient. ``deltarnn.Model`` trains and runs such a network on a
list of ``(frames, features)`` float arrays; its checkpoints are the command-line tool's.
"""

from ._native import Error, Model, __version__

__all__ = ["Error", "Model", "__version__"]
