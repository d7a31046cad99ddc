"""`tf.keras.losses` (Keras 3 definitions and reductions).

A `Loss` object computes per-sample losses with its function, applies `sample_weight` and
reduces ('sum_over_batch_size' = sum / number of loss values, 'sum', or None). Probabilistic
losses on outputs of Keras' softmax/sigmoid (which remember their logits) compute from the
logits, as Keras 3 does.
"""
from __future__ import annotations

import fuseflow as tf
from fuseflow.tensor import Tensor

from . import backend


def _to_tensor(x, dtype=None):
    t = tf.convert_to_tensor(x)
    if dtype is not None and t.dtype != dtype:
        t = tf.cast(t, dtype)
    return t


def _pair(y_true, y_pred):
    y_pred = _to_tensor(y_pred)
    if not y_pred.dtype.is_floating:
        y_pred = tf.cast(y_pred, backend.floatx())
    return _to_tensor(y_true, y_pred.dtype), y_pred


def _get_logits(output, from_logits, op_type):
    """(logits or probabilities, from_logits): outputs of softmax/sigmoid carry their logits."""
    logits = getattr(output, "_keras_logits", None)
    if logits is not None:
        return logits, True
    if isinstance(output, Tensor) and output.op.ir_op == op_type and len(output.op.inputs) == 1:
        return output.op.inputs[0], True
    return output, from_logits


