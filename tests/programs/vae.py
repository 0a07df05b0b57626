"""A variational autoencoder on synthetic 16-pixel binary-ish images.

After PyTorch's examples/vae, shrunk. Exercises: a Module with
encode/reparameterize/decode, F.relu, torch.sigmoid, torch.exp, the
reparameterisation trick, F.binary_cross_entropy(reduction='sum'), the KL
term with `logvar.exp()` and `mu.pow(2)`, optim.Adam, DataLoader over a
TensorDataset (no shuffling), and sampling from the prior.

The images and the reparameterisation noise come from NumPy (torch.randn_like's
stream differs between backends), and the parameters from a fixed formula.
"""
import argparse

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

PIXELS = 16
LATENT = 2


class VAE(nn.Module):
    def __init__(self):
        super(VAE, self).__init__()
        self.fc1 = nn.Linear(PIXELS, 24)
        self.fc21 = nn.Linear(24, LATENT)
        self.fc22 = nn.Linear(24, LATENT)
        self.fc3 = nn.Linear(LATENT, 24)
        self.fc4 = nn.Linear(24, PIXELS)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar, eps):
        std = torch.exp(0.5 * logvar)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x, eps):
        mu, logvar = self.encode(x.view(-1, PIXELS))
        z = self.reparameterize(mu, logvar, eps)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, PIXELS), reduction="sum")
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


def synthetic_images(rs, n):
    """Bars: each image lights one of four rows or columns of a 4x4 grid, plus noise."""
    images = np.zeros((n, 4, 4), np.float32)
    kind = rs.randint(0, 8, n)
    for i, k in enumerate(kind):
        if k < 4:
            images[i, k, :] = 1.0
        else:
            images[i, :, k - 4] = 1.0
    images = np.clip(images + 0.1 * rs.rand(n, 4, 4).astype(np.float32), 0.0, 1.0)
    return images.reshape(n, PIXELS)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--out", required=True, help="where the final parameters go (.npz)")
    args = parser.parse_args()
    torch.manual_seed(1)
    rs = np.random.RandomState(4)

    data = torch.from_numpy(synthetic_images(rs, 256))
    loader = DataLoader(TensorDataset(data), batch_size=32, shuffle=False)
    model = VAE()
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            n = p.numel()
            p.copy_(((torch.arange(n, dtype=torch.float32) * (0.414 + 0.07 * i)) % 1.0 - 0.5)
                    .view(p.shape) * (0.6 if p.dim() > 1 else 0.1))
    optimizer = optim.Adam(model.parameters(), lr=1e-2)

    for epoch in range(1, args.epochs + 1):
        model.train()
        train_loss = 0
        for batch_idx, (x,) in enumerate(loader):
            eps = torch.from_numpy(rs.randn(x.shape[0], LATENT).astype(np.float32))
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(x, eps)
            loss = loss_function(recon_batch, x, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        print("====> Epoch: {} Average loss: {:.4f}".format(epoch, train_loss / len(loader.dataset)))

    model.eval()
    with torch.no_grad():
        mu, logvar = model.encode(data)
        print("latent mean {:.4f} {:.4f}".format(*mu.mean(0).tolist()))
        sample = model.decode(torch.from_numpy(rs.randn(8, LATENT).astype(np.float32)))
        print("prior samples: mean pixel {:.4f}".format(sample.mean().item()))
    np.savez(args.out, **{k: v.detach().cpu().numpy() for k, v in model.state_dict().items()})


if __name__ == "__main__":
    main()
