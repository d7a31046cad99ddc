"""TF1 initializers (`tf.zeros_initializer`, `tf.glorot_uniform_initializer`, ...).

An initializer is called as `init(shape, dtype=None, partition_info=None)` and returns a
tensor built from ops (constants, or the seedable random ops), so running a variable's
initializer computes a fresh value in the session. Seeds combine with the graph-level seed
exactly as the random op functions do.
"""
from __future__ import annotations

import math

import numpy as np

from fuseflow.compiler import dtypes as dt


def _dtype(d):
    return dt.as_dtype(d) if d is not None else None


def _shape(shape) -> tuple:
    if hasattr(shape, "as_list"):
        shape = shape.as_list()
    if isinstance(shape, (int, np.integer)):
        shape = [shape]
    dims = tuple(int(d) for d in shape)
    return dims


def _random():
    from . import random_ops
    return random_ops


class Initializer:
    """Base class: subclasses implement `__call__(shape, dtype=None, partition_info=None)`."""

    def __call__(self, shape, dtype=None, partition_info=None):
        raise TypeError(f"{type(self).__name__} must implement __call__")

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("dtype", None)
        return cls(**config)


class Zeros(Initializer):
    def __init__(self, dtype=dt.float32):
        self.dtype = _dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        from .array_ops import zeros
        return zeros(_shape(shape), _dtype(dtype) or self.dtype)

    def get_config(self):
        return {"dtype": self.dtype.name}


class Ones(Initializer):
    def __init__(self, dtype=dt.float32):
        self.dtype = _dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        from .array_ops import ones
        return ones(_shape(shape), _dtype(dtype) or self.dtype)

    def get_config(self):
        return {"dtype": self.dtype.name}


class Constant(Initializer):
    """A constant value: a scalar fills the shape; a list/array must have at most as many
    elements as the shape (fewer are padded with the last one, as TF1's constant does)."""

    def __init__(self, value=0, dtype=dt.float32, verify_shape=False):
        if not np.isscalar(value) and not isinstance(value, (list, tuple, np.ndarray)):
            raise TypeError(f"Invalid type for initial value: {type(value).__name__} (expected a Python scalar, "
                            f"list or numpy array)")
        self.value = value
        self.dtype = _dtype(dtype)
        self._verify_shape = verify_shape

    def __call__(self, shape, dtype=None, partition_info=None, verify_shape=None):
        from .array_ops import constant_v1
        verify = self._verify_shape if verify_shape is None else verify_shape
        return constant_v1(self.value, dtype=_dtype(dtype) or self.dtype, shape=_shape(shape), verify_shape=verify)

    def get_config(self):
        return {"value": self.value, "dtype": self.dtype.name}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=dt.float32):
        self.mean, self.stddev, self.seed, self.dtype = mean, stddev, seed, _dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return _random().random_normal(_shape(shape), self.mean, self.stddev, _dtype(dtype) or self.dtype,
                                       seed=self.seed)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed, "dtype": self.dtype.name}


class TruncatedNormal(Initializer):
    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=dt.float32):
        self.mean, self.stddev, self.seed, self.dtype = mean, stddev, seed, _dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return _random().truncated_normal(_shape(shape), self.mean, self.stddev, _dtype(dtype) or self.dtype,
                                          seed=self.seed)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed, "dtype": self.dtype.name}


class RandomUniform(Initializer):
    def __init__(self, minval=0, maxval=None, seed=None, dtype=dt.float32):
        self.minval, self.maxval, self.seed, self.dtype = minval, maxval, seed, _dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dtype = _dtype(dtype) or self.dtype
        maxval = self.maxval
        if maxval is None:
            if dtype.is_integer:
                raise ValueError(f"Must specify maxval for integer dtype {dtype.name}")
            maxval = 1.0
        return _random().random_uniform(_shape(shape), self.minval, maxval, dtype, seed=self.seed)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed, "dtype": self.dtype.name}


def compute_fans(shape) -> tuple:
    """(fan_in, fan_out) as TF computes them (conv kernels: receptive field x channels)."""
    shape = _shape(shape)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = 1
    for d in shape[:-2]:
        receptive *= d
    return shape[-2] * receptive, shape[-1] * receptive


# stddev of a unit normal truncated to [-2, 2]
_TRUNCATED_STDDEV = 0.87962566103423978