# ------------------------------------------------------------------------------ per-sample functions


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return tf.reduce_mean(tf.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return tf.reduce_mean(tf.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    diff = tf.abs((y_true - y_pred) / tf.maximum(tf.abs(y_true), backend.epsilon()))
    return 100.0 * tf.reduce_mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    a = tf.math.log(tf.maximum(y_pred, backend.epsilon()) + 1.0)
    b = tf.math.log(tf.maximum(y_true, backend.epsilon()) + 1.0)
    return tf.reduce_mean(tf.square(a - b), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    y_true, y_pred = _pair(y_true, y_pred)
    err = tf.abs(y_true - y_pred)
    quad = 0.5 * tf.square(err)
    lin = delta * err - 0.5 * delta * delta
    return tf.reduce_mean(tf.where(err <= delta, quad, lin), axis=-1)


def log_cosh(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return tf.reduce_mean(x + tf.nn.softplus(-2.0 * x) - tf.math.log(2.0), axis=-1)


def hinge(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = tf.where(tf.equal(y_true, 0.0), -tf.ones_like(y_true), y_true)
    return tf.reduce_mean(tf.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = tf.where(tf.equal(y_true, 0.0), -tf.ones_like(y_true), y_true)
    return tf.reduce_mean(tf.square(tf.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def kl_divergence(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = tf.clip_by_value(y_true, backend.epsilon(), 1.0)
    y_pred = tf.clip_by_value(y_pred, backend.epsilon(), 1.0)
    return tf.reduce_sum(y_true * tf.math.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return tf.reduce_mean(y_pred - y_true * tf.math.log(y_pred + backend.epsilon()), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = tf.math.l2_normalize(y_true, axis=axis)
    y_pred = tf.math.l2_normalize(y_pred, axis=axis)
    return -tf.reduce_sum(y_true * y_pred, axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        n = y_pred.shape[-1]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / float(n)
    output, from_logits = _get_logits(y_pred, from_logits, "softmax")
    if from_logits:
        return tf.nn.softmax_cross_entropy_with_logits(labels=y_true, logits=output, axis=axis)
    output = output / tf.reduce_sum(output, axis=axis, keepdims=True)
    output = tf.clip_by_value(output, backend.epsilon(), 1.0 - backend.epsilon())
    return -tf.reduce_sum(y_true * tf.math.log(output), axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    y_pred = _to_tensor(y_pred)
    y_true = _to_tensor(y_true)
    output, from_logits = _get_logits(y_pred, from_logits, "softmax")
    if not from_logits:
        output = tf.math.log(tf.clip_by_value(output, backend.epsilon(), 1.0 - backend.epsilon()))
    if y_true.shape.rank is not None and y_true.shape.rank == output.shape.rank and y_true.shape[-1] == 1:
        y_true = tf.squeeze(y_true, axis=[-1])
    if not y_true.dtype.is_integer:
        y_true = tf.cast(y_true, "int64")
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_true, logits=output)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    output, from_logits = _get_logits(y_pred, from_logits, "sigmoid")
    if from_logits:
        per = tf.nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=output)
    else:
        output = tf.clip_by_value(output, backend.epsilon(), 1.0 - backend.epsilon())
        per = -(y_true * tf.math.log(output) + (1.0 - y_true) * tf.math.log(1.0 - output))
    return tf.reduce_mean(per, axis=axis)


# Keras' short aliases
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence
logcosh = log_cosh


# ------------------------------------------------------------------------------ reduction


def _reduce(values, sample_weight, reduction):
    if sample_weight is not None:
        sw = _to_tensor(sample_weight, values.dtype)
        if sw.shape.rank is not None and values.shape.rank is not None and sw.shape.rank == values.shape.rank + 1 \
                and sw.shape[-1] == 1:
            sw = tf.squeeze(sw, axis=[-1])
        values = values * sw
    if reduction is None or reduction == "none":
        return values
    total = tf.reduce_sum(values)
    if reduction == "sum":
        return total
    if reduction in ("sum_over_batch_size", "mean", "auto", "mean_with_sample_weight"):
        n = values.shape.num_elements()
        count = float(n) if n is not None else tf.cast(tf.size(values), values.dtype)
        if reduction == "mean_with_sample_weight" and sample_weight is not None:
            count = tf.reduce_sum(_to_tensor(sample_weight, values.dtype) * tf.ones_like(values))
        return tf.math.divide_no_nan(total, count) if not isinstance(count, float) else \
            (total / count if count else total * 0.0)
    raise ValueError(f"Invalid value for argument `reduction`: {reduction!r}. Expected one of 'sum', "
                     f"'sum_over_batch_size', 'mean', 'mean_with_sample_weight', 'none' or None.")


class Loss:
    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or type(self).__name__
        self.reduction = reduction
        self.dtype = dtype

    def call(self, y_true, y_pred):
        raise TypeError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = self.call(y_true, y_pred)
        return _reduce(values, sample_weight, self.reduction)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Keras 3: when the ranks differ by one and the longer has a trailing 1, drop it (or give a
    rank-1 partner a trailing 1), so labels (N,) meet predictions (N, 1) without broadcasting."""
    x1, x2 = _to_tensor(x1), _to_tensor(x2)
    r1, r2 = x1.shape.rank, x2.shape.rank
    if r1 is None or r2 is None or r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = tf.expand_dims(x2, axis=-1)
        else:
            x1 = tf.squeeze(x1, axis=[-1])
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = tf.expand_dims(x1, axis=-1)
        else:
            x2 = tf.squeeze(x2, axis=[-1])
    return x1, x2


class LossFunctionWrapper(Loss):
    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


def _loss_class(fn, default_name, params=()):
    def __init__(self, *args, reduction="sum_over_batch_size", name=default_name, dtype=None, **kwargs):
        for p, v in zip(params, args):
            kwargs[p] = v
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, dtype=dtype, **kwargs)
    return __init__


class MeanSquaredError(LossFunctionWrapper):
    __init__ = _loss_class(mean_squared_error, "mean_squared_error")


class MeanAbsoluteError(LossFunctionWrapper):
    __init__ = _loss_class(mean_absolute_error, "mean_absolute_error")


class MeanAbsolutePercentageError(LossFunctionWrapper):
    __init__ = _loss_class(mean_absolute_percentage_error, "mean_absolute_percentage_error")


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    __init__ = _loss_class(mean_squared_logarithmic_error, "mean_squared_logarithmic_error")


class Huber(LossFunctionWrapper):
    __init__ = _loss_class(huber, "huber_loss", ("delta",))


class LogCosh(LossFunctionWrapper):
    __init__ = _loss_class(log_cosh, "log_cosh")


class Hinge(LossFunctionWrapper):
    __init__ = _loss_class(hinge, "hinge")


class SquaredHinge(LossFunctionWrapper):
    __init__ = _loss_class(squared_hinge, "squared_hinge")


class KLDivergence(LossFunctionWrapper):
    __init__ = _loss_class(kl_divergence, "kl_divergence")


class Poisson(LossFunctionWrapper):
    __init__ = _loss_class(poisson, "poisson")


class CosineSimilarity(LossFunctionWrapper):
    __init__ = _loss_class(cosine_similarity, "cosine_similarity", ("axis",))


class CategoricalCrossentropy(LossFunctionWrapper):
    __init__ = _loss_class(categorical_crossentropy, "categorical_crossentropy",
                           ("from_logits", "label_smoothing", "axis"))


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    __init__ = _loss_class(sparse_categorical_crossentropy, "sparse_categorical_crossentropy",
                           ("from_logits", "ignore_class"))


class BinaryCrossentropy(LossFunctionWrapper):
    __init__ = _loss_class(binary_crossentropy, "binary_crossentropy", ("from_logits", "label_smoothing", "axis"))


_BY_NAME = {
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
    "mean_absolute_percentage_error": mean_absolute_percentage_error, "mape": mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error, "msle": mean_squared_logarithmic_error,
    "huber": huber, "log_cosh": log_cosh, "logcosh": log_cosh, "hinge": hinge, "squared_hinge": squared_hinge,
    "kl_divergence": kl_divergence, "kld": kl_divergence, "poisson": poisson,
    "cosine_similarity": cosine_similarity, "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "binary_crossentropy": binary_crossentropy,
}
_CLASSES = {
    "MeanSquaredError": MeanSquaredError, "MeanAbsoluteError": MeanAbsoluteError,
    "CategoricalCrossentropy": CategoricalCrossentropy, "SparseCategoricalCrossentropy": SparseCategoricalCrossentropy,
    "BinaryCrossentropy": BinaryCrossentropy, "Huber": Huber, "Hinge": Hinge, "KLDivergence": KLDivergence,
}


def get(identifier):
    """A loss name ('mse', 'categorical_crossentropy', 'MeanSquaredError'), a Loss or any callable."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        fn = _BY_NAME.get(identifier.lower())
        if fn is None:
            raise ValueError(f"Could not interpret loss identifier: {identifier!r}")
        return LossFunctionWrapper(fn, name=identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")


def serialize(loss):
    return getattr(loss, "name", getattr(loss, "__name__", str(loss)))


def deserialize(name, custom_objects=None):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return get(name)
