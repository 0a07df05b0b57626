"""Attention functionals (re-exported by nn.functional): scaled_dot_product_attention
(torch 2.x API) and multi_head_attention_forward (torch 1.13 semantics).

Heads are kept as a dimension of 4-D (N, heads, L, E) tensors, so masks
broadcast over heads instead of being copied per head.
"""
from __future__ import annotations

import math
from typing import Any, Optional, Tuple

from . import functional as F


def _td() -> Any:
    import tensord
    return tensord


def _apply_mask(scores: Any, mask: Optional[Any], masked_is_true: bool) -> Any:
    """scores with a bool mask (-inf where excluded) or an additive float mask."""
    if mask is None:
        return scores
    if mask.dtype == _td().bool:
        return scores.masked_fill(mask if masked_is_true else mask.logical_not(), float("-inf"))
    return scores + mask


def scaled_dot_product_attention(query: Any, key: Any, value: Any, attn_mask: Optional[Any] = None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: Optional[float] = None) -> Any:
    """softmax(Q K^T * scale + mask) V over the last two dims; a bool attn_mask
    marks the positions that take part (torch 2.x)."""
    td = _td()
    if is_causal and attn_mask is not None:
        raise RuntimeError("scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = td.matmul(query, key.transpose(-2, -1)) * scale
    if is_causal:
        causal = td.ones(L, S, dtype=td.bool, device=query._device_str).triu(1)
        scores = scores.masked_fill(causal, float("-inf"))
    scores = _apply_mask(scores, attn_mask, masked_is_true=False)
    weights = td.softmax(scores, -1)
    if dropout_p > 0.0:
        weights = F.dropout(weights, dropout_p, True)
    return td.matmul(weights, value)


def _mha_shapes_batched(query: Any, key: Any, value: Any, key_padding_mask: Optional[Any],
                        attn_mask: Optional[Any], num_heads: int) -> bool:
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError("For batched (3-D) `query`, expected `key` and `value` to be 3-D but "
                                 f"found {key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError("For batched (3-D) `query`, expected `key_padding_mask` to be `None` "
                                 f"or 2-D but found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError("For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D "
                                 f"or 3-D but found {attn_mask.dim()}-D tensor instead")
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError("For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but "
                                 f"found {key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError("For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` "
                                 f"or 1-D but found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError("For unbatched (2-D) `query`, expected `attn_mask` to be `None`, "
                                     f"2-D or 3-D but found {attn_mask.dim()}-D tensor instead")
            if attn_mask.dim() == 3 and tuple(attn_mask.shape) != (num_heads, query.shape[0], key.shape[0]):
                raise AssertionError(f"Expected `attn_mask` shape to be {(num_heads, query.shape[0], key.shape[0])} "
                                     f"but got {tuple(attn_mask.shape)}")
        return False
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                         f"{query.dim()}-D query tensor")


def multi_head_attention_forward(
        query: Any, key: Any, value: Any, embed_dim_to_check: int, num_heads: int,
        in_proj_weight: Optional[Any], in_proj_bias: Optional[Any], bias_k: Optional[Any],
        bias_v: Optional[Any], add_zero_attn: bool, dropout_p: float, out_proj_weight: Any,
        out_proj_bias: Optional[Any], training: bool = True, key_padding_mask: Optional[Any] = None,
        need_weights: bool = True, attn_mask: Optional[Any] = None,
        use_separate_proj_weight: bool = False, q_proj_weight: Optional[Any] = None,
        k_proj_weight: Optional[Any] = None, v_proj_weight: Optional[Any] = None,
        static_k: Optional[Any] = None, static_v: Optional[Any] = None,
        average_attn_weights: bool = True) -> Tuple[Any, Optional[Any]]:
    """Inputs (L, N, E) / (S, N, kdim|vdim) or unbatched; returns the output
    and, if need_weights, the attention weights (averaged over heads unless
    average_attn_weights is False)."""
    td = _td()
    if static_k is not None or static_v is not None:
        raise NotImplementedError("tensord: multi_head_attention_forward static_k/static_v are not supported")
    is_batched = _mha_shapes_batched(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if key_padding_mask is not None and key_padding_mask.dtype != td.bool \
            and not key_padding_mask.dtype.is_floating_point:
        raise AssertionError("only bool and floating types of key_padding_mask are supported")

    if not use_separate_proj_weight:
        if tuple(key.shape) != tuple(value.shape):
            raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}")
        if query is key and key is value:  # self-attention: one projection, then split
            q, k, v = F.linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)
        else:
            ws = in_proj_weight.chunk(3)
            bs = in_proj_bias.chunk(3) if in_proj_bias is not None else (None, None, None)
            q, k, v = (F.linear(x, w, b) for x, w, b in zip((query, key, value), ws, bs))
    else:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not match "
                                 f"value's {tuple(value.shape[:2])}")
        bs = in_proj_bias.chunk(3) if in_proj_bias is not None else (None, None, None)
        q = F.linear(query, q_proj_weight, bs[0])
        k = F.linear(key, k_proj_weight, bs[1])
        v = F.linear(value, v_proj_weight, bs[2])

    mask = None
    if attn_mask is not None:
        if attn_mask.dtype == td.uint8:
            attn_mask = attn_mask.to(td.bool)
        elif not (attn_mask.dtype.is_floating_point or attn_mask.dtype == td.bool):
            raise AssertionError(f"Only float, byte, and bool types are supported for attn_mask, "
                                 f"not {attn_mask.dtype}")
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but "
                                   f"should be {(tgt_len, src_len)}.")
            mask = attn_mask
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, but "
                                   f"should be {(bsz * num_heads, tgt_len, src_len)}.")
            mask = attn_mask.reshape([bsz, num_heads, tgt_len, src_len])
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")

    def pad_key_masks() -> None:
        """One more source position for the masks, not masked (torch pads with 0)."""
        nonlocal mask, key_padding_mask
        if mask is not None:
            mask = F.pad(mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = F.pad(key_padding_mask, (0, 1))

    if bias_k is not None and bias_v is not None:
        # bias_k / bias_v (1, 1, E) become one more source position of every batch
        k = td.cat([k, bias_k.repeat(1, bsz, 1)])
        v = td.cat([v, bias_v.repeat(1, bsz, 1)])
        src_len += 1
        pad_key_masks()
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k and bias_v must both be given, or neither")

    def heads(t: Any, length: int) -> Any:  # (length, N, E) -> (N, heads, length, head_dim)
        return t.reshape([length, bsz, num_heads, head_dim]).permute(1, 2, 0, 3)

    q, k, v = heads(q, tgt_len), heads(k, src_len), heads(v, src_len)
    if add_zero_attn:
        # a zero key and value per head as one more source position
        zeros = td.zeros([bsz, num_heads, 1, head_dim], dtype=k.dtype, device=k._device_str)
        k, v = td.cat([k, zeros], 2), td.cat([v, zeros], 2)
        src_len += 1
        pad_key_masks()
    scores = td.matmul(q * (1.0 / math.sqrt(head_dim)), k.transpose(-2, -1))
    scores = _apply_mask(scores, mask, masked_is_true=True)
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        scores = _apply_mask(scores, key_padding_mask.reshape([bsz, 1, 1, src_len]), masked_is_true=True)
    weights = td.softmax(scores, -1)
    if training and dropout_p > 0.0:
        weights = F.dropout(weights, dropout_p, True)
    out = td.matmul(weights, v).permute(2, 0, 1, 3).reshape([tgt_len, bsz, embed_dim])
    out = F.linear(out, out_proj_weight, out_proj_bias)
    if not need_weights:
        return (out if is_batched else out.squeeze(1)), None
    if average_attn_weights:
        weights = weights.mean(1)
    if not is_batched:
        return out.squeeze(1), weights.squeeze(0)
    return out, weights
