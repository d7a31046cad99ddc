"""Keras 3 image/feature preprocessing layers: Resizing, CenterCrop, Normalization (with adapt)
and RandomFlip (random in training, identity in inference; Keras' default is training)."""
from __future__ import annotations

import numpy as np

import fuseflow as tf

from .. import backend
from ..engine import Layer


def _hw(x):
    return (0, 1) if x.shape.rank == 3 else (1, 2)


class Resizing(Layer):
    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if crop_to_aspect_ratio or pad_to_aspect_ratio:
            raise NotImplementedError("keras.layers.Resizing: crop_to_aspect_ratio / pad_to_aspect_ratio are not "
                                      "supported by fuseflow")
        self.height, self.width, self.interpolation = int(height), int(width), interpolation

    def call(self, inputs):
        out = tf.image.resize(inputs, [self.height, self.width], method=self.interpolation)
        return tf.cast(out, self.compute_dtype) if out.dtype.name != self.compute_dtype else out

    def compute_output_shape(self, input_shape):
        s = list(input_shape)
        a, b = (0, 1) if len(s) == 3 else (1, 2)
        s[a], s[b] = self.height, self.width
        return tuple(s)


class CenterCrop(Layer):
    def __init__(self, height, width, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width = int(height), int(width)

    def call(self, inputs):
        x = tf.convert_to_tensor(inputs)
        a, b = _hw(x)
        h, w = x.shape[a], x.shape[b]
        if h is None or w is None:
            raise ValueError("keras.layers.CenterCrop: the image height and width must be known")
        if h < self.height or w < self.width:
            raise NotImplementedError("keras.layers.CenterCrop: upscaling an image smaller than the crop is not "
                                      "supported by fuseflow")
        top, left = int((h - self.height) / 2), int((w - self.width) / 2)
        index = [slice(None)] * x.shape.rank
        index[a] = slice(top, top + self.height)
        index[b] = slice(left, left + self.width)
        out = x[tuple(index)]
        return tf.cast(out, self.compute_dtype) if out.dtype.name != self.compute_dtype else out

    def compute_output_shape(self, input_shape):
        s = list(input_shape)
        a, b = (0, 1) if len(s) == 3 else (1, 2)
        s[a], s[b] = self.height, self.width
        return tuple(s)


class Normalization(Layer):
    """(x - mean) / max(sqrt(variance), epsilon) per feature of `axis`; adapt() learns the stats."""

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = (axis,) if isinstance(axis, int) else tuple(axis or ())
        self.invert = invert
        self._mean = None if mean is None else np.asarray(mean, np.float32)
        self._variance = None if variance is None else np.asarray(variance, np.float32)
        if (mean is None) != (variance is None):
            raise ValueError("When setting values directly, both `mean` and `variance` must be set.")

    def adapt(self, data, batch_size=None, steps=None):
        if hasattr(data, "as_numpy_iterator"):
            arr = np.concatenate([np.asarray(b) for b in data.as_numpy_iterator()], axis=0)
        else:
            arr = np.asarray(data.numpy() if hasattr(data, "numpy") else data)
        arr = arr.astype(np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        keep = tuple(a % arr.ndim for a in self.axis)
        reduce_axes = tuple(i for i in range(arr.ndim) if i not in keep)
        self._mean = arr.mean(axis=reduce_axes).astype(np.float32)
        self._variance = arr.var(axis=reduce_axes).astype(np.float32)

    def _stats_shape(self, x):
        rank = x.shape.rank
        keep = tuple(a % rank for a in self.axis)
        return [x.shape[i] if i in keep else 1 for i in range(rank)]

    def call(self, inputs):
        if self._mean is None:
            raise RuntimeError("You must call `.adapt()` on the Normalization layer before using it.")
        x = tf.cast(tf.convert_to_tensor(inputs), self.compute_dtype)
        shape = self._stats_shape(x) if self.axis else [1] * x.shape.rank
        mean = tf.reshape(tf.constant(self._mean, self.compute_dtype), shape)
        var = tf.reshape(tf.constant(self._variance, self.compute_dtype), shape)
        if self.invert:
            return mean + x * tf.maximum(tf.sqrt(var), backend.epsilon())
        return (x - mean) / tf.maximum(tf.sqrt(var), backend.epsilon())

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class RandomFlip(Layer):
    """Each image flipped with probability 1/2 along the chosen axes while training."""

    def __init__(self, mode="horizontal_and_vertical", seed=None, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
            raise ValueError(f"RandomFlip layer {self.name} received an unknown mode argument {mode}")
        self.mode, self.seed = mode, seed

    def call(self, inputs, training=True):
        x = tf.convert_to_tensor(inputs)
        if not training:
            return x
        batched = x.shape.rank == 4
        xb = x if batched else tf.expand_dims(x, 0)
        n = tf.shape(xb)[0]
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            flip = tf.random.uniform(tf.reshape(n, [1]), seed=self.seed) < 0.5
            xb = tf.where(tf.reshape(flip, [-1, 1, 1, 1]), tf.reverse(xb, axis=[2]), xb)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            flip = tf.random.uniform(tf.reshape(n, [1]), seed=self.seed) < 0.5
            xb = tf.where(tf.reshape(flip, [-1, 1, 1, 1]), tf.reverse(xb, axis=[1]), xb)
        return xb if batched else tf.squeeze(xb, [0])

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)
