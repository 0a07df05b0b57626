"""RNN, LSTM, GRU and their cells, composed from differentiable daemon ops.

Every layer runs on a packed layout: `data` is (sum(batch_sizes), features),
time step t holding the first batch_sizes[t] sequences. A padded input is the
special case of equal batch sizes, so one loop serves both. The input
projection of all time steps is one addmm per layer and direction; each step
then costs one addmm for all gates plus a handful of pointwise ops.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, List, Optional, Tuple

from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module


def _td() -> Any:
    import tensord
    return tensord


def _project(data: Any, w: Any, b: Optional[Any]) -> Any:
    """data @ w.T (+ b) for a 2-D data."""
    td = _td()
    return td.addmm(b, data, w.t()) if b is not None else td.mm(data, w.t())


class _Weights:
    """One layer-direction's parameters: w_ih, w_hh, b_ih, b_hh, w_hr (None where absent)."""

    def __init__(self, params: List[Any], bias: bool, proj: bool) -> None:
        it = iter(params)
        self.w_ih, self.w_hh = next(it), next(it)
        self.b_ih = next(it) if bias else None
        self.b_hh = next(it) if bias else None
        self.w_hr = next(it) if proj else None


def _cell_step(mode: str, xw: Any, h: Any, c: Any, w: _Weights, w_hh_t: Any) -> Tuple[Any, Any]:
    """One time step. xw: the input projection of this step (b_ih included;
    b_hh too for every mode but GRU, whose b_hh sits inside the reset gate)."""
    td = _td()
    if mode == "GRU":
        gh = _project(h, w.w_hh, w.b_hh)
        n3 = xw.shape[1] // 3
        r, z = td.sigmoid(xw.narrow(1, 0, 2 * n3) + gh.narrow(1, 0, 2 * n3)).chunk(2, 1)
        n = td.tanh(xw.narrow(1, 2 * n3, n3) + r * gh.narrow(1, 2 * n3, n3))
        return n + z * (h - n), None
    pre = td.addmm(xw, h, w_hh_t)
    if mode == "RNN_TANH":
        return td.tanh(pre), None
    if mode == "RNN_RELU":
        return td.relu(pre), None
    i, f, g, o = pre.chunk(4, 1)  # torch's gate order
    i, f, g, o = td.sigmoid(i), td.sigmoid(f), td.tanh(g), td.sigmoid(o)
    c = f * c + i * g
    h = o * td.tanh(c)
    if w.w_hr is not None:
        h = td.mm(h, w.w_hr.t())
    return h, c


def _run_direction(mode: str, data: Any, sizes: List[int], h0: Any, c0: Any, w: _Weights,
                   reverse: bool) -> Tuple[Any, Any, Any]:
    """One layer in one direction over packed `data`: (output data, h_n, c_n)."""
    td = _td()
    if mode == "GRU":
        xw_all = _project(data, w.w_ih, w.b_ih)
    else:
        bias = w.b_ih + w.b_hh if w.b_ih is not None else None
        xw_all = _project(data, w.w_ih, bias)
    w_hh_t = w.w_hh.t()
    offsets, off = [], 0
    for b in sizes:
        offsets.append(off)
        off += b
    lstm = mode == "LSTM"
    outs: List[Any] = [None] * len(sizes)
    if not reverse:
        h, c = h0.narrow(0, 0, sizes[0]), (c0.narrow(0, 0, sizes[0]) if lstm else None)
        done_h: List[Any] = []
        done_c: List[Any] = []
        for t, b in enumerate(sizes):
            if b < h.shape[0]:  # sequences that ended at t-1 keep their last state
                done_h.append(h.narrow(0, b, h.shape[0] - b))
                h = h.narrow(0, 0, b)
                if lstm:
                    done_c.append(c.narrow(0, b, c.shape[0] - b))
                    c = c.narrow(0, 0, b)
            h, c = _cell_step(mode, xw_all.narrow(0, offsets[t], b), h, c, w, w_hh_t)
            outs[t] = h
        if done_h:
            h = td.cat([h] + done_h[::-1], 0)
            if lstm:
                c = td.cat([c] + done_c[::-1], 0)
    else:
        last = sizes[-1]
        h, c = h0.narrow(0, 0, last), (c0.narrow(0, 0, last) if lstm else None)
        for t in range(len(sizes) - 1, -1, -1):
            b = sizes[t]
            if b > h.shape[0]:  # sequences that start (from their end) at step t
                h = td.cat([h, h0.narrow(0, h.shape[0], b - h.shape[0])], 0)
                if lstm:
                    c = td.cat([c, c0.narrow(0, c.shape[0], b - c.shape[0])], 0)
            h, c = _cell_step(mode, xw_all.narrow(0, offsets[t], b), h, c, w, w_hh_t)
            outs[t] = h
    return td.cat(outs, 0), h, c


