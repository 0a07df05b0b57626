"""torch.save(model) / torch.load(f, weights_only=False): whole modules and
arbitrary picklable objects, both ways between tensord and torch 1.13, and
the weights-only default that refuses them."""
from __future__ import annotations

import collections
import pickle
import zipfile

import numpy as np
import pytest

import tensord as td
import tensord.nn as nn
from helpers import to_numpy
from tensord import serialization

RNG = np.random.default_rng(3)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


# Every class tensord saves under torch's name: a constructor (given the
# library) and its inputs.
TORCH_NAMED = {
    "Sequential": (lambda m: m.Sequential(m.Linear(4, 3), m.ReLU()), [_x(2, 4)]),
    "ModuleList": (lambda m: m.ModuleList([m.Linear(2, 2), m.Tanh()]), None),
    "ModuleDict": (lambda m: m.ModuleDict({"a": m.Linear(2, 2)}), None),
    "Linear": (lambda m: m.Linear(4, 3), [_x(2, 4)]),
    "Identity": (lambda m: m.Identity(), [_x(2, 4)]),
    "Flatten": (lambda m: m.Flatten(), [_x(2, 3, 4)]),
    "Conv1d": (lambda m: m.Conv1d(2, 3, 3), [_x(1, 2, 7)]),
    "Conv2d": (lambda m: m.Conv2d(2, 3, 3, padding=1, stride=2), [_x(1, 2, 7, 7)]),
    "Conv3d": (lambda m: m.Conv3d(1, 2, 2), [_x(1, 1, 3, 3, 3)]),
    "BatchNorm1d": (lambda m: m.BatchNorm1d(4), [_x(3, 4)]),
    "BatchNorm2d": (lambda m: m.BatchNorm2d(3), [_x(2, 3, 4, 4)]),
    "BatchNorm3d": (lambda m: m.BatchNorm3d(2), [_x(2, 2, 2, 2, 2)]),
    "LayerNorm": (lambda m: m.LayerNorm(4), [_x(2, 4)]),
    "GroupNorm": (lambda m: m.GroupNorm(2, 4), [_x(2, 4, 3)]),
    "Embedding": (lambda m: m.Embedding(10, 3, padding_idx=0), [np.array([[1, 0, 9]])]),
    "Dropout": (lambda m: m.Dropout(0.3), [_x(2, 4)]),
    "ReLU": (lambda m: m.ReLU(), [_x(2, 4)]),
    "Tanh": (lambda m: m.Tanh(), [_x(2, 4)]),
    "Sigmoid": (lambda m: m.Sigmoid(), [_x(2, 4)]),
    "GELU": (lambda m: m.GELU(approximate="tanh"), [_x(2, 4)]),
    "LeakyReLU": (lambda m: m.LeakyReLU(0.2), [_x(2, 4)]),
    "ELU": (lambda m: m.ELU(alpha=0.5), [_x(2, 4)]),
    "SiLU": (lambda m: m.SiLU(), [_x(2, 4)]),
    "Softplus": (lambda m: m.Softplus(beta=2.0), [_x(2, 4)]),
    "Softmax": (lambda m: m.Softmax(dim=1), [_x(2, 4)]),
    "LogSoftmax": (lambda m: m.LogSoftmax(dim=0), [_x(2, 4)]),
    "MaxPool1d": (lambda m: m.MaxPool1d(2), [_x(1, 2, 6)]),
    "MaxPool2d": (lambda m: m.MaxPool2d(2, stride=1), [_x(1, 2, 5, 5)]),
    "AvgPool2d": (lambda m: m.AvgPool2d(2), [_x(1, 2, 4, 4)]),
    "AdaptiveAvgPool2d": (lambda m: m.AdaptiveAvgPool2d(1), [_x(1, 2, 4, 4)]),
    "MSELoss": (lambda m: m.MSELoss(reduction="sum"), [_x(2, 4), _x(2, 4)]),
    "CrossEntropyLoss": (lambda m: m.CrossEntropyLoss(), [_x(3, 4), np.array([0, 3, 1])]),
}


def test_the_table_lists_every_class_saved_under_torchs_name():
    assert set(TORCH_NAMED) == set(serialization._TORCH_CLASS_MODULES)


def _out(y):
    return y[0] if isinstance(y, tuple) else y


@pytest.mark.parametrize("name", sorted(TORCH_NAMED))
def test_a_module_saved_whole_by_tensord_loads_in_torch_as_torchs_own(ref, tmp_path, name):
    build, inputs = TORCH_NAMED[name]
    ours = build(nn)
    ours.eval()
    path = tmp_path / "m.pt"
    td.save(ours, path)
    theirs = ref.load(path)  # torch 1.13's default: a full unpickle
    assert type(theirs) is getattr(ref.nn, name)
    assert not theirs.training
    sd_m, sd_t = ours.state_dict(), theirs.state_dict()
    assert list(sd_m) == list(sd_t)
    for k in sd_m:
        np.testing.assert_array_equal(to_numpy(sd_m[k]), sd_t[k].numpy())
    if inputs is not None:
        got = _out(ours(*(td.tensor(a) for a in inputs)))
        want = _out(theirs(*(ref.tensor(a) for a in inputs)))
        np.testing.assert_allclose(to_numpy(got.detach()), want.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
    assert repr(theirs) == repr(ours)


TORCH_SAVED = [
    (lambda m: m.Sequential(m.Conv2d(2, 3, 3), m.BatchNorm2d(3), m.ReLU(), m.MaxPool2d(2),
                            m.Flatten(), m.Linear(3 * 2 * 2, 2)), _x(2, 2, 6, 6)),
    (lambda m: m.LSTM(4, 5, num_layers=2, batch_first=True), _x(2, 3, 4)),
    (lambda m: m.GRU(4, 5, bidirectional=True), _x(3, 2, 4)),
    (lambda m: m.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0), _x(3, 2, 8)),
    (lambda m: m.Embedding(7, 3), np.array([[1, 2], [6, 0]])),
]


