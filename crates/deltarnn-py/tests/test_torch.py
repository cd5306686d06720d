"""deltarnn.torch, where PyTorch is installed (skipped otherwise; pip install torch)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltarnn  # noqa: E402
from deltarnn.torch import DeltaRNN, from_torch, to_torch  # noqa: E402
from test_model import small, waves  # noqa: E402


def dense_logits(rnn, fc, x):
    out, _ = rnn(x.unsqueeze(0))
    return fc(out[0])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_at_threshold_zero_the_gradients_equal_autograd_on_the_dense_network(cell):
    torch.manual_seed(0)
    module = DeltaRNN(3, 3, cell=cell, hidden=16, layers=2, theta_x=0.0, theta_h=0.0, seed=1)
    reference_rnn, reference_fc = to_torch(module.to_model())
    sequences = [torch.randn(n, 3, requires_grad=True) for n in (7, 12)]
    weights = [torch.randn(n, 4) for n in (7, 12)]
    loss = sum((l * w).sum() for l, w in zip(module(sequences), weights))
    loss.backward()
    copies = [s.detach().clone().requires_grad_(True) for s in sequences]
    reference = sum((dense_logits(reference_rnn, reference_fc, s) * w).sum() for s, w in zip(copies, weights))
    reference.backward()
    assert abs(loss.item() - reference.item()) < 1e-4
    ours = dict(module.named_parameters())
    theirs = {f"rnn.{k}": p for k, p in reference_rnn.named_parameters()}
    theirs.update({f"fc.{k}": p for k, p in reference_fc.named_parameters()})
    for name, p in theirs.items():
        assert torch.allclose(ours[name].grad, p.grad, atol=1e-5), (name, (ours[name].grad - p.grad).abs().max())
    for s, c in zip(sequences, copies):
        assert torch.allclose(s.grad, c.grad, atol=1e-5)


def test_a_pytorch_loop_trains_a_delta_lstm_with_sparse_bptt():
    train_x, train_y = waves(1, 30)
    valid = waves(2, 10)
    module = DeltaRNN(3, 3, hidden=16, layers=1, seed=0)
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-2)
    xs = [torch.from_numpy(x) for x in train_x]
    # Normalise as deltarnn would (the module applies no normaliser).
    mean = torch.cat(xs).mean(0)
    std = torch.cat(xs).std(0)
    xs = [(x - mean) / std for x in xs]
    for epoch in range(15):
        order = torch.randperm(len(xs), generator=torch.Generator().manual_seed(epoch))
        for batch in order.split(8):
            logits = module([xs[i] for i in batch])
            targets = [torch.full((len(xs[i]),), train_y[i] + 1) for i in batch]
            loss = sum(torch.nn.functional.cross_entropy(l, t, reduction="sum") for l, t in zip(logits, targets))
            loss = loss / sum(len(t) for t in targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model = module.to_model()
    valid_x = [((torch.from_numpy(x) - mean) / std).numpy() for x in valid[0]]
    assert model.evaluate(valid_x, valid[1], readout="mean-over-frames")["accuracy"] >= 0.9


def test_to_torch_and_from_torch_round_trip():
    model = small(seed=3)
    rnn, fc = to_torch(model)
    back = from_torch(rnn, fc, theta_x=0.1, theta_h=0.1)
    assert all(np.array_equal(a, b) for a, b in zip(model.weights().values(), back.weights().values()))
    x = waves(1, 1)[0][0]
    zero = small(seed=3, theta_x=0.0, theta_h=0.0)
    expected = dense_logits(*to_torch(zero), torch.from_numpy(x)).detach().numpy()
    assert np.allclose(zero.forward(x)["logits"], expected, atol=1e-5)
    with pytest.raises(TypeError):
        from_torch(torch.nn.RNN(3, 4), fc)


def test_a_stale_tape_is_refused():
    module = DeltaRNN(3, 3, hidden=8, layers=1)
    logits = module([torch.randn(5, 3)])
    with torch.no_grad():
        module.fc.bias.add_(1.0)
    module([torch.randn(5, 3)])  # syncs the changed weights
    with pytest.raises(deltarnn.Error, match="weights changed"):
        logits[0].sum().backward()