class VarianceScaling(Initializer):
    """Samples with variance `scale / n` (n = fan_in, fan_out or their mean)."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, dtype=dt.float32):
        if scale <= 0.0:
            raise ValueError(f"`scale` must be positive float. Received: {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: {mode}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(f"Invalid `distribution` argument: {distribution}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed
        self.dtype = _dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dtype = _dtype(dtype) or self.dtype
        shape = _shape(shape)
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        rnd = _random()
        if self.distribution == "truncated_normal":
            return rnd.truncated_normal(shape, 0.0, math.sqrt(scale) / _TRUNCATED_STDDEV, dtype, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return rnd.random_normal(shape, 0.0, math.sqrt(scale), dtype, seed=self.seed)
        limit = math.sqrt(3.0 * scale)
        return rnd.random_uniform(shape, -limit, limit, dtype, seed=self.seed)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed,
                "dtype": self.dtype.name}


class GlorotUniform(VarianceScaling):
    def __init__(self, seed=None, dtype=dt.float32):
        super().__init__(1.0, "fan_avg", "uniform", seed, dtype)

    def get_config(self):
        return {"seed": self.seed, "dtype": self.dtype.name}


class GlorotNormal(VarianceScaling):
    def __init__(self, seed=None, dtype=dt.float32):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed, dtype)

    def get_config(self):
        return {"seed": self.seed, "dtype": self.dtype.name}


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix from the QR decomposition of a seeded normal matrix.

    The QR runs on the host when the initializer is called (fuseflow has no QR op), so the
    value is fixed in the graph as a constant."""

    def __init__(self, gain=1.0, seed=None, dtype=dt.float32):
        self.gain, self.seed, self.dtype = gain, seed, _dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        from .array_ops import constant
        dtype = _dtype(dtype) or self.dtype
        shape = _shape(shape)
        if len(shape) < 2:
            raise ValueError("The tensor to initialize must be at least two-dimensional")
        rows = int(np.prod(shape[:-1]))
        cols = shape[-1]
        rng = np.random.RandomState(self.seed)
        a = rng.normal(size=(max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return constant((self.gain * q[:rows, :cols]).reshape(shape).astype(dtype.np), dtype=dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed, "dtype": self.dtype.name}


class Identity(Initializer):
    def __init__(self, gain=1.0, dtype=dt.float32):
        self.gain, self.dtype = gain, _dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        from .array_ops import constant
        dtype = _dtype(dtype) or self.dtype
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError("Identity matrix initializer can only be used for 2D matrices.")
        return constant((self.gain * np.eye(*shape)).astype(dtype.np), dtype=dtype)

    def get_config(self):
        return {"gain": self.gain, "dtype": self.dtype.name}


# TF1 spellings
zeros_initializer = Zeros
ones_initializer = Ones
constant_initializer = Constant
random_normal_initializer = RandomNormal
truncated_normal_initializer = TruncatedNormal
random_uniform_initializer = RandomUniform
variance_scaling_initializer = VarianceScaling
glorot_uniform_initializer = GlorotUniform
glorot_normal_initializer = GlorotNormal
orthogonal_initializer = Orthogonal


def he_normal(seed=None):
    return VarianceScaling(2.0, "fan_in", "truncated_normal", seed)


def he_uniform(seed=None):
    return VarianceScaling(2.0, "fan_in", "uniform", seed)


def lecun_normal(seed=None):
    return VarianceScaling(1.0, "fan_in", "truncated_normal", seed)


def lecun_uniform(seed=None):
    return VarianceScaling(1.0, "fan_in", "uniform", seed)


class _ContribVarianceScaling(Initializer):
    """tf.contrib.layers' variance scaling (xavier/he), whose normal variant has stddev
    sqrt(1.3 * factor / n) truncated at 2 stddev."""

    def __init__(self, factor=2.0, mode="FAN_IN", uniform=False, seed=None, dtype=dt.float32):
        self.factor, self.mode, self.uniform, self.seed, self.dtype = factor, mode.upper(), uniform, seed, _dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dtype = _dtype(dtype) or self.dtype
        shape = _shape(shape)
        fan_in, fan_out = compute_fans(shape)
        n = {"FAN_IN": fan_in, "FAN_OUT": fan_out, "FAN_AVG": (fan_in + fan_out) / 2.0}[self.mode]
        rnd = _random()
        if self.uniform:
            limit = math.sqrt(3.0 * self.factor / n)
            return rnd.random_uniform(shape, -limit, limit, dtype, seed=self.seed)
        return rnd.truncated_normal(shape, 0.0, math.sqrt(1.3 * self.factor / n), dtype, seed=self.seed)


def xavier_initializer(uniform=True, seed=None, dtype=dt.float32):
    """tf.contrib.layers.xavier_initializer (Glorot)."""
    return _ContribVarianceScaling(1.0, "FAN_AVG", uniform, seed, dtype)


def contrib_variance_scaling_initializer(factor=2.0, mode="FAN_IN", uniform=False, seed=None, dtype=dt.float32):
    return _ContribVarianceScaling(factor, mode, uniform, seed, dtype)


def get(identifier):
    """An initializer from a name, a config dict, a class, or an initializer (TF's `initializers.get`)."""
    if identifier is None or isinstance(identifier, Initializer) or callable(identifier) and not isinstance(identifier, type):
        return identifier
    if isinstance(identifier, type):
        return identifier()
    names = {"zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
             "truncated_normal": TruncatedNormal, "random_uniform": RandomUniform, "glorot_uniform": GlorotUniform,
             "glorot_normal": GlorotNormal, "variance_scaling": VarianceScaling, "orthogonal": Orthogonal,
             "identity": Identity, "he_normal": he_normal, "he_uniform": he_uniform, "lecun_normal": lecun_normal,
             "lecun_uniform": lecun_uniform}
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in names:
            return names[key]()
    if isinstance(identifier, dict):
        cls = names.get(str(identifier.get("class_name", "")).lower())
        if cls is not None:
            return cls(**identifier.get("config", {}))
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")
