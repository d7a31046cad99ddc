"""`tf.random_gamma` / `tf.random_poisson` (TF1): samples drawn on the host by numpy's
generators, seeded from TF's (graph seed, op seed) pair. As in TF, a seeded op gives the same
sequence in every new session and new values on each run; the streams differ from TF's, so
only distributions (not values) match TF."""
from __future__ import annotations

import random as _random_mod

import numpy as np

from fuseflow.compiler import dtypes as dt

_sys = _random_mod.SystemRandom()


def _tf():
    import fuseflow.compat.v1 as tf
    return tf


def _generator(run, op):
    def make():
        s1, s2 = op.attrs["seed"], op.attrs["seed2"]
        entropy = [_sys.getrandbits(31), _sys.getrandbits(31)] if s1 is None else [int(s1), int(s2)]
        return np.random.default_rng(entropy)
    return run.resource(("host random", op.id, id(op.graph) if hasattr(op, "graph") else 0), make)


def _draw(run, op, inputs):
    gen = _generator(run, op)
    shape = tuple(int(d) for d in np.asarray(inputs[0]).reshape(-1))
    dtype = op.attrs["dtype"].np
    if op.attrs["kind"] == "gamma":
        alpha, beta = np.asarray(inputs[1], np.float64), np.asarray(inputs[2], np.float64)
        alpha, beta = np.broadcast_arrays(alpha, beta)
        out = gen.gamma(alpha, 1.0 / beta, size=shape + alpha.shape)
    else:
        lam = np.asarray(inputs[1], np.float64)
        out = gen.poisson(lam, size=shape + lam.shape)
    return [np.asarray(out).astype(dtype)]


def _register():
    from fuseflow.host_ops import host_op
    host_op("random_host_sample")(_draw)


_register()


def _sample(kind, shape, params, dtype, seed, name, default):
    tf = _tf()
    from fuseflow.io_ops import _host_op
    from fuseflow.random_ops import get_seed
    from fuseflow.tensor import TensorShape
    with tf.name_scope(name, default, [shape] + list(params)):
        shape_t = tf.cast(tf.convert_to_tensor(shape), tf.int64)
        params = [tf.convert_to_tensor(p, dtype=tf.float64 if not hasattr(p, "dtype") else None) for p in params]
        params = [tf.cast(p, tf.float64) for p in params]
        s1, s2 = get_seed(seed)
        static = tf.get_static_value(shape_t)
        param_shape = np.broadcast_shapes(*[tuple(p.shape.as_list()) for p in params]) \
            if all(p.shape.is_fully_defined() for p in params) else None
        out_shape = TensorShape(None) if static is None or param_shape is None \
            else TensorShape([int(d) for d in np.ravel(static)] + list(param_shape))
        attrs = {"kind": kind, "dtype": dt.as_dtype(dtype), "seed": s1, "seed2": s2}
        return _host_op("random_host_sample", [shape_t] + params, attrs, [(dt.as_dtype(dtype), out_shape)],
                        default)[0]


def random_gamma(shape, alpha, beta=None, dtype=dt.float32, seed=None, name=None):
    """Gamma(alpha, beta) samples of shape `shape + broadcast(alpha, beta).shape` (beta is a rate)."""
    dtype = dt.as_dtype(dtype)
    if dtype not in (dt.float16, dt.float32, dt.float64):
        raise TypeError(f"random_gamma: dtype must be a float type, got {dtype.name}")
    return _sample("gamma", shape, [alpha, 1.0 if beta is None else beta], dtype, seed, name, "random_gamma")


def random_poisson(lam, shape, dtype=dt.float32, seed=None, name=None):
    """Poisson(lam) samples of shape `shape + lam.shape` (TF1 argument order)."""
    return _sample("poisson", shape, [lam], dt.as_dtype(dtype), seed, name, "random_poisson")
