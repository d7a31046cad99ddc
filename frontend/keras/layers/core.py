"""Core Keras layers: Dense, activations, Flatten/Reshape, Dropout, Embedding, Lambda, merging."""
from __future__ import annotations

import warnings

import numpy as np

import fuseflow as tf

from .. import activations, initializers, regularizers
from ..engine import Layer


def _dim_product(dims):
    if any(d is None for d in dims):
        return None
    return int(np.prod(dims)) if dims else 1


class Dense(Layer):
    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = int(units)
        if self.units <= 0:
            raise ValueError(f"Received an invalid value for `units`, expected a positive integer. Received: "
                             f"units={units}")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint

    def build(self, input_shape):
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(f"Dense layer {self.name}: the last dimension of the inputs must be known, got "
                             f"input shape {input_shape}")
        self.kernel = self.add_weight(name="kernel", shape=(in_dim, self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    def call(self, inputs):
        rank = inputs.shape.rank
        if rank is not None and rank > 2:
            lead = inputs.shape.as_list()[:-1]
            flat = tf.reshape(inputs, [-1, inputs.shape[-1]])
            y = tf.matmul(flat, self.kernel)
            y = tf.reshape(y, [-1 if d is None else d for d in lead] + [self.units])
        else:
            y = tf.matmul(inputs, self.kernel)
        if self.use_bias:
            y = tf.nn.bias_add(y, self.bias)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias}


class Activation(Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class ReLU(Layer):
    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ValueError(f"max_value of a ReLU layer cannot be a negative value. Received: {max_value}")
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f"negative_slope of a ReLU layer cannot be a negative value. Received: {negative_slope}")
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class LeakyReLU(Layer):
    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("Argument `alpha` is deprecated. Use `negative_slope` instead.")
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f"The negative_slope value of a Leaky ReLU layer cannot be None or negative, got "
                             f"{negative_slope}")
        self.negative_slope = float(negative_slope)

    def call(self, inputs):
        return tf.nn.leaky_relu(inputs, alpha=self.negative_slope)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class ELU(Layer):
    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class PReLU(Layer):
    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = alpha_regularizer
        self.shared_axes = [] if shared_axes is None else list(np.atleast_1d(shared_axes))

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for ax in self.shared_axes:
            shape[ax - 1] = 1
        self.alpha = self.add_weight(name="alpha", shape=shape, initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer)
        self.built = True

    def call(self, inputs):
        pos = tf.nn.relu(inputs)
        neg = -self.alpha * tf.nn.relu(-inputs)
        return pos + neg

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class Softmax(Layer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs, mask=None):
        if mask is not None:
            inputs = inputs + (1.0 - tf.cast(mask, inputs.dtype)) * -1e9
        if isinstance(self.axis, (tuple, list)):
            if len(self.axis) > 1:
                lse = tf.reduce_logsumexp(inputs, axis=self.axis, keepdims=True)
                return tf.exp(inputs - lse)
            return activations.softmax(inputs, axis=self.axis[0])
        return activations.softmax(inputs, axis=self.axis)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class Flatten(Layer):
    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or "channels_last"

    def call(self, inputs):
        dims = inputs.shape.as_list()
        if self.data_format == "channels_first" and len(dims) > 2:
            perm = [0] + list(range(2, len(dims))) + [1]
            inputs = tf.transpose(inputs, perm)
            dims = inputs.shape.as_list()
        rest = _dim_product(dims[1:])
        if rest is None:
            return tf.reshape(inputs, [dims[0] if dims[0] is not None else -1, -1])
        return tf.reshape(inputs, [-1, rest])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], _dim_product(input_shape[1:]))


class Reshape(Layer):
    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)

    def call(self, inputs):
        return tf.reshape(inputs, [-1] + list(self.target_shape))

    def compute_output_shape(self, input_shape):
        target = list(self.target_shape)
        if -1 in target:
            known = _dim_product([d for d in target if d != -1])
            total = _dim_product(input_shape[1:])
            target[target.index(-1)] = None if total is None else total // known
        return (input_shape[0],) + tuple(target)


