"""`tf.random`: uniform / normal / truncated_normal (TF2 and TF1 spellings), stateless variants
and TF's seeding rules, on the compiler's counter-based (Philox) random ops.

Seeds follow TF's `get_seed`: graph seed + op seed -> both; graph seed only -> the op's position
in the graph (graph mode) or the next draw of a seeded sequence (eager, TF's
`internal_operation_seed`); op seed only -> (DEFAULT_GRAPH_SEED, op seed); neither -> random
seeds. The numbers are fuseflow's own (Philox), not TF's bit stream.

The counter operand makes repeated runs draw new numbers:
- Graph mode (Session or fuseflow.function): the op's (seed, seed2) are attrs fixed when the op
  is built; its counter is a `random_counter` op owning a `RandomStream`
  (random_streams.py): variable-like state read and incremented by every run, so a new session
  restarts every seeded sequence, as in TF.
- Eager: the seeds are mixed into the counter and the attrs carry seed = seed2 = 0, so one
  compiled kernel serves every call; the counter mixes (seed, seed2, n), n counting earlier
  calls with the same seeds since the last `set_seed` (TF's eager kernels restart their
  sequences there too).
"""
from __future__ import annotations

import random as _pyrandom
import threading

import numpy as np

from fuseflow.compiler import dtypes as dt

from . import graph as graph_mod
from .array_ops import _to_tensor, in_graph, op_scope, shape_arg, static_value
from .core import apply_op
from .random_streams import counter_operand, reset_eager_counters
from .tensor import EagerTensor, TensorShape, is_tensor

DEFAULT_GRAPH_SEED = 87654321
_MAXINT32 = 2 ** 31 - 1

_lock = threading.Lock()
_eager = {"seed": None, "rng": _pyrandom.Random(), "calls": {}}
_sysrand = _pyrandom.SystemRandom()


# ================================================================================= seeds
def _truncate(seed) -> int:
    return int(seed) % _MAXINT32


def set_random_seed(seed):
    """The graph-level seed: the default graph's in graph mode, else the eager global seed
    (which also restarts the eager random sequences)."""
    if in_graph():
        graph_mod.get_default_graph().seed = None if seed is None else int(seed)
    else:
        with _lock:
            _eager["seed"] = None if seed is None else int(seed)
            _eager["rng"] = _pyrandom.Random(seed)
            _eager["calls"] = {}
        reset_eager_counters()


def set_seed(seed):
    """`tf.random.set_seed` (TF2)."""
    set_random_seed(seed)


def get_seed(op_seed):
    """(seed, seed2) as TF derives them; (None, None) when neither seed is set."""
    if in_graph():
        g = graph_mod.get_default_graph()
        global_seed = g.seed
        if global_seed is not None and op_seed is None:
            op_seed = len(g.get_operations())        # TF: the graph's last op id
    else:
        global_seed = _eager["seed"]
        if global_seed is not None and op_seed is None:
            with _lock:
                op_seed = _eager["rng"].randint(0, _MAXINT32)
    if global_seed is not None:
        seeds = (_truncate(global_seed), _truncate(op_seed))
    elif op_seed is not None:
        seeds = (DEFAULT_GRAPH_SEED, _truncate(op_seed))
    else:
        return None, None
    if seeds == (0, 0):
        return 0, _MAXINT32
    return seeds


def _seeds(op_seed):
    """Seeds for an op that must draw them even when it does not run (dropout with rate 0)."""
    return get_seed(op_seed)


def _mix64(*values) -> int:
    """splitmix64 over the values: a well-spread 63-bit counter from (seed, seed2, n)."""
    x = 0
    for v in values:
        x = (x ^ (int(v) & 0xFFFFFFFFFFFFFFFF)) + 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF
        z = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        x = z ^ (z >> 31)
    return x & 0x7FFFFFFFFFFFFFFF


# =============================================================================== the ops
def _random(op_type: str, default: str, shape, dtype: dt.DType, seed, name, params: dict):
    with op_scope(name, default, [shape]) as scope:
        dims, hint = shape_arg(shape, default)
        s1, s2 = get_seed(seed)
        if scope is None:          # eager: seeds go into the counter, the attrs stay cacheable
            if s1 is None:
                s1, s2, n = _sysrand.getrandbits(31), _sysrand.getrandbits(31), 0
            else:
                with _lock:
                    n = _eager["calls"].get((s1, s2), 0)
                    _eager["calls"][(s1, s2)] = n + 1
            counter = EagerTensor(np.asarray(_mix64(s1, s2, n), np.int64), dt.int64)
            return apply_op(op_type, [counter], dict(params, shape=dims, dtype=dtype, seed=0, seed2=0))
        if s1 is None:
            s1, s2 = _sysrand.getrandbits(31), _sysrand.getrandbits(31)
        g = graph_mod.get_default_graph()
        attrs = dict(params, shape=dims, dtype=dtype, seed=int(s1), seed2=int(s2))
        counter = counter_operand(g, scope[:-1])
        specs = [(dtype, TensorShape(hint))] if is_tensor(dims) else None
        return apply_op(op_type, [counter], attrs, name=scope, output_specs=specs)


def _number(v):
    """A scalar argument's value if known while tracing, else None (then it is applied as a tensor)."""
    s = static_value(v)
    return None if s is None or np.ndim(s) != 0 else s


