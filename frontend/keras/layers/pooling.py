"""Pooling layers (channels_last)."""
from __future__ import annotations

import fuseflow as tf

from ..engine import Layer
from .conv import _check_data_format, conv_output_length, normalize_padding, normalize_tuple


class _Pool2D(Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = normalize_tuple(pool_size, 2, "pool_size")
        self.strides = self.pool_size if strides is None else normalize_tuple(strides, 2, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = _check_data_format(data_format, type(self).__name__)

    def compute_output_shape(self, input_shape):
        spatial = [conv_output_length(n, k, self.padding, s) for n, k, s in
                   zip(input_shape[1:3], self.pool_size, self.strides)]
        return (input_shape[0], *spatial, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides, "padding": self.padding}


class MaxPooling2D(_Pool2D):
    def call(self, inputs):
        return tf.nn.max_pool2d(inputs, ksize=list(self.pool_size), strides=list(self.strides),
                                padding=self.padding.upper())


class AveragePooling2D(_Pool2D):
    def call(self, inputs):
        return tf.nn.avg_pool2d(inputs, ksize=list(self.pool_size), strides=list(self.strides),
                                padding=self.padding.upper())


class _Pool1D(Layer):
    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = normalize_tuple(pool_size, 1, "pool_size")
        self.strides = self.pool_size if strides is None else normalize_tuple(strides, 1, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = _check_data_format(data_format, type(self).__name__)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], conv_output_length(input_shape[1], self.pool_size[0], self.padding, self.strides[0]),
                input_shape[2])

    def _pool(self, fn, inputs):
        y = fn(tf.expand_dims(inputs, 1), ksize=[1, self.pool_size[0]], strides=[1, self.strides[0]],
               padding=self.padding.upper())
        return tf.squeeze(y, [1])


class MaxPooling1D(_Pool1D):
    def call(self, inputs):
        return self._pool(tf.nn.max_pool2d, inputs)


class AveragePooling1D(_Pool1D):
    def call(self, inputs):
        return self._pool(tf.nn.avg_pool2d, inputs)


class _GlobalPool(Layer):
    axes = (1, 2)

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _check_data_format(data_format, type(self).__name__)
        self.keepdims = keepdims

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return tuple(1 if i in self.axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in self.axes)


class GlobalAveragePooling2D(_GlobalPool):
    def call(self, inputs):
        return tf.reduce_mean(inputs, axis=list(self.axes), keepdims=self.keepdims)


class GlobalMaxPooling2D(_GlobalPool):
    def call(self, inputs):
        return tf.reduce_max(inputs, axis=list(self.axes), keepdims=self.keepdims)


class GlobalAveragePooling1D(_GlobalPool):
    axes = (1,)

    def call(self, inputs):
        return tf.reduce_mean(inputs, axis=list(self.axes), keepdims=self.keepdims)


class GlobalMaxPooling1D(_GlobalPool):
    axes = (1,)

    def call(self, inputs):
        return tf.reduce_max(inputs, axis=list(self.axes), keepdims=self.keepdims)


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
