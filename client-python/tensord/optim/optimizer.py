"""Optimizer base: param_groups, state, state_dict in PyTorch 1.13's layout."""
from __future__ import annotations

import warnings
from collections import abc as container_abcs, defaultdict
from itertools import chain
from typing import Any, Callable, Optional

from .. import _C
from .._autograd import no_grad

Tensor = _C.Tensor


class _RequiredParameter:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj: Any) -> str:
    from ..nn.modules.module import typename
    return typename(obj)


def _copy(value: Any) -> Any:
    """deepcopy for state dicts: tensors are cloned on the daemon."""
    if isinstance(value, Tensor):
        with no_grad():
            return value.detach().clone()
    if isinstance(value, dict):
        return type(value)((k, _copy(v)) for k, v in value.items()) if not isinstance(value, defaultdict) \
            else {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    return value


class _FusedGroup:
    """A group's state tensors on the daemon: per-parameter buffers by name
    and a float64 step count per parameter (0: no state yet)."""

    def __init__(self, params: list, names: tuple) -> None:
        import tensord
        self.params = list(params)
        with no_grad():
            self.steps = tensord.zeros(len(self.params), dtype=tensord.float64)
            self.buffers = {n: [tensord.zeros_like(p) for p in self.params] for n in names}

    def load(self, i: int, st: dict, step: float) -> None:
        with no_grad():
            for name, bufs in self.buffers.items():
                v = st.get(name)
                if isinstance(v, Tensor):
                    bufs[i].copy_(v)
            self.steps[i] = step


class Optimizer:
    def __init__(self, params: Any, defaults: dict) -> None:
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self._state: defaultdict = defaultdict(dict)
        self._fused: dict = {}  # group index -> _FusedGroup (see _fused_group)
        self.param_groups: list = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __getstate__(self) -> dict:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        self._state = state.pop("state", defaultdict(dict))
        self._fused = {}
        self.__dict__.update(state)

    # ---- state kept on the daemon by fused steps ----
    #
    # A fused step (one daemon op per group) keeps its per-parameter state in
    # _FusedGroup tensors and counts steps per parameter on the daemon, since
    # only the daemon knows which parameters had a gradient. `state` (and
    # state_dict) read them back into torch's layout when asked.

    @property
    def state(self) -> defaultdict:
        self._sync_fused_state()
        return self._state

    @state.setter
    def state(self, value: Any) -> None:
        self._state = value
        self._fused = {}

    def _fused_group(self, index: int, group: dict, names: tuple) -> "_FusedGroup":
        fg = self._fused.get(index)
        params = group["params"]
        if fg is not None and len(fg.params) == len(params) and all(
                a is b for a, b in zip(fg.params, params)):
            return fg
        self._sync_fused_state()
        fg = _FusedGroup(params, names)
        for i, p in enumerate(params):
            st = self._state.get(p)
            if st:
                fg.load(i, st, self._state_step(st))
        self._fused[index] = fg
        return fg

    def _state_step(self, st: dict) -> float:
        """The step count a loaded per-parameter state stands for."""
        step = st.get("step", 1)
        return float(step.item() if isinstance(step, Tensor) else step)

    def _fused_entry(self, group: dict, fg: "_FusedGroup", i: int, step: float) -> dict:
        """torch's per-parameter state for parameter i of a fused group."""
        raise NotImplementedError

    def _sync_fused_state(self) -> None:
        for index, fg in list(self._fused.items()):
            if index >= len(self.param_groups):
                continue
            group = self.param_groups[index]
            for i, step in enumerate(fg.steps.tolist()):
                if step > 0:
                    self._state[fg.params[i]] = self._fused_entry(group, fg, i, step)

    def __repr__(self) -> str:
        format_string = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            format_string += "\n"
            format_string += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    format_string += f"    {key}: {group[key]}\n"
        format_string += ")"
        return format_string

    def state_dict(self) -> dict:
        param_mappings: dict = {}
        start_index = 0

        def pack_group(group: dict) -> dict:
            nonlocal start_index
            packed = {k: v for k, v in group.items() if k != "params"}
            param_mappings.update({id(p): i for i, p in enumerate(group["params"], start_index)
                                   if id(p) not in param_mappings})
            packed["params"] = [param_mappings[id(p)] for p in group["params"]]
            start_index += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {(param_mappings[id(k)] if isinstance(k, Tensor) else k): v
                        for k, v in self.state.items()}
        return {"state": packed_state, "param_groups": param_groups}

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = _copy(state_dict)
        groups = self.param_groups
        saved_groups = state_dict["param_groups"]
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        param_lens = (len(g["params"]) for g in groups)
        saved_lens = (len(g["params"]) for g in saved_groups)
        if any(p_len != s_len for p_len, s_len in zip(param_lens, saved_lens)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the "
                             "size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def cast(param: Any, value: Any, key: Optional[str] = None) -> Any:
            if isinstance(value, Tensor):
                if key != "step":
                    if param.dtype.is_floating_point:
                        value = value.to(param.dtype)
                    return value.to(param.device)
                return value
            if isinstance(value, dict):
                return {k: cast(param, v, key=k) for k, v in value.items()}
            if isinstance(value, container_abcs.Iterable) and not isinstance(value, str):
                return type(value)(cast(param, v) for v in value)
            return value

        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = cast(param, v)
            else:
                state[k] = v

        def update_group(group: dict, new_group: dict) -> dict:
            new_group["params"] = group["params"]
            return new_group

        param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups)]
        self.__setstate__({"state": state, "param_groups": param_groups})
        self._state_loaded()

    def _state_loaded(self) -> None:
        """Hook for subclasses that mirror state on the daemon."""

    def zero_grad(self, set_to_none: bool = False) -> None:
        from ..nn.modules.module import _zero_grads
        _zero_grads((p for g in self.param_groups for p in g["params"]), set_to_none)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        raise NotImplementedError

    def add_param_group(self, param_group: dict) -> None:
        assert isinstance(param_group, dict), "param group must be a dict"
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but "
                            "the ordering of tensors in sets will change between runs. Please use a "
                            "list instead.")
        else:
            param_group["params"] = list(params)
        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(param))
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required optimization "
                                 "parameter " + name)
            param_group.setdefault(name, default)
        params = param_group["params"]
        if len(params) != len(set(params)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information", stacklevel=3)
        param_set: set = set()
        for group in self.param_groups:
            param_set.update(set(group["params"]))
        if not param_set.isdisjoint(set(param_group["params"])):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)


def _closure_loss(closure: Optional[Callable[[], Any]]) -> Any:
    if closure is None:
        return None
    from .._autograd import enable_grad
    with enable_grad():
        return closure()
