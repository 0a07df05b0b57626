"""A siamese network trained with a contrastive loss on pairs of 2-D clusters.

Exercises: one embedding network applied to both halves of a pair (shared
weights), F.pairwise_distance, torch.clamp(min=), a contrastive loss written
as a Module, optim.SGD with momentum and weight decay, an lr scheduler
(StepLR), torch.no_grad evaluation with a distance threshold, comparison
ops and `.float().mean()` for accuracy.

Points and pairs come from NumPy; the parameters from a fixed formula.
"""
import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CENTERS = np.array([[0, 0], [3, 0], [0, 3], [3, 3]], np.float32)


class EmbeddingNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                                 nn.Linear(16, 4))

    def forward(self, x):
        return self.net(x)


class SiameseNet(nn.Module):
    def __init__(self, embedding_net):
        super().__init__()
        self.embedding_net = embedding_net

    def forward(self, x1, x2):
        return self.embedding_net(x1), self.embedding_net(x2)


class ContrastiveLoss(nn.Module):
    """Similar pairs (target 1) are pulled together; others pushed past the margin."""

    def __init__(self, margin):
        super().__init__()
        self.margin = margin

    def forward(self, output1, output2, target):
        distances = F.pairwise_distance(output1, output2)
        losses = 0.5 * (target.float() * distances.pow(2) +
                        (1 - target).float() * torch.clamp(self.margin - distances, min=0).pow(2))
        return losses.mean()


def make_pairs(rs, n):
    a = rs.randint(0, len(CENTERS), n)
    same = rs.rand(n) < 0.5
    b = np.where(same, a, (a + rs.randint(1, len(CENTERS), n)) % len(CENTERS))
    x1 = CENTERS[a] + 0.4 * rs.randn(n, 2).astype(np.float32)
    x2 = CENTERS[b] + 0.4 * rs.randn(n, 2).astype(np.float32)
    return (torch.from_numpy(x1), torch.from_numpy(x2),
            torch.from_numpy(same.astype(np.int64)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--out", required=True, help="where the final parameters go (.npz)")
    args = parser.parse_args()
    torch.manual_seed(42)
    rs = np.random.RandomState(5)

    model = SiameseNet(EmbeddingNet())
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            n = p.numel()
            p.copy_(((torch.arange(n, dtype=torch.float32) * (0.3183 + 0.11 * i)) % 1.0 - 0.5)
                    .view(p.shape) * (1.0 if p.dim() > 1 else 0.2))
    criterion = ContrastiveLoss(margin=1.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    x1_test, x2_test, y_test = make_pairs(rs, 200)

    for epoch in range(1, args.epochs + 1):
        model.train()
        total = 0.0
        for _ in range(10):
            x1, x2, target = make_pairs(rs, 32)
            optimizer.zero_grad()
            out1, out2 = model(x1, x2)
            loss = criterion(out1, out2, target)
            loss.backward()
            optimizer.step()
            total += loss.item()
        scheduler.step()
        model.eval()
        with torch.no_grad():
            e1, e2 = model(x1_test, x2_test)
            predicted_same = F.pairwise_distance(e1, e2) < 0.5
            accuracy = (predicted_same == y_test.bool()).float().mean().item()
        print("epoch {} lr {:.4f} loss {:.5f} pair accuracy {:.3f}".format(
            epoch, scheduler.get_last_lr()[0], total / 10, accuracy))
    np.savez(args.out, **{k: v.detach().cpu().numpy() for k, v in model.state_dict().items()})


if __name__ == "__main__":
    main()