@pytest.mark.parametrize("case", TORCH_SAVED,
                         ids=["cnn", "lstm", "gru", "transformer", "embedding"])
def test_a_module_saved_whole_by_torch_loads_in_tensord_with_weights_only_false(ref, tmp_path,
                                                                                case):
    build, x = case
    theirs = build(ref.nn)
    theirs.eval()
    path = tmp_path / "m.pt"
    ref.save(theirs, path)
    ours = td.load(path, weights_only=False)
    assert isinstance(ours, nn.Module) and type(ours).__name__ == type(theirs).__name__
    assert not ours.training
    want = _out(theirs(ref.tensor(x))).detach().numpy()
    got = to_numpy(_out(ours(td.tensor(x))).detach())
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # And it trains: gradients reach its parameters.
    _out(ours(td.tensor(x))).sum().backward()
    assert all(p.grad is not None for p in ours.parameters())


def test_the_default_refuses_a_whole_module_and_says_how_to_opt_in(tmp_path):
    path = tmp_path / "m.pt"
    td.save(nn.Sequential(nn.Linear(2, 2)), path)
    with pytest.raises(pickle.UnpicklingError,
                       match=r"Weights only load failed.*weights_only=False.*"
                             r"Unsupported global: GLOBAL torch.nn.modules.container.Sequential"):
        td.load(path)
    assert isinstance(td.load(path, weights_only=False), nn.Sequential)


class Record:
    """A program's own class, pickled by reference to this module."""

    def __init__(self, name, values):
        self.name, self.values = name, values

    def __eq__(self, other):
        return isinstance(other, Record) and (self.name, self.values) == (other.name, other.values)


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.scale = 2.5

    def forward(self, x):
        return self.fc(x) * self.scale


def test_arbitrary_objects_round_trip_with_weights_only_false(tmp_path):
    obj = {
        "array": np.arange(6, dtype=np.float32).reshape(2, 3),
        "ints": np.array([1, 2, 3]),
        "record": Record("r", [1, 2.5, "x"]),
        "set": {1, 2}, "tuple": (1, None, b"bytes"), "od": collections.OrderedDict(a=1),
        "tensor": td.arange(4.0), "dtype": td.float16, "device": td.device("cpu"),
        "net": TinyNet(),
    }
    path = tmp_path / "obj.pt"
    td.save(obj, path)
    back = td.load(path, weights_only=False)
    np.testing.assert_array_equal(back["array"], obj["array"])
    assert back["array"].dtype == np.float32 and back["ints"].tolist() == [1, 2, 3]
    assert back["record"] == obj["record"]
    assert (back["set"], back["tuple"], back["od"]) == (obj["set"], obj["tuple"], obj["od"])
    assert back["tensor"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert back["dtype"] is td.float16 and back["device"] == td.device("cpu")
    x = td.tensor(_x(4, 3))
    assert isinstance(back["net"], TinyNet) and back["net"].scale == 2.5
    np.testing.assert_allclose(to_numpy(back["net"](x).detach()), to_numpy(obj["net"](x).detach()))
    with pytest.raises(pickle.UnpicklingError, match="GLOBAL numpy"):
        td.load(path)


def test_a_whole_module_saved_by_tensord_loads_in_torch_with_the_programs_classes(ref, tmp_path):
    # Classes without a torch twin keep tensord's name: torch loads them only
    # where tensord is importable (here it is); the torch-named parts inside
    # come back as torch's.
    path = tmp_path / "m.pt"
    net = TinyNet()
    td.save(net, path)
    with zipfile.ZipFile(path) as z:
        data = z.read("archive/data.pkl")
    assert b"test_save_whole\nTinyNet" in data and b"torch.nn.modules.linear\nLinear" in data
    back = ref.load(path)
    assert type(back.fc) is ref.nn.Linear


def test_torch_module_names_map_to_tensords():
    assert serialization.torch_module_to_tensord("torch") == "tensord"
    assert serialization.torch_module_to_tensord("torch.nn.modules.linear") == \
        "tensord.nn.modules.linear"
    assert serialization.torch_module_to_tensord("torchvision.models") is None
    assert serialization.torch_module_to_tensord("numpy") is None
    assert serialization.find_torch_global("torch.nn.modules.batchnorm", "BatchNorm2d") is \
        nn.BatchNorm2d
    assert serialization.find_torch_global("torch.nn.modules.linear",
                                           "NonDynamicallyQuantizableLinear") is nn.Linear
    assert serialization.find_torch_global("torch", "float16") is td.float16
    assert serialization.find_torch_global("torch.nn.modules.linear", "NoSuchLayer") is None
    assert serialization.find_torch_global("numpy", "ndarray") is None


def test_a_name_tensord_lacks_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.pt"
    td.save({"x": 1}, path)
    # Rewrite the pickle to refer to a torch class tensord does not have.
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    files["archive/data.pkl"] = b"\x80\x02ctorch.nn.modules.linear\nNoSuchLayer\nq\x00)\x81q\x01."
    with zipfile.ZipFile(path, "w") as z:
        for n, d in files.items():
            z.writestr(n, d)
    with pytest.raises(pickle.UnpicklingError,
                       match="refers to torch.nn.modules.linear.NoSuchLayer, which tensord does "
                             "not have"):
        td.load(path, weights_only=False)
