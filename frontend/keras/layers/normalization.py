"""BatchNormalization and LayerNormalization (Keras 3 formulas)."""
from __future__ import annotations

import fuseflow as tf

from .. import initializers, regularizers
from ..engine import Layer


def moments(x, axes):
    """Keras 3's TF-backend moments are tf.nn.moments (since keras#18795): the mean, and the mean of
    squared differences from it -- an exact gradient, unlike the early E[x^2] - mean^2 form."""
    return tf.nn.moments(x, axes, keepdims=True)


def batch_normalization(x, mean, variance, offset, scale, epsilon):
    """tf.nn.batch_normalization's formula: x * inv + (offset - mean * inv), inv = scale / sqrt(var + eps)."""
    inv = tf.math.rsqrt(variance + epsilon)
    if scale is not None:
        inv = inv * scale
    return x * inv + ((offset - mean * inv) if offset is not None else -mean * inv)


class BatchNormalization(Layer):
    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 synchronized=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)

    def build(self, input_shape):
        rank = len(input_shape)
        self._axis = self.axis % rank
        dim = input_shape[self._axis]
        if dim is None:
            raise ValueError(f"{self.name}: axis {self.axis} of input shape {input_shape} must be known")
        shape = (dim,)
        self.gamma = self.add_weight(name="gamma", shape=shape, initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer) if self.scale else None
        self.beta = self.add_weight(name="beta", shape=shape, initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer) if self.center else None
        self.moving_mean = self.add_weight(name="moving_mean", shape=shape, initializer=self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=shape,
                                               initializer=self.moving_variance_initializer, trainable=False)
        self._reduction_axes = [i for i in range(rank) if i != self._axis]
        self._broadcast_shape = [dim if i == self._axis else 1 for i in range(rank)]
        self.built = True

    def _bcast(self, v):
        return tf.reshape(v, self._broadcast_shape) if len(self._broadcast_shape) > 1 else v

    def call(self, inputs, training=None, mask=None):
        if training and self.trainable:
            mean, variance = moments(inputs, self._reduction_axes)
            flat_mean = tf.reshape(mean, [-1])
            flat_var = tf.reshape(variance, [-1])
            self.moving_mean.assign(self.moving_mean * self.momentum + flat_mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + flat_var * (1.0 - self.momentum))
        else:
            mean = self._bcast(tf.convert_to_tensor(self.moving_mean))
            variance = self._bcast(tf.convert_to_tensor(self.moving_variance))
        gamma = self._bcast(tf.convert_to_tensor(self.gamma)) if self.scale else None
        beta = self._bcast(tf.convert_to_tensor(self.beta)) if self.center else None
        return batch_normalization(inputs, mean, variance, beta, gamma, self.epsilon)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}


class LayerNormalization(Layer):
    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, **kwargs):
        kwargs.pop("rms_scaling", None)
        super().__init__(**kwargs)
        self.axis = axis
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)

    def build(self, input_shape):
        rank = len(input_shape)
        axes = [self.axis] if isinstance(self.axis, int) else list(self.axis)
        self._axes = sorted(a % rank for a in axes)
        shape = tuple(input_shape[a] for a in self._axes)
        self.gamma = self.add_weight(name="gamma", shape=shape, initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer) if self.scale else None
        self.beta = self.add_weight(name="beta", shape=shape, initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer) if self.center else None
        self._bshape = [input_shape[i] if i in self._axes else 1 for i in range(rank)]
        self.built = True

    def call(self, inputs):
        # Keras 3's ops.layer_normalization uses the same backend moments as BatchNormalization
        mean, variance = moments(inputs, self._axes)
        gamma = tf.reshape(self.gamma, self._bshape) if self.scale else None
        beta = tf.reshape(self.beta, self._bshape) if self.center else None
        return batch_normalization(inputs, mean, variance, beta, gamma, self.epsilon)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)
