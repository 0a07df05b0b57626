"""A small GAN that learns a ring of 2-D points.

Exercises: nn.Sequential of Linear/LeakyReLU/Sigmoid, nn.BCELoss with
torch.ones/zeros labels, two optim.Adam optimizers with betas, the
alternating D/G steps with `.detach()` of the fake batch, Module.train/eval
and the usual `optimizer.zero_grad(); loss.backward(); optimizer.step()`.

The real points and the noise come from NumPy (torch.randn's stream differs
between backends), and the parameters from a fixed formula.
"""
import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

NOISE = 4
BATCH = 32


def real_batch(rs):
    angle = rs.uniform(0, 2 * np.pi, BATCH)
    radius = 2.0 + 0.1 * rs.randn(BATCH)
    return torch.from_numpy(np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1)
                            .astype(np.float32))


def noise_batch(rs):
    return torch.from_numpy(rs.randn(BATCH, NOISE).astype(np.float32))


def deterministic_init(module, salt):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            n = p.numel()
            p.copy_(((torch.arange(n, dtype=torch.float32) * (0.7548 + 0.13 * i + salt)) % 1.0
                     - 0.5).view(p.shape) * (0.8 if p.dim() > 1 else 0.2))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--out", required=True, help="where the final parameters go (.npz)")
    args = parser.parse_args()
    torch.manual_seed(0)
    rs = np.random.RandomState(3)

    netG = nn.Sequential(nn.Linear(NOISE, 32), nn.LeakyReLU(0.2), nn.Linear(32, 32),
                         nn.LeakyReLU(0.2), nn.Linear(32, 2))
    netD = nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 32),
                         nn.LeakyReLU(0.2), nn.Linear(32, 1), nn.Sigmoid())
    deterministic_init(netG, 0.0)
    deterministic_init(netD, 0.05)
    criterion = nn.BCELoss()
    optimizerD = optim.Adam(netD.parameters(), lr=2e-3, betas=(0.5, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=2e-3, betas=(0.5, 0.999))
    real_label, fake_label = 1.0, 0.0

    for step in range(1, args.steps + 1):
        # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        real = real_batch(rs)
        label = torch.full((BATCH, 1), real_label)
        output = netD(real)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        fake = netG(noise_batch(rs))
        label.fill_(fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        optimizerD.step()
        # (2) Update G: maximize log(D(G(z)))
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        optimizerG.step()
        if step % 25 == 0:
            print("[{}/{}] Loss_D: {:.4f} Loss_G: {:.4f} D(x): {:.4f} D(G(z)): {:.4f} / {:.4f}"
                  .format(step, args.steps, errD.item(), errG.item(), D_x, D_G_z1, D_G_z2))

    netG.eval()
    with torch.no_grad():
        samples = netG(torch.from_numpy(np.random.RandomState(9).randn(256, NOISE)
                                        .astype(np.float32)))
        radius = samples.norm(dim=1)
    print("generated radius mean {:.4f} std {:.4f}".format(radius.mean().item(), radius.std().item()))
    state = {"G." + k: v for k, v in netG.state_dict().items()}
    state.update({"D." + k: v for k, v in netD.state_dict().items()})
    np.savez(args.out, **{k: v.detach().cpu().numpy() for k, v in state.items()})


if __name__ == "__main__":
    main()