class Permute(Layer):
    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)

    def call(self, inputs):
        return tf.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)


class Dropout(Layer):
    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
                             f"Received: rate={rate}")
        self.rate = rate
        self.noise_shape = noise_shape
        self.seed = seed

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            return tf.nn.dropout(inputs, rate=self.rate, noise_shape=self.noise_shape, seed=self.seed)
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class Identity(Layer):
    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


class Lambda(Layer):
    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.arguments = arguments or {}
        self._lambda_output_shape = output_shape

    def call(self, inputs, mask=None, training=None):
        return self.function(inputs, **self.arguments)


class Embedding(Layer):
    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, **kwargs):
        kwargs.pop("input_length", None)
        super().__init__(**kwargs)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        init = "random_uniform" if embeddings_initializer == "uniform" else embeddings_initializer
        self.embeddings_initializer = initializers.get(init)
        self.embeddings_regularizer = embeddings_regularizer
        self.mask_zero = mask_zero
        self.autocast = False

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(name="embeddings", shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer)
        self.built = True

    def call(self, inputs):
        if not inputs.dtype.is_integer:
            inputs = tf.cast(inputs, "int32")
        out = tf.gather(self.embeddings, inputs)
        if self.mask_zero:
            # Keras' mask: recurrent layers fed directly by this output skip the padded (0) steps
            out._keras_mask = tf.not_equal(inputs, 0)
        return out

    def compute_mask(self, inputs, mask=None):
        """Keras: `inputs != 0` when mask_zero, else None."""
        if not self.mask_zero:
            return None
        return tf.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)


# ------------------------------------------------------------------------------ merging


class _Merge(Layer):
    def _merge(self, inputs):
        raise TypeError(f"{type(self).__name__} does not define how to merge")

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 1:
            raise ValueError(f"A merge layer ({self.name}) should be called on a list of inputs, got {inputs!r}")
        return self._merge(list(inputs))

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        out = []
        rank = max(len(s) for s in shapes)
        for i in range(rank):
            dims = [s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0]
            known = [d for d in dims if d is not None and d != 1]
            out.append(known[0] if known else (None if None in dims else 1))
        return tuple(out)


class Add(_Merge):
    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Subtract(_Merge):
    def _merge(self, xs):
        if len(xs) != 2:
            raise ValueError("A `Subtract` layer should be called on exactly 2 inputs")
        return xs[0] - xs[1]


class Multiply(_Merge):
    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Average(_Merge):
    def _merge(self, xs):
        return Add()._merge(xs) / float(len(xs))


class Maximum(_Merge):
    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = tf.maximum(out, x)
        return out


class Minimum(_Merge):
    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = tf.minimum(out, x)
        return out


class Concatenate(_Merge):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def _merge(self, xs):
        return tf.concat(xs, axis=self.axis)

    def compute_output_shape(self, input_shape):
        shapes = [list(s) for s in input_shape]
        out = list(shapes[0])
        ax = self.axis % len(out)
        sizes = [s[ax] for s in shapes]
        out[ax] = None if None in sizes else sum(sizes)
        return tuple(out)


def add(inputs, **kwargs):
    return Add(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)


def subtract(inputs, **kwargs):
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    return Minimum(**kwargs)(inputs)


