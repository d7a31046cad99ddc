"""TF1 weight regularizers (`tf.contrib.layers.l1_regularizer` / `l2_regularizer` and friends).

A regularizer is a function `weights -> scalar penalty tensor`, as the seed programs use them:
`tf.add_to_collection('losses', tf.contrib.layers.l2_regularizer(0.001)(w))`.

    l1_regularizer(scale)(w) = scale * sum(|w|)
    l2_regularizer(scale)(w) = scale * sum(w^2) / 2          (scale * tf.nn.l2_loss(w))
"""
from __future__ import annotations

import numbers

import numpy as np

from . import graph as graph_mod
from .core import apply_op, convert_to_tensor

REGULARIZATION_LOSSES = "regularization_losses"
WEIGHTS = "weights"


def _scope(scope, default):
    if graph_mod.graph_is_active():
        return graph_mod.get_default_graph().name_scope(scope or default)
    import contextlib
    return contextlib.nullcontext("")


def _check_scale(scale):
    if isinstance(scale, numbers.Integral) and not isinstance(scale, bool):
        raise ValueError("scale cannot be an integer: %s" % scale)
    if isinstance(scale, numbers.Real):
        if scale < 0.0:
            raise ValueError("Setting a scale less than 0 on a regularizer: %g" % scale)
        return scale != 0.0
    return True


def _tensor(w):
    return w._as_tensor() if hasattr(w, "_as_tensor") else convert_to_tensor(w)


def _sum_all(x):
    rank = x.shape.rank
    return apply_op("reduce_sum", [x], {"axes": tuple(range(rank)), "keepdims": False}, name="Sum")


def _scaled(scale, value, dtype, name):
    s = scale if hasattr(scale, "dtype") and not isinstance(scale, (float, int)) else \
        convert_to_tensor(np.asarray(scale, dtype=dtype.np))
    return apply_op("mul", [s, value], {}, name=name)


def l1_regularizer(scale, scope=None):
    if not _check_scale(scale):
        return lambda _: None

    def l1(weights, name=None):
        with _scope(scope, "l1_regularizer") as sc:
            w = _tensor(weights)
            return _scaled(scale, _sum_all(apply_op("abs", [w], {}, name="Abs")), w.dtype, sc or name)
    return l1


def l2_loss(t):
    """sum(t^2) / 2 (tf.nn.l2_loss)."""
    t = _tensor(t)
    half = convert_to_tensor(np.asarray(0.5, dtype=t.dtype.np))
    return apply_op("mul", [_sum_all(apply_op("square", [t], {}, name="Square")), half], {}, name="L2Loss")


def l2_regularizer(scale, scope=None):
    if not _check_scale(scale):
        return lambda _: None

    def l2(weights, name=None):
        with _scope(scope, "l2_regularizer") as sc:
            w = _tensor(weights)
            return _scaled(scale, l2_loss(w), w.dtype, sc or name)
    return l2


def l1_l2_regularizer(scale_l1=1.0, scale_l2=1.0, scope=None):
    if isinstance(scale_l1, numbers.Real) and isinstance(scale_l2, numbers.Real) and scale_l1 == 0 and scale_l2 == 0:
        return lambda _: None
    return sum_regularizer([l1_regularizer(scale_l1), l2_regularizer(scale_l2)], scope=scope)


def sum_regularizer(regularizer_list, scope=None):
    regularizer_list = [r for r in regularizer_list if r]
    if not regularizer_list:
        return lambda _: None

    def total(weights):
        with _scope(scope, "sum_regularizer"):
            penalties = [p for p in (r(weights) for r in regularizer_list) if p is not None]
            out = penalties[0]
            for p in penalties[1:]:
                out = apply_op("add", [out, p], {}, name="add")
            return out
    return total


def apply_regularization(regularizer, weights_list=None):
    """Sum of `regularizer(w)` over `weights_list` (default: the WEIGHTS collection), added to
    the REGULARIZATION_LOSSES collection."""
    g = graph_mod.get_default_graph()
    if not weights_list:
        weights_list = g.get_collection(WEIGHTS)
    if not weights_list:
        raise ValueError("No weights to regularize.")
    with _scope(None, "get_regularization_penalty"):
        penalties = []
        for w in weights_list:
            p = regularizer(w)
            if p is None:
                p = convert_to_tensor(np.float32(0.0))
            if p.shape.rank != 0:
                raise ValueError("regularizer must return a scalar Tensor instead of a Tensor with rank %d."
                                 % p.shape.rank)
            penalties.append(p)
        total = penalties[0]
        for p in penalties[1:]:
            total = apply_op("add", [total, p], {}, name="add")
    if graph_mod.graph_is_active():
        g.add_to_collection(REGULARIZATION_LOSSES, total)
    return total