def _run_layers(module: "RNNBase", data: Any, sizes: List[int], hx: Any, cx: Any) -> Tuple[Any, Any, Any]:
    td = _td()
    dirs = 2 if module.bidirectional else 1
    proj = module.proj_size > 0
    hs_out, cs_out = [], []
    weights = module.all_weights
    for layer in range(module.num_layers):
        if layer > 0 and module.dropout > 0 and module.training:
            data = F.dropout(data, module.dropout, True)
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            w = _Weights(weights[k], module.bias, proj)
            out, h, c = _run_direction(module.mode, data, sizes, hx[k], cx[k] if cx is not None else None,
                                       w, reverse=d == 1)
            outs.append(out)
            hs_out.append(h)
            cs_out.append(c)
        data = td.cat(outs, 1) if dirs == 2 else outs[0]
    h_n = td.stack(hs_out, 0)
    c_n = td.stack(cs_out, 0) if cx is not None else None
    return data, h_n, c_n


class RNNBase(Module):
    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        dirs = 2 if bidirectional else 1
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        gates = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
        if mode not in gates:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = gates[mode] * hidden_size
        td = _td()
        self._flat_weights_names: List[str] = []
        self._all_weights: List[List[str]] = []
        real_hidden = proj_size if proj_size > 0 else hidden_size
        for layer in range(num_layers):
            for direction in range(dirs):
                layer_input = input_size if layer == 0 else real_hidden * dirs
                shapes = [(gate_size, layer_input), (gate_size, real_hidden)]
                names = ["weight_ih_l{}{}", "weight_hh_l{}{}"]
                if bias:
                    shapes += [(gate_size,), (gate_size,)]
                    names += ["bias_ih_l{}{}", "bias_hh_l{}{}"]
                if proj_size > 0:
                    shapes.append((proj_size, hidden_size))
                    names.append("weight_hr_l{}{}")
                suffix = "_reverse" if direction == 1 else ""
                names = [n.format(layer, suffix) for n in names]
                for name, shape in zip(names, shapes):
                    setattr(self, name, Parameter(td.empty(*shape, device=device, dtype=dtype)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """No-op: there is no cuDNN weight buffer to compact."""

    @property
    def _flat_weights(self) -> List[Any]:
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> List[List[Any]]:
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def _real_hidden(self) -> int:
        return self.proj_size if self.proj_size > 0 else self.hidden_size

    def check_input(self, input: Any, batch_sizes: Optional[Any]) -> None:
        expected = 2 if batch_sizes is not None else 3
        if input.dim() != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError("input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")

    def _expected_hidden(self, batch: int, size: int) -> Tuple[int, int, int]:
        return (self.num_layers * (2 if self.bidirectional else 1), batch, size)

    @staticmethod
    def check_hidden_size(hx: Any, expected: Tuple[int, int, int],
                          msg: str = "Expected hidden size {}, got {}") -> None:
        if tuple(hx.shape) != tuple(expected):
            raise RuntimeError(msg.format(expected, list(hx.shape)))

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    def forward(self, input: Any, hx: Any = None) -> Any:
        td = _td()
        lstm = self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        is_batched = True
        batch_dim = 0 if self.batch_first else 1
        if packed:
            data, sizes = input.data, input.batch_size_list()
            sorted_indices, unsorted_indices = input.sorted_indices, input.unsorted_indices
            batch = sizes[0]
        else:
            is_batched = input.dim() == 3
            if not is_batched:
                input = input.unsqueeze(batch_dim)
            if hx is not None:
                hs = hx if lstm else (hx,)
                want = 3 if is_batched else 2
                if any(h.dim() != want for h in hs):
                    kind = "batched 3-D" if is_batched else "unbatched 2-D"
                    if lstm:
                        raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but "
                                           f"got ({hs[0].dim()}-D, {hs[1].dim()}-D) tensors")
                    raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got "
                                       f"{hx.dim()}-D tensor")
                if not is_batched:
                    hx = tuple(h.unsqueeze(1) for h in hs) if lstm else hx.unsqueeze(1)
            self.check_input(input, None)
            if self.batch_first:
                input = input.transpose(0, 1)
            steps, batch = input.shape[0], input.shape[1]
            sizes = [batch] * steps
            data = input.reshape([steps * batch, input.shape[2]])
            sorted_indices = unsorted_indices = None
        if packed:
            self.check_input(data, sizes)
        dirs = 2 if self.bidirectional else 1
        if hx is None:
            kw = dict(dtype=data.dtype, device=data._device_str)
            h0 = td.zeros([self.num_layers * dirs, batch, self._real_hidden()], **kw)
            c0 = td.zeros([self.num_layers * dirs, batch, self.hidden_size], **kw) if lstm else None
        else:
            h0, c0 = (hx[0], hx[1]) if lstm else (hx, None)
            if sorted_indices is not None:
                h0 = h0.index_select(1, sorted_indices)
                c0 = c0.index_select(1, sorted_indices) if lstm else None
            self.check_hidden_size(h0, self._expected_hidden(batch, self._real_hidden()),
                                   "Expected hidden[0] size {}, got {}" if lstm else
                                   "Expected hidden size {}, got {}")
            if lstm:
                self.check_hidden_size(c0, self._expected_hidden(batch, self.hidden_size),
                                       "Expected hidden[1] size {}, got {}")
        if not sizes:  # zero time steps
            raise RuntimeError(f"{type(self).__name__}: expected a sequence of at least one step")
        out, h_n, c_n = _run_layers(self, data, sizes, h0, c0)
        if unsorted_indices is not None:
            h_n = h_n.index_select(1, unsorted_indices)
            c_n = c_n.index_select(1, unsorted_indices) if lstm else None
        hidden = (h_n, c_n) if lstm else h_n
        if packed:
            return input._with_data(out), hidden
        out = out.reshape([len(sizes), batch, out.shape[1]])
        if self.batch_first:
            out = out.transpose(0, 1)
        if not is_batched:
            out = out.squeeze(batch_dim)
            hidden = (h_n.squeeze(1), c_n.squeeze(1)) if lstm else h_n.squeeze(1)
        return out, hidden


