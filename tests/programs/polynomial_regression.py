"""Fits a degree-4 polynomial with nn.Linear and a hand-written SGD update.

After PyTorch's examples/regression. Exercises: nn.Linear, F.smooth_l1_loss,
backward, the update through `.data` (`param.data.add_(-lr * param.grad.data)`),
Module.zero_grad, torch.cat of powers, Tensor.mm, .item(), .view, tolist and
string formatting of the learned coefficients.

Data come from NumPy and the initial parameters from a fixed formula, so
every backend starts from the same point and sees the same batches.
"""
import argparse

import numpy as np
import torch
import torch.nn.functional as F

POLY_DEGREE = 4

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True, help="where the final parameters go (.npz)")
parser.add_argument("--steps", type=int, default=200)
args = parser.parse_args()

torch.manual_seed(0)
rs = np.random.RandomState(1)
W_target = torch.from_numpy(rs.randn(POLY_DEGREE, 1).astype(np.float32)) * 5
b_target = torch.from_numpy(rs.randn(1).astype(np.float32)) * 5


def make_features(x):
    """Builds features i.e. a matrix with columns [x, x^2, x^3, x^4]."""
    x = x.unsqueeze(1)
    return torch.cat([x ** i for i in range(1, POLY_DEGREE + 1)], 1)


def f(x):
    """Approximated function."""
    return x.mm(W_target) + b_target.item()


def poly_desc(W, b):
    """Creates a string description of a polynomial."""
    result = "y = "
    for i, w in enumerate(W):
        result += "{:+.2f} x^{} ".format(w, i + 1)
    result += "{:+.2f}".format(b[0])
    return result


def get_batch(batch_size=32):
    """Builds a batch i.e. (x, f(x)) pair."""
    random = torch.from_numpy(rs.randn(batch_size).astype(np.float32)) * 0.7
    x = make_features(random)
    y = f(x)
    return x, y


fc = torch.nn.Linear(W_target.size(0), 1)
with torch.no_grad():
    fc.weight.copy_(torch.linspace(-0.5, 0.5, POLY_DEGREE).view(1, -1))
    fc.bias.fill_(0.1)

for batch_idx in range(1, args.steps + 1):
    batch_x, batch_y = get_batch()
    fc.zero_grad()
    output = F.smooth_l1_loss(fc(batch_x), batch_y)
    loss = output.item()
    output.backward()
    for param in fc.parameters():
        param.data.add_(-0.2 * param.grad.data)
    if batch_idx % 40 == 0:
        print("batch {} loss {:.6f}".format(batch_idx, loss))

print("Loss: {:.6f} after {} batches".format(loss, batch_idx))
print("==> Learned function:\t" + poly_desc(fc.weight.view(-1).tolist(), fc.bias.tolist()))
print("==> Actual function:\t" + poly_desc(W_target.view(-1).tolist(), b_target.tolist()))
np.savez(args.out, **{k: v.detach().cpu().numpy() for k, v in fc.state_dict().items()})
