"""`tf.keras.initializers`: weight initializers (Keras 3 definitions), drawn on the host with numpy.

An initializer is called as `init(shape, dtype=None)` and returns a tensor. Seeded
initializers give the same values on every call, as Keras 3 documents; unseeded ones draw from
the Keras RNG (`keras.utils.set_random_seed` reseeds it).
"""
from __future__ import annotations

import math

import numpy as np

import fuseflow as tf

_rng = [np.random.RandomState()]


def set_seed(seed) -> None:
    _rng[0] = np.random.RandomState(None if seed is None else int(seed) % (2 ** 32))


def _np_dtype(dtype):
    from fuseflow.compiler import dtypes as dt
    return dt.as_dtype(dtype or "float32").np


def _as_tensor(arr, dtype):
    from fuseflow.compiler import dtypes as dt
    return tf.convert_to_tensor(np.asarray(arr, dtype=_np_dtype(dtype)), dtype=dt.as_dtype(dtype or "float32"))


def compute_fans(shape):
    """Keras' fan_in / fan_out: dense kernels (in, out); conv kernels (..., in, out) times the receptive field."""
    shape = tuple(int(d) for d in shape)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    def __call__(self, shape, dtype=None, **kwargs):
        raise TypeError(f"{type(self).__name__} must implement __call__(shape, dtype)")

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _Random(Initializer):
    def __init__(self, seed=None):
        self.seed = seed

    def _rng(self):
        return np.random.RandomState(int(self.seed) % (2 ** 32)) if self.seed is not None else _rng[0]

    def get_config(self):
        return {"seed": self.seed}


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None, **kwargs):
        v = self.value.numpy() if hasattr(self.value, "numpy") else np.asarray(self.value)
        return _as_tensor(np.broadcast_to(np.asarray(v, dtype=_np_dtype(dtype)), tuple(shape)), dtype)

    def get_config(self):
        return {"value": self.value}


class Zeros(Initializer):
    def __call__(self, shape, dtype=None, **kwargs):
        return _as_tensor(np.zeros(tuple(shape)), dtype)


class Ones(Initializer):
    def __call__(self, shape, dtype=None, **kwargs):
        return _as_tensor(np.ones(tuple(shape)), dtype)


class RandomNormal(_Random):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None, **kwargs):
        return _as_tensor(self._rng().normal(self.mean, self.stddev, tuple(shape)), dtype)


class RandomUniform(_Random):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None, **kwargs):
        return _as_tensor(self._rng().uniform(self.minval, self.maxval, tuple(shape)), dtype)


def _truncated(rng, shape, mean, stddev):
    """Normal samples redrawn until within two standard deviations of the mean."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return out * stddev + mean


class TruncatedNormal(_Random):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None, **kwargs):
        return _as_tensor(_truncated(self._rng(), tuple(shape), self.mean, self.stddev), dtype)


class VarianceScaling(_Random):
    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if scale <= 0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: invalid mode {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform", "normal"):
            raise ValueError(f"VarianceScaling: invalid distribution {distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None, **kwargs):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        rng = self._rng()
        shape = tuple(shape)
        if self.distribution in ("truncated_normal", "normal"):
            stddev = math.sqrt(scale) / 0.87962566103423978   # std of a unit normal truncated at 2
            values = _truncated(rng, shape, 0.0, stddev)
        elif self.distribution == "untruncated_normal":
            values = rng.normal(0.0, math.sqrt(scale), shape)
        else:
            limit = math.sqrt(3.0 * scale)
            values = rng.uniform(-limit, limit, shape)
        return _as_tensor(values, dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


class GlorotUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class GlorotNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class HeNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class HeUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class LecunNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class LecunUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class Orthogonal(_Random):
    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None, **kwargs):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializer needs a shape of rank >= 2, got {shape}")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = self._rng().normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return _as_tensor(self.gain * q[:rows, :cols].reshape(shape), dtype)


class Identity(Initializer):
    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None, **kwargs):
        if len(shape) != 2:
            raise ValueError(f"Identity initializer needs a 2D shape, got {tuple(shape)}")
        return _as_tensor(self.gain * np.eye(*shape), dtype)


# Keras' lower-case aliases
constant = Constant
zeros = Zeros
ones = Ones
random_normal = RandomNormal
random_uniform = RandomUniform
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
glorot_uniform = GlorotUniform
glorot_normal = GlorotNormal
he_normal = HeNormal
he_uniform = HeUniform
lecun_normal = LecunNormal
lecun_uniform = LecunUniform
orthogonal = Orthogonal
identity = Identity

_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
    "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_normal": HeNormal,
    "he_uniform": HeUniform, "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
    "orthogonal": Orthogonal, "identity": Identity,
}


def get(identifier):
    """A name ('glorot_uniform', 'GlorotUniform', 'zeros'...), an Initializer or any callable(shape, dtype)."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        key = identifier
        if key not in _BY_NAME:
            key = "".join("_" + c.lower() if c.isupper() else c for c in identifier).lstrip("_")
        cls = _BY_NAME.get(key)
        if cls is None:
            raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")
        return cls()
    if isinstance(identifier, dict):
        cls = get(identifier["class_name"]).__class__
        return cls(**identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")


def serialize(initializer) -> dict:
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


def deserialize(config, custom_objects=None):
    return get(config)