class RNN(RNNBase):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'")
        super().__init__(mode, *args, **kwargs)


class LSTM(RNNBase):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


class RNNCellBase(Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        td = _td()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(td.empty(num_chunks * hidden_size, input_size, device=device, dtype=dtype))
        self.weight_hh = Parameter(td.empty(num_chunks * hidden_size, hidden_size, device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(td.empty(num_chunks * hidden_size, device=device, dtype=dtype))
            self.bias_hh = Parameter(td.empty(num_chunks * hidden_size, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _step(self, mode: str, input: Any, h: Any, c: Any) -> Tuple[Any, Any]:
        w = _Weights([self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh], self.bias, False)
        if mode == "GRU":
            xw = _project(input, w.w_ih, w.b_ih)
        else:
            xw = _project(input, w.w_ih, w.b_ih + w.b_hh if self.bias else None)
        return _cell_step(mode, xw, h, c, w, w.w_hh.t())

    def _prepare(self, input: Any, hx: Any, cell_name: str) -> Tuple[Any, Any, bool]:
        if input.dim() not in (1, 2):
            raise AssertionError(f"{cell_name}: Expected input to be 1-D or 2-D but received "
                             f"{input.dim()}-D tensor")
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        if hx is None:
            return input, None, is_batched
        hs = hx if isinstance(hx, tuple) else (hx,)
        hs = tuple(h if is_batched else h.unsqueeze(0) for h in hs)
        return input, hs, is_batched

    def _zeros(self, input: Any) -> Any:
        return _td().zeros([input.shape[0], self.hidden_size], dtype=input.dtype,
                           device=input._device_str)


class RNNCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Any, hx: Optional[Any] = None) -> Any:
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        mode = "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"
        input, hs, is_batched = self._prepare(input, hx, "RNNCell")
        h = hs[0] if hs is not None else self._zeros(input)
        out, _ = self._step(mode, input, h, None)
        return out if is_batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input: Any, hx: Optional[Tuple[Any, Any]] = None) -> Tuple[Any, Any]:
        input, hs, is_batched = self._prepare(input, hx, "LSTMCell")
        if hs is None:
            hs = (self._zeros(input), self._zeros(input))
        h, c = self._step("LSTM", input, hs[0], hs[1])
        return (h, c) if is_batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input: Any, hx: Optional[Any] = None) -> Any:
        input, hs, is_batched = self._prepare(input, hx, "GRUCell")
        h = hs[0] if hs is not None else self._zeros(input)
        out, _ = self._step("GRU", input, h, None)
        return out if is_batched else out.squeeze(0)
