"""Trains an MLP, saves the whole model object with torch.save, reloads it and trains on.

Exercises: torch.save(model, path) of a whole nn.Module (a class defined in
this script, pickled by reference), torch.load(path, weights_only=False),
saving and loading an arbitrary picklable checkpoint dict (a NumPy array,
a Python list, the optimizer's state_dict) next to it, load_state_dict into
a fresh optimizer, and checking that the reloaded model computes the same
outputs before training continues.

Data come from NumPy; the parameters from a fixed formula.
"""
import argparse
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn


class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.layers = nn.Sequential(*layers[:-1])

    def forward(self, x):
        return self.layers(x)


def train(model, optimizer, x, y, steps):
    loss_fn = nn.MSELoss()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
    return loss.item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True, help="where the final parameters go (.npz)")
    args = parser.parse_args()
    torch.manual_seed(3)
    rs = np.random.RandomState(6)
    x = torch.from_numpy(rs.randn(64, 5).astype(np.float32))
    y = (x[:, :1] * 2 - x[:, 1:2] ** 2 + 0.5).detach()

    model = MLP([5, 16, 16, 1])
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            n = p.numel()
            p.copy_(((torch.arange(n, dtype=torch.float32) * (0.2718 + 0.05 * i)) % 1.0 - 0.5)
                    .view(p.shape) * 0.8)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    print("loss after 40 steps {:.6f}".format(train(model, optimizer, x, y, 40)))

    folder = tempfile.mkdtemp()
    model_path = os.path.join(folder, "model.pt")
    extra_path = os.path.join(folder, "extra.pt")
    torch.save(model, model_path)
    torch.save({"optimizer": optimizer.state_dict(), "mean": x.mean(0).numpy(),
                "history": [1, 2.5, "three"]}, extra_path)

    reloaded = torch.load(model_path, weights_only=False)
    extra = torch.load(extra_path, weights_only=False)
    print("reloaded a {} with {} parameters".format(
        type(reloaded).__name__, sum(p.numel() for p in reloaded.parameters())))
    print("saved mean array {} {}".format(type(extra["mean"]).__name__, extra["mean"].shape))
    print("history {}".format(extra["history"]))
    difference = (reloaded(x) - model(x)).abs().max().item()
    print("reloaded outputs differ by {}".format(difference))

    optimizer2 = torch.optim.Adam(reloaded.parameters(), lr=0.01)
    optimizer2.load_state_dict(extra["optimizer"])
    print("loss after 40 more steps {:.6f}".format(train(reloaded, optimizer2, x, y, 40)))
    np.savez(args.out, **{k: v.detach().cpu().numpy() for k, v in reloaded.state_dict().items()})


if __name__ == "__main__":
    main()
