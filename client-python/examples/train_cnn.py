"""The main job's demo: trains a small CNN through a tensord daemon.

    TENSORD_ADDR=unix:/tmp/d.sock python train_cnn.py   (or no address: an embedded daemon)
    python train_cnn.py --torch                          (the same program on local PyTorch)

The dataset is synthetic: 28x28 grey images of one of ten classes, each class
a bar at its own angle and position, with noise. Everything heavy (forward,
backward, the optimizer step) runs on the daemon; the client records ops and
reads back the loss every few steps for the progress bar.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time

import numpy as np


def make_images(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, 10, n)
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float32) - 13.5
    images = np.empty((n, 1, 28, 28), np.float32)
    for i, k in enumerate(labels):
        angle = math.pi * k / 10
        offset = (k % 3 - 1) * 4.0 + rng.uniform(-2, 2)
        dist = np.abs(xx * math.sin(angle) - yy * math.cos(angle) - offset)
        images[i, 0] = np.exp(-dist ** 2 / 4.0) + rng.normal(0, 1.0, (28, 28))
    return images, labels.astype(np.int64)


def model_of(torch):  # noqa: ANN001
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10))


class Progress:
    """A one-line progress bar on stderr: epoch, steps, loss, steps/s."""

    def __init__(self, total: int, epoch: int, epochs: int) -> None:
        self.total, self.epoch, self.epochs = total, epoch, epochs
        self.start = time.perf_counter()
        self.tty = sys.stderr.isatty()

    def update(self, step: int, loss: float) -> None:
        rate = step / max(time.perf_counter() - self.start, 1e-9)
        width = 24
        done = int(width * step / self.total)
        line = (f"epoch {self.epoch}/{self.epochs} [{'#' * done}{'.' * (width - done)}] "
                f"{step}/{self.total} loss {loss:.4f} {rate:.1f} steps/s")
        if self.tty:
            sys.stderr.write("\r" + line)
        elif step == self.total:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--torch", action="store_true", help="run on local PyTorch instead")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--train", type=int, default=2048, help="training images")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--checkpoint", default=os.path.join(tempfile.gettempdir(), "tensord-cnn.pt"))
    a = ap.parse_args()

    if a.torch:
        import torch
    else:
        import tensord as torch
        info = torch.daemon_info()
        print(f"tensord {info['daemon_version']}, session {info['session_id'][:8]}, "
              f"devices {info['devices']}")
    from_np = torch.from_numpy

    rng = np.random.default_rng(0)
    x_train, y_train = make_images(a.train, rng)
    x_test, y_test = make_images(512, rng)
    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(from_np(x_train), from_np(y_train))
    loader = torch.utils.data.DataLoader(data, batch_size=a.batch_size, shuffle=True)
    model = model_of(torch)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    for epoch in range(1, a.epochs + 1):
        model.train()
        bar = Progress(len(loader), epoch, a.epochs)
        for step, (xb, yb) in enumerate(loader, 1):
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            if step % 8 == 0 or step == len(loader):
                bar.update(step, loss.item())  # a sync point every 8 steps
        bar.close()

    model.eval()
    with torch.no_grad():
        pred = model(from_np(x_test)).argmax(dim=1)
        accuracy = (pred == from_np(y_test)).float().mean().item()
    torch.save(model.state_dict(), a.checkpoint)
    print(f"test accuracy {accuracy * 100:.1f}% on {len(y_test)} images")
    print(f"checkpoint saved to {a.checkpoint} (torch.load reads it)")
    return 0 if accuracy > 0.3 else 1


if __name__ == "__main__":
    sys.exit(main())
