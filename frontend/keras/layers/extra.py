"""More Keras 3 layers: spatial / Gaussian dropout, 1-D padding, cropping and upsampling, Dot,
Masking (feeds the recurrent layers' masks), UnitNormalization and GroupNormalization."""
from __future__ import annotations

import fuseflow as tf

from .. import initializers
from ..engine import Layer


class SpatialDropout1D(Layer):
    """Dropout of whole channels: one keep/drop decision per (sample, channel)."""
    _rank = 3

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
                             f"Received: rate={rate}")
        self.rate, self.seed = rate, seed

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        shape = tf.shape(inputs)
        noise = tf.stack([shape[0]] + [1] * (self._rank - 2) + [shape[-1]])
        return tf.nn.dropout(inputs, rate=self.rate, noise_shape=noise, seed=self.seed)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class SpatialDropout2D(SpatialDropout1D):
    _rank = 4


class GaussianDropout(Layer):
    """Multiplies by 1-centered Gaussian noise with stddev sqrt(rate / (1 - rate)) while training."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.seed = rate, seed

    def call(self, inputs, training=False):
        if not training or self.rate <= 0:
            return inputs
        std = (self.rate / (1.0 - self.rate)) ** 0.5
        return inputs * tf.random.normal(tf.shape(inputs), mean=1.0, stddev=std, seed=self.seed, dtype=inputs.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


def _pair(value, name):
    if isinstance(value, int):
        return value, value
    if len(value) != 2:
        raise ValueError(f"{name}: expected an int or a pair of ints, got {value!r}")
    return int(value[0]), int(value[1])


class ZeroPadding1D(Layer):
    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pair(padding, "ZeroPadding1D")

    def call(self, inputs):
        return tf.pad(inputs, [[0, 0], list(self.padding), [0, 0]])

    def compute_output_shape(self, input_shape):
        s = list(input_shape)
        s[1] = None if s[1] is None else s[1] + sum(self.padding)
        return tuple(s)


class Cropping1D(Layer):
    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pair(cropping, "Cropping1D")

    def call(self, inputs):
        start, end = self.cropping
        return inputs[:, start:(-end if end else None), :]

    def compute_output_shape(self, input_shape):
        s = list(input_shape)
        s[1] = None if s[1] is None else s[1] - sum(self.cropping)
        return tuple(s)


class UpSampling1D(Layer):
    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)

    def call(self, inputs):
        return tf.repeat(inputs, self.size, axis=1)

    def compute_output_shape(self, input_shape):
        s = list(input_shape)
        s[1] = None if s[1] is None else s[1] * self.size
        return tuple(s)


class Dot(Layer):
    """Dot product of two tensors along `axes` (per sample), optionally of L2-normalized inputs."""

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        self.axes, self.normalize = axes, normalize

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError("A `Dot` layer should be called on a list of 2 inputs.")
        x, y = inputs
        ax = self.axes if isinstance(self.axes, (list, tuple)) else (self.axes, self.axes)
        ax = [a % r for a, r in zip(ax, (x.shape.rank, y.shape.rank))]
        if self.normalize:
            x, y = tf.math.l2_normalize(x, axis=ax[0]), tf.math.l2_normalize(y, axis=ax[1])
        if x.shape.rank == 2 and y.shape.rank == 2:
            return tf.reduce_sum(x * y, axis=1, keepdims=True)
        if x.shape.rank == 3 and y.shape.rank == 3:
            xs = "bij" if ax[0] == 2 else "bji"
            ys = "bkj" if ax[1] == 2 else "bjk"
            return tf.einsum(f"{xs},{ys}->bik", x, y)
        raise NotImplementedError("keras.layers.Dot: fuseflow supports 2-D and 3-D inputs")


def dot(inputs, axes=-1, **kwargs):
    return Dot(axes=axes, **kwargs)(inputs)


class Masking(Layer):
    """Zeroes time steps whose features all equal `mask_value` and masks them for recurrent layers."""

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def call(self, inputs):
        keep = tf.reduce_any(tf.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        out = inputs * tf.cast(keep, inputs.dtype)
        out._keras_mask = tf.squeeze(keep, axis=-1)
        return out

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class UnitNormalization(Layer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return tf.math.l2_normalize(tf.cast(inputs, self.compute_dtype), axis=self.axis, epsilon=1e-12)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class GroupNormalization(Layer):
    """Normalizes groups of channels (last axis) per sample: Keras 3's formula with epsilon 1e-3."""

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        if axis not in (-1,):
            raise NotImplementedError("keras.layers.GroupNormalization: fuseflow supports axis=-1 only")
        self.groups, self.epsilon, self.center, self.scale = int(groups), float(epsilon), center, scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels % self.groups:
            raise ValueError(f"Number of groups ({self.groups}) must be a multiple of the number of channels "
                             f"({channels}).")
        self.gamma = self.add_weight(name="gamma", shape=(channels,), initializer=self.gamma_initializer) \
            if self.scale else None
        self.beta = self.add_weight(name="beta", shape=(channels,), initializer=self.beta_initializer) \
            if self.center else None
        self.built = True

    def call(self, inputs):
        x = tf.convert_to_tensor(inputs)
        shape = x.shape.as_list()
        c = shape[-1]
        grouped = tf.reshape(x, [-1] + shape[1:-1] + [self.groups, c // self.groups])
        axes = list(range(1, len(shape) - 1)) + [len(shape)]
        mean, var = tf.nn.moments(grouped, axes, keepdims=True)
        inv = tf.math.rsqrt(var + self.epsilon)
        normed = tf.reshape((grouped - mean) * inv, tf.shape(x))
        if self.scale:
            normed = normed * self.gamma
        if self.center:
            normed = normed + self.beta
        return normed

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