class TimeDistributed(Layer):
    """Applies `layer` to every time step: (batch, time, ...) is folded to (batch * time, ...)."""

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `TimeDistributed` layer with a `keras.layers.Layer` instance. "
                             f"Received: {layer}")
        self.layer = layer

    def call(self, inputs, training=None):
        if inputs.shape.rank is None or inputs.shape.rank < 3:
            raise ValueError(f"`TimeDistributed` Layer should be passed an `input_shape` with at least 3 "
                             f"dimensions, received: {inputs.shape}")
        dyn = tf.shape(inputs)
        batch, steps = dyn[0], dyn[1]
        inner = inputs.shape.as_list()[2:]
        folded = tf.reshape(inputs, tf.concat([[-1], [d if d is not None else -1 for d in inner]], 0)
                            if None in inner else [-1] + inner)
        y = self.layer(folded, training=training) if getattr(self.layer, "_call_takes_training", False) \
            else self.layer(folded)
        out_inner = y.shape.as_list()[1:]
        if None in out_inner:
            return tf.reshape(y, tf.concat([tf.stack([batch, steps]), tf.shape(y)[1:]], 0))
        return tf.reshape(y, tf.concat([tf.stack([batch, steps]), tf.constant(out_inner, tf.int32)], 0))

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer._maybe_build((None,) + tuple(input_shape)[2:])
        self.built = True

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        inner = self.layer.compute_output_shape((None,) + input_shape[2:])
        return input_shape[:2] + tuple(inner)[1:]



class ActivityRegularization(Layer):
    """Identity that adds an L1/L2 penalty on its input to the layer losses."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        from .. import regularizers
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1 = l1
        self.l2 = l2

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


# ------------------------------------------------------------------------------ reshaping / preprocessing


class Rescaling(Layer):
    """x * scale + offset."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset

    def call(self, inputs):
        return inputs * self.scale + self.offset

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class RepeatVector(Layer):
    """[batch, features] -> [batch, n, features]."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = int(n)

    def call(self, inputs):
        return tf.tile(tf.expand_dims(inputs, 1), [1, self.n, 1])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])


def _pair_of_pairs(padding, name):
    if isinstance(padding, int):
        return ((padding, padding), (padding, padding))
    a, b = padding
    a = (a, a) if isinstance(a, int) else tuple(a)
    b = (b, b) if isinstance(b, int) else tuple(b)
    if len(a) != 2 or len(b) != 2:
        raise ValueError(f"{name}: expected an int, 2 ints or 2 pairs of ints, got {padding!r}")
    return (a, b)


class ZeroPadding2D(Layer):
    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pair_of_pairs(padding, "ZeroPadding2D")

    def call(self, inputs):
        (t, b), (l, r) = self.padding
        return tf.pad(inputs, [[0, 0], [t, b], [l, r], [0, 0]])

    def compute_output_shape(self, input_shape):
        (t, b), (l, r) = self.padding
        h, w = input_shape[1], input_shape[2]
        return (input_shape[0], None if h is None else h + t + b, None if w is None else w + l + r, input_shape[3])


class Cropping2D(Layer):
    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pair_of_pairs(cropping, "Cropping2D")

    def call(self, inputs):
        (t, b), (l, r) = self.cropping
        h, w = inputs.shape[1], inputs.shape[2]
        return inputs[:, t:h - b, l:w - r, :]

    def compute_output_shape(self, input_shape):
        (t, b), (l, r) = self.cropping
        h, w = input_shape[1], input_shape[2]
        return (input_shape[0], None if h is None else h - t - b, None if w is None else w - l - r, input_shape[3])


class UpSampling2D(Layer):
    """Nearest-neighbour upsampling by integer factors (each pixel repeated size[0] x size[1] times)."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        if interpolation != "nearest":
            raise ValueError(f"UpSampling2D: fuseflow supports interpolation='nearest' only, got {interpolation!r}")
        self.size = (size, size) if isinstance(size, int) else tuple(size)

    def call(self, inputs):
        return tf.repeat(tf.repeat(inputs, self.size[0], axis=1), self.size[1], axis=2)

    def compute_output_shape(self, input_shape):
        h, w = input_shape[1], input_shape[2]
        return (input_shape[0], None if h is None else h * self.size[0], None if w is None else w * self.size[1],
                input_shape[3])


class GaussianNoise(Layer):
    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev, self.seed = float(stddev), seed

    def call(self, inputs, training=False):
        if training and self.stddev > 0:
            return inputs + tf.random.normal(tf.shape(inputs), stddev=self.stddev, seed=self.seed, dtype=inputs.dtype)
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)
