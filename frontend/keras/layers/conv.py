"""Convolution layers (channels_last): Conv1D/2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D."""
from __future__ import annotations

import fuseflow as tf

from .. import activations, initializers, regularizers
from ..engine import Layer


def normalize_tuple(value, n: int, name: str) -> tuple:
    if isinstance(value, int):
        return (value,) * n
    value = tuple(int(v) for v in value)
    if len(value) != n:
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. Received: {value}")
    return value


def normalize_padding(padding: str) -> str:
    p = str(padding).lower()
    if p not in ("valid", "same"):
        raise ValueError(f"The `padding` argument must be one of 'valid', 'same'. Received: {padding}")
    return p


def conv_output_length(n, kernel, padding, stride, dilation=1):
    if n is None:
        return None
    k = (kernel - 1) * dilation + 1
    if padding == "same":
        return -(-n // stride)
    return (n - k) // stride + 1 if n >= k else 0


def deconv_output_length(n, kernel, padding, stride, dilation=1, output_padding=None):
    if n is None:
        return None
    k = kernel + (kernel - 1) * (dilation - 1)
    if output_padding is None:
        return n * stride + max(k - stride, 0) if padding == "valid" else n * stride
    pad = 0 if padding == "valid" else k // 2
    return (n - 1) * stride + k - 2 * pad + output_padding


def _check_data_format(data_format, name):
    fmt = data_format or "channels_last"
    if fmt != "channels_last":
        raise ValueError(f"{name}: fuseflow supports data_format='channels_last' (NHWC) only, got {data_format!r}")
    return fmt


class _Conv(Layer):
    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1, groups=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.filters = None if filters is None else int(filters)
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size")
        self.strides = normalize_tuple(strides, self.rank, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = _check_data_format(data_format, type(self).__name__)
        self.dilation_rate = normalize_tuple(dilation_rate, self.rank, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"`strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: "
                             f"strides={self.strides} and dilation_rate={self.dilation_rate}")
        if groups != 1:
            raise ValueError(f"{type(self).__name__}: grouped convolutions (groups={groups}) are not supported")
        self.groups = groups
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint

    def _kernel_shape(self, in_channels):
        return self.kernel_size + (in_channels, self.filters)

    def build(self, input_shape):
        in_ch = input_shape[-1]
        if in_ch is None:
            raise ValueError(f"{self.name}: the channel dimension of the inputs must be known, got {input_shape}")
        self.kernel = self.add_weight(name="kernel", shape=self._kernel_shape(in_ch),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    def _convolve(self, inputs):
        return tf.nn.conv2d(inputs, self.kernel, strides=[1, *self.strides, 1], padding=self.padding.upper(),
                            dilations=[1, *self.dilation_rate, 1])

    def call(self, inputs):
        y = self._convolve(inputs)
        if self.use_bias:
            y = tf.nn.bias_add(y, self.bias)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        spatial = [conv_output_length(n, k, self.padding, s, d) for n, k, s, d in
                   zip(input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate)]
        return (input_shape[0], *spatial, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias}


class Conv2D(_Conv):
    rank = 2


class Conv1D(_Conv):
    """1D convolution as a 2D convolution over a height-1 image."""
    rank = 1

    def _convolve(self, inputs):
        x = tf.expand_dims(inputs, 1)
        k = tf.expand_dims(self.kernel, 0)
        y = tf.nn.conv2d(x, k, strides=[1, 1, self.strides[0], 1], padding=self.padding.upper(),
                         dilations=[1, 1, self.dilation_rate[0], 1])
        return tf.squeeze(y, [1])


class Conv2DTranspose(_Conv):
    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        self.output_padding = None if output_padding is None else normalize_tuple(output_padding, 2, "output_padding")

    def _kernel_shape(self, in_channels):
        return self.kernel_size + (self.filters, in_channels)

    def compute_output_shape(self, input_shape):
        ops = self.output_padding or (None, None)
        spatial = [deconv_output_length(n, k, self.padding, s, d, op) for n, k, s, d, op in
                   zip(input_shape[1:3], self.kernel_size, self.strides, self.dilation_rate, ops)]
        return (input_shape[0], *spatial, self.filters)

    def _convolve(self, inputs):
        shape = inputs.shape.as_list()
        _, oh, ow, oc = self.compute_output_shape(tuple(shape))
        batch = shape[0] if shape[0] is not None else tf.shape(inputs)[0]
        out_shape = [batch, oh, ow, oc] if shape[0] is not None else tf.stack([batch, oh, ow, oc])
        return tf.nn.conv2d_transpose(inputs, self.kernel, out_shape, strides=[1, *self.strides, 1],
                                      padding=self.padding.upper(), dilations=[1, *self.dilation_rate, 1])


class DepthwiseConv2D(_Conv):
    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(None, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         kernel_initializer=depthwise_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=depthwise_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=depthwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        self.depth_multiplier = int(depth_multiplier)

    def build(self, input_shape):
        in_ch = input_shape[-1]
        self.filters = in_ch * self.depth_multiplier
        self.kernel = self.depthwise_kernel = self.add_weight(
            name="kernel", shape=self.kernel_size + (in_ch, self.depth_multiplier),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    def _convolve(self, inputs):
        return tf.nn.depthwise_conv2d(inputs, self.depthwise_kernel, strides=[1, *self.strides, 1],
                                      padding=self.padding.upper(), dilations=list(self.dilation_rate))

    def compute_output_shape(self, input_shape):
        spatial = [conv_output_length(n, k, self.padding, s, d) for n, k, s, d in
                   zip(input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate)]
        ch = None if input_shape[-1] is None else input_shape[-1] * self.depth_multiplier
        return (input_shape[0], *spatial, ch)


class SeparableConv2D(_Conv):
    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1),
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, bias_constraint=bias_constraint, **kwargs)
        self.depth_multiplier = int(depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)

    def build(self, input_shape):
        in_ch = input_shape[-1]
        self.depthwise_kernel = self.add_weight(name="depthwise_kernel",
                                                shape=self.kernel_size + (in_ch, self.depth_multiplier),
                                                initializer=self.depthwise_initializer,
                                                regularizer=self.depthwise_regularizer)
        self.pointwise_kernel = self.add_weight(name="pointwise_kernel",
                                                shape=(1, 1, in_ch * self.depth_multiplier, self.filters),
                                                initializer=self.pointwise_initializer,
                                                regularizer=self.pointwise_regularizer)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer)
        self.built = True

    def _convolve(self, inputs):
        return tf.nn.separable_conv2d(inputs, self.depthwise_kernel, self.pointwise_kernel,
                                      strides=[1, *self.strides, 1], padding=self.padding.upper(),
                                      dilations=list(self.dilation_rate))


Convolution2D = Conv2D
Convolution2DTranspose = Conv2DTranspose
Convolution1D = Conv1D