def _as_operand(v, dtype):
    from . import math_ops as M
    return M.cast(_to_tensor(v), dtype) if is_tensor(v) else _to_tensor(v, dtype=dtype)


def random_uniform(shape, minval=0, maxval=None, dtype=dt.float32, seed=None, name=None):
    """Uniform in [minval, maxval): floats default to [0, 1); integer dtypes need maxval."""
    dtype = dt.as_dtype(dtype)
    if dtype.is_integer:
        if maxval is None:
            raise ValueError(f"Must specify maxval for integer dtype {dtype!r}")
        lo, hi = _number(minval), _number(maxval)
        if lo is None or hi is None:
            raise ValueError("random_uniform: integer minval/maxval must be known while building the graph")
        if int(hi) <= int(lo):
            raise ValueError(f"random_uniform: Need minval < maxval: {int(lo)} >= {int(hi)}")
        return _random("random_uniform", "random_uniform", shape, dtype, seed, name,
                       {"minval": int(lo), "maxval": int(hi)})
    if not dtype.is_floating:
        raise ValueError(f"Invalid dtype {dtype!r} for random_uniform (floating-point or integer)")
    maxval = 1 if maxval is None else maxval
    lo, hi = _number(minval), _number(maxval)
    if lo is not None and hi is not None:
        return _random("random_uniform", "random_uniform", shape, dtype, seed, name,
                       {"minval": float(lo), "maxval": float(hi)})
    from . import math_ops as M
    with op_scope(name, "random_uniform", [shape, minval, maxval]) as scope:
        raw = _random("random_uniform", "RandomUniform", shape, dtype, seed, None, {"minval": 0.0, "maxval": 1.0})
        lo_t, hi_t = _as_operand(minval, dtype), _as_operand(maxval, dtype)
        return M.add(M.multiply(raw, M.subtract(hi_t, lo_t)), lo_t, name=scope)


def _normal(op_type, default, shape, mean, stddev, dtype, seed, name):
    dtype = dt.as_dtype(dtype)
    if not dtype.is_floating:
        raise ValueError(f"Invalid dtype {dtype!r} for {default} (floating-point only)")
    m, s = _number(mean), _number(stddev)
    if m is not None and s is not None:
        return _random(op_type, default, shape, dtype, seed, name, {"mean": float(m), "stddev": float(s)})
    from . import math_ops as M
    with op_scope(name, default, [shape, mean, stddev]) as scope:
        raw = _random(op_type, op_type, shape, dtype, seed, None, {"mean": 0.0, "stddev": 1.0})
        return M.add(M.multiply(raw, _as_operand(stddev, dtype)), _as_operand(mean, dtype), name=scope)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=dt.float32, seed=None, name=None):
    """Samples from N(mean, stddev^2)."""
    return _normal("random_normal", "random_normal", shape, mean, stddev, dtype, seed, name)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=dt.float32, seed=None, name=None):
    """Samples from N(mean, stddev^2); values more than 2 stddev from the mean are re-drawn."""
    return _normal("truncated_normal", "truncated_normal", shape, mean, stddev, dtype, seed, name)


def normal(shape, mean=0.0, stddev=1.0, dtype=dt.float32, seed=None, name=None):
    return random_normal(shape, mean, stddev, dtype, seed, name)


def uniform(shape, minval=0, maxval=None, dtype=dt.float32, seed=None, name=None):
    return random_uniform(shape, minval, maxval, dtype, seed, name)


# ----------------------------------------------------------------------- stateless variants
def _stateless(op_type, default, shape, seed, dtype, params, name):
    v = static_value(seed)
    if v is None or np.shape(v) != (2,):
        raise ValueError(f"{default}: seed must be a shape [2] integer tensor known while building the graph, "
                         f"got {seed!r}")
    dtype = dt.as_dtype(dtype)
    with op_scope(name, default, [shape]) as scope:
        dims, hint = shape_arg(shape, default)
        counter = EagerTensor(np.asarray(0, np.int64), dt.int64)
        attrs = dict(params, shape=dims, dtype=dtype, seed=int(v[0]), seed2=int(v[1]))
        specs = [(dtype, TensorShape(hint))] if is_tensor(dims) else None
        return apply_op(op_type, [counter], attrs, name=scope, output_specs=specs)


def stateless_random_uniform(shape, seed, minval=0, maxval=None, dtype=dt.float32, name=None, alg="auto_select"):
    """The same numbers for the same (shape, seed) every time."""
    dtype = dt.as_dtype(dtype)
    if dtype.is_integer and maxval is None:
        raise ValueError(f"Must specify maxval for integer dtype {dtype!r}")
    params = {"minval": int(minval), "maxval": int(maxval)} if dtype.is_integer else \
        {"minval": float(minval), "maxval": float(1 if maxval is None else maxval)}
    return _stateless("random_uniform", "stateless_random_uniform", shape, seed, dtype, params, name)


def stateless_random_normal(shape, seed, mean=0.0, stddev=1.0, dtype=dt.float32, name=None, alg="auto_select"):
    return _stateless("random_normal", "stateless_random_normal", shape, seed, dtype,
                      {"mean": float(mean), "stddev": float(stddev)}, name)


def stateless_truncated_normal(shape, seed, mean=0.0, stddev=1.0, dtype=dt.float32, name=None,
                               alg="auto_select"):
    return _stateless("truncated_normal", "stateless_truncated_normal", shape, seed, dtype,
                      {"mean": float(mean), "stddev": float(stddev)}, name)
