"""`tf.keras.activations`: activation functions by name (Keras 3 semantics).

softmax and sigmoid remember their logits on the output tensor (`_keras_logits`), so the
probabilistic losses compute from logits, as Keras 3 does."""
from __future__ import annotations

import fuseflow as tf


def _keep_logits(out, x):
    try:
        out._keras_logits = x
    except AttributeError:
        pass
    return out


def linear(x):
    return x


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return tf.nn.relu(x)
    x = tf.convert_to_tensor(x)
    out = tf.where(x >= threshold, x, tf.zeros_like(x) if negative_slope == 0.0 else negative_slope * (x - threshold))
    if max_value is not None:
        out = tf.minimum(out, tf.cast(max_value, out.dtype))
    return out


def relu6(x):
    return tf.nn.relu6(x)


def leaky_relu(x, negative_slope=0.2):
    return tf.nn.leaky_relu(x, alpha=negative_slope)


def sigmoid(x):
    return _keep_logits(tf.nn.sigmoid(x), x)


def hard_sigmoid(x):
    x = tf.convert_to_tensor(x)
    return tf.clip_by_value(x / 6.0 + 0.5, 0.0, 1.0)


def tanh(x):
    return tf.nn.tanh(x)


def softmax(x, axis=-1):
    return _keep_logits(tf.nn.softmax(x, axis=axis), x)


def log_softmax(x, axis=-1):
    return tf.nn.log_softmax(x, axis=axis)


def elu(x, alpha=1.0):
    out = tf.nn.elu(x)
    return out if alpha == 1.0 else tf.where(tf.convert_to_tensor(x) > 0, out, alpha * out)


def selu(x):
    return tf.nn.selu(x)


def softplus(x):
    return tf.nn.softplus(x)


def softsign(x):
    return tf.nn.softsign(x)


def silu(x):
    x = tf.convert_to_tensor(x)
    return x * tf.nn.sigmoid(x)


swish = silu


def gelu(x, approximate=False):
    return tf.nn.gelu(x, approximate=approximate)


def exponential(x):
    return tf.exp(x)


def mish(x):
    x = tf.convert_to_tensor(x)
    return x * tf.nn.tanh(tf.nn.softplus(x))


def hard_silu(x):
    """x * hard_sigmoid(x) (Keras 3; also named hard_swish)."""
    x = tf.convert_to_tensor(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


_BY_NAME = {
    "hard_silu": hard_silu, "hard_swish": hard_swish,
    "linear": linear, "relu": relu, "relu6": relu6, "leaky_relu": leaky_relu, "sigmoid": sigmoid,
    "hard_sigmoid": hard_sigmoid, "tanh": tanh, "softmax": softmax, "log_softmax": log_softmax, "elu": elu,
    "selu": selu, "softplus": softplus, "softsign": softsign, "silu": silu, "swish": swish, "gelu": gelu,
    "exponential": exponential, "mish": mish,
}


def get(identifier):
    """None -> linear; a name -> the function; a callable -> itself."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _BY_NAME.get(identifier.lower())
        if fn is None:
            raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")
        return fn
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")


def serialize(activation) -> str:
    for name, fn in _BY_NAME.items():
        if fn is activation:
            return name
    return getattr(activation, "__name__", str(activation))


def deserialize(name, custom_objects=None):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return get(name)
