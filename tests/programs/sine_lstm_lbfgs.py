"""Predicts sine waves with two LSTMCells, trained by LBFGS in double precision.

After PyTorch's examples/time_sequence_prediction, shrunk to run in seconds.
Exercises: nn.LSTMCell, nn.Linear, Module.double(), Tensor.split, torch.cat,
torch.zeros(dtype=torch.double), nn.MSELoss, optim.LBFGS with a closure
(optimizer.step(closure)), torch.no_grad and predicting the future from the
model's own outputs.

The waves come from NumPy and the parameters from a fixed formula, so every
backend starts from the same point.
"""
import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

HIDDEN = 12


class Sequence(nn.Module):
    def __init__(self):
        super(Sequence, self).__init__()
        self.lstm1 = nn.LSTMCell(1, HIDDEN)
        self.lstm2 = nn.LSTMCell(HIDDEN, HIDDEN)
        self.linear = nn.Linear(HIDDEN, 1)

    def forward(self, input, future=0):
        outputs = []
        h_t = torch.zeros(input.size(0), HIDDEN, dtype=torch.double)
        c_t = torch.zeros(input.size(0), HIDDEN, dtype=torch.double)
        h_t2 = torch.zeros(input.size(0), HIDDEN, dtype=torch.double)
        c_t2 = torch.zeros(input.size(0), HIDDEN, dtype=torch.double)

        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):  # if we should predict the future
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        outputs = torch.cat(outputs, dim=1)
        return outputs


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=3, help="steps to run")
    parser.add_argument("--out", required=True, help="where the final parameters go (.npz)")
    opt = parser.parse_args()
    np.random.seed(2)
    torch.manual_seed(0)
    T, L, N = 4, 24, 8
    x = np.empty((N, L), "int64")
    x[:] = np.array(range(L)) + np.random.randint(-4 * T, 4 * T, N).reshape(N, 1)
    data = np.sin(x / 1.0 / T).astype("float64")
    input = torch.from_numpy(data[2:, :-1])
    target = torch.from_numpy(data[2:, 1:])
    test_input = torch.from_numpy(data[:2, :-1])
    test_target = torch.from_numpy(data[:2, 1:])
    seq = Sequence()
    seq.double()
    with torch.no_grad():
        for i, p in enumerate(seq.parameters()):
            n = p.numel()
            p.copy_((torch.arange(n, dtype=torch.double) * (0.37 + i) % 1.0 - 0.5).view(p.shape) * 0.6)
    criterion = nn.MSELoss()
    optimizer = optim.LBFGS(seq.parameters(), lr=1, max_iter=8, line_search_fn="strong_wolfe")
    for i in range(opt.steps):
        print("STEP: ", i)

        def closure():
            optimizer.zero_grad()
            out = seq(input)
            loss = criterion(out, target)
            print("loss: {:.8f}".format(loss.item()))
            loss.backward()
            return loss
        optimizer.step(closure)
        with torch.no_grad():
            future = 6
            pred = seq(test_input, future=future)
            loss = criterion(pred[:, :-future], test_target)
            print("test loss: {:.8f}".format(loss.item()))
            y = pred.detach().numpy()
            print("future mean {:.6f}".format(float(y[:, -future:].mean())))
    np.savez(opt.out, **{k: v.detach().numpy() for k, v in seq.state_dict().items()})
