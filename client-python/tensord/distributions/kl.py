"""torch.distributions.kl: kl_divergence and register_kl, with PyTorch 1.13's
closed forms for the pairs tensord's distributions have."""
from __future__ import annotations

import math
from typing import Any, Callable

from .bernoulli import Bernoulli
from .categorical import Categorical
from .normal import Normal
from .uniform import Uniform

_KL_REGISTRY: dict = {}


def register_kl(type_p: type, type_q: type) -> Callable:
    def decorator(fun: Callable) -> Callable:
        _KL_REGISTRY[type_p, type_q] = fun
        return fun
    return decorator


def _dispatch_kl(type_p: type, type_q: type) -> Any:
    # The most specific registered pair along both classes' MROs.
    for p in type_p.__mro__:
        for q in type_q.__mro__:
            if (p, q) in _KL_REGISTRY:
                return _KL_REGISTRY[p, q]
    return NotImplemented


def kl_divergence(p: Any, q: Any) -> Any:
    fun = _dispatch_kl(type(p), type(q))
    if fun is NotImplemented:
        raise NotImplementedError("No KL(p || q) is implemented for p type {} and q type {}"
                                  .format(p.__class__.__name__, q.__class__.__name__))
    return fun(p, q)


def _td() -> Any:
    import tensord
    return tensord


@register_kl(Normal, Normal)
def _kl_normal_normal(p: Normal, q: Normal) -> Any:
    var_ratio = (p.scale / q.scale).pow(2)
    t1 = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> Any:
    td = _td()
    from ..nn.functional import softplus
    t1 = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    t1 = td.where(q.probs == 0, td.full_like(t1, math.inf), t1)
    t1 = td.where(p.probs == 0, td.zeros_like(t1), t1)
    t2 = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    t2 = td.where(q.probs == 1, td.full_like(t2, math.inf), t2)
    t2 = td.where(p.probs == 1, td.zeros_like(t2), t2)
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p: Categorical, q: Categorical) -> Any:
    td = _td()
    t = p.probs * (p.logits - q.logits)
    t = td.where(q.probs == 0, td.full_like(t, math.inf), t)
    t = td.where(p.probs == 0, td.zeros_like(t), t)
    return t.sum(-1)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p: Uniform, q: Uniform) -> Any:
    td = _td()
    result = ((q.high - q.low) / (p.high - p.low)).log()
    outside = (q.low > p.low) | (q.high < p.high)
    return td.where(outside, td.full_like(result, math.inf), result)
