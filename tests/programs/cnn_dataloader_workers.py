"""A small CNN classifying synthetic 8x8 images, loaded by a DataLoader with workers.

After PyTorch's examples/mnist, shrunk. Exercises: a map-style Dataset
subclass that builds tensors with torch.from_numpy, DataLoader with
num_workers=2 and a worker_init_fn, nn.Conv2d, nn.BatchNorm2d,
F.max_pool2d, torch.flatten, F.log_softmax + F.nll_loss, optim.Adadelta with
lr_scheduler.StepLR, model.train()/eval() (batch-norm running statistics),
and test accuracy with argmax(keepdim=True) + eq + view_as.

Images come from NumPy; the parameters from a fixed formula.
"""
import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, Dataset


class Stripes(Dataset):
    """Class 0: a horizontal stripe; class 1: a vertical one; at a random place, with noise."""

    def __init__(self, n, seed):
        rs = np.random.RandomState(seed)
        self.labels = rs.randint(0, 2, n)
        self.images = 0.2 * rs.randn(n, 1, 8, 8).astype(np.float32)
        where = rs.randint(1, 7, n)
        for i in range(n):
            if self.labels[i] == 0:
                self.images[i, 0, where[i], :] += 1.0
            else:
                self.images[i, 0, :, where[i]] += 1.0

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return torch.from_numpy(self.images[index]), int(self.labels[index])


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 8, 3, 1)
        self.fc1 = nn.Linear(8 * 2 * 2, 16)
        self.fc2 = nn.Linear(16, 2)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


def seed_worker(worker_id):
    np.random.seed(1000 + worker_id)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", required=True, help="where the final parameters go (.npz)")
    args = parser.parse_args()
    torch.manual_seed(1)

    train_loader = DataLoader(Stripes(128, 1), batch_size=16, shuffle=False, num_workers=2,
                              worker_init_fn=seed_worker)
    test_loader = DataLoader(Stripes(64, 2), batch_size=32, shuffle=False)
    model = Net()
    with torch.no_grad():
        for i, (name, p) in enumerate(model.named_parameters()):
            if name.startswith("bn"):
                continue
            n = p.numel()
            p.copy_(((torch.arange(n, dtype=torch.float32) * (0.6931 + 0.03 * i)) % 1.0 - 0.5)
                    .view(p.shape) * (0.8 if p.dim() > 1 else 0.1))
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)

    for epoch in range(1, args.epochs + 1):
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            if batch_idx % 4 == 0:
                print("Train Epoch: {} [{}/{}]\tLoss: {:.6f}".format(
                    epoch, batch_idx * len(data), len(train_loader.dataset), loss.item()))
        model.eval()
        test_loss, correct = 0, 0
        with torch.no_grad():
            for data, target in test_loader:
                output = model(data)
                test_loss += F.nll_loss(output, target, reduction="sum").item()
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()
        test_loss /= len(test_loader.dataset)
        print("Test set: Average loss: {:.4f}, Accuracy: {}/{}".format(
            test_loss, correct, len(test_loader.dataset)))
        scheduler.step()
    np.savez(args.out, **{k: v.detach().cpu().numpy() for k, v in model.state_dict().items()})


if __name__ == "__main__":
    main()
