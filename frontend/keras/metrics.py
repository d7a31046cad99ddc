"""`tf.keras.metrics`: stateful metrics whose state lives in (non-trainable) Variables.

`update_state` only adds to the state with `assign_add`, so it works eagerly and inside a
compiled `fuseflow.function` (Model.fit updates its metrics inside the compiled step).
Per-sample functions (accuracy, ...) follow Keras 3.
"""
from __future__ import annotations

import numpy as np

import fuseflow as tf
from fuseflow.function import init_scope

from . import backend, losses as losses_mod
from .engine import _keras_variable_class, auto_name, to_snake_case


def _float(x):
    t = tf.convert_to_tensor(x)
    return t if t.dtype.name == backend.floatx() else tf.cast(t, backend.floatx())


# ------------------------------------------------------------------------------ per-sample functions


def _same_rank(y_true, y_pred):
    """Keras' squeeze_or_expand_to_same_rank for labels vs predictions."""
    rt, rp = y_true.shape.rank, y_pred.shape.rank
    if rt is not None and rp is not None:
        if rt == rp + 1 and y_true.shape[-1] == 1:
            y_true = tf.squeeze(y_true, axis=[-1])
        elif rp == rt + 1 and y_pred.shape[-1] == 1:
            y_pred = tf.squeeze(y_pred, axis=[-1])
    return y_true, y_pred


def accuracy(y_true, y_pred):
    y_pred = tf.convert_to_tensor(y_pred)
    y_true = tf.cast(tf.convert_to_tensor(y_true), y_pred.dtype)
    y_true, y_pred = _same_rank(y_true, y_pred)
    return tf.cast(tf.equal(y_true, y_pred), backend.floatx())


def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_pred = tf.convert_to_tensor(y_pred)
    y_true = tf.cast(tf.convert_to_tensor(y_true), y_pred.dtype)
    y_true, y_pred = _same_rank(y_true, y_pred)
    y_pred = tf.cast(y_pred > threshold, y_true.dtype)
    return tf.cast(tf.equal(y_true, y_pred), backend.floatx())


def categorical_accuracy(y_true, y_pred):
    y_true = tf.argmax(tf.convert_to_tensor(y_true), axis=-1)
    y_pred = tf.convert_to_tensor(y_pred)
    reshape = None
    if y_true.shape.rank == y_pred.shape.rank:
        reshape = y_true.shape
        y_true = tf.squeeze(y_true, axis=[-1])
    y_pred = tf.argmax(y_pred, axis=-1)
    if y_pred.dtype != y_true.dtype:
        y_pred = tf.cast(y_pred, y_true.dtype)
    matches = tf.cast(tf.equal(y_true, y_pred), backend.floatx())
    return tf.reshape(matches, reshape.as_list()) if reshape is not None else matches


def sparse_categorical_accuracy(y_true, y_pred):
    y_pred = tf.convert_to_tensor(y_pred)
    y_true = tf.cast(tf.convert_to_tensor(y_true), y_pred.dtype)
    if y_true.shape.rank is not None and y_true.shape.rank == y_pred.shape.rank and y_true.shape[-1] == 1:
        y_true = tf.squeeze(y_true, axis=[-1])
    y_pred = tf.argmax(y_pred, axis=-1)
    if y_pred.dtype != y_true.dtype:
        y_pred = tf.cast(y_pred, y_true.dtype)
    return tf.cast(tf.equal(y_true, y_pred), backend.floatx())


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    y_true = tf.argmax(tf.convert_to_tensor(y_true), axis=-1)
    return sparse_top_k_categorical_accuracy(y_true, y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    y_pred = tf.convert_to_tensor(y_pred)
    y_true = tf.cast(tf.reshape(tf.convert_to_tensor(y_true), [-1]), "int32")
    return tf.cast(tf.math.in_top_k(y_true, y_pred, k), backend.floatx())


# ------------------------------------------------------------------------------ Metric base


class Metric:
    """State in Variables; `update_state` accumulates, `result` reads, `reset_state` zeroes."""

    def __init__(self, name=None, dtype=None):
        self.name = name or auto_name(to_snake_case(type(self).__name__))
        self._dtype = dtype or backend.floatx()
        self._variables: list = []

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        with init_scope():
            np_dtype = np.dtype(getattr(dtype, "as_numpy_dtype", dtype) or self._dtype)
            if isinstance(initializer, str) and initializer != "zeros":
                from . import initializers as initializers_mod
                initializer = initializers_mod.get(initializer)
            if isinstance(initializer, str):
                init = np.zeros(shape, dtype=np_dtype)
            elif callable(initializer):        # an initializer object: tf.zeros_initializer(), 'ones', ...
                value = initializer(tuple(shape), dtype=dtype or self._dtype)
                init = np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np_dtype)
            else:
                init = np.asarray(initializer, dtype=np_dtype)
            # Keras 3 naming: name 'total' (no ':0'), path 'mean/total'
            v = _keras_variable_class()(init, trainable=False, name=name or "metric_variable")
            v._keras_path = f"{self.name}/{name or 'metric_variable'}"
        self._variables.append(v)
        return v

    add_weight = add_variable

    @property
    def variables(self) -> list:
        return list(self._variables)

    @property
    def dtype(self):
        return self._dtype

    def update_state(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} must implement update_state")

    def result(self):
        raise TypeError(f"{type(self).__name__} must implement result")

    def reset_state(self):
        for v in self._variables:
            v.assign(np.zeros(v.shape.as_list(), dtype=v.dtype.np))

    reset_states = reset_state

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self._dtype}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class Sum(Metric):
    def __init__(self, name="sum", dtype=None):
        super().__init__(name, dtype)
        self.total = self.add_variable(name="total")

    def update_state(self, values, sample_weight=None):
        values = _float(values)
        if sample_weight is not None:
            values = values * _float(sample_weight)
        self.total.assign_add(tf.reduce_sum(values))

    def result(self):
        return tf.identity(self.total)


class Mean(Metric):
    def __init__(self, name="mean", dtype=None):
        super().__init__(name, dtype)
        self.total = self.add_variable(name="total")
        self.count = self.add_variable(name="count")

    def update_state(self, values, sample_weight=None):
        values = _float(values)
        rank = values.shape.rank
        if rank is not None and rank > 1:
            values = tf.reduce_mean(values, axis=list(range(1, rank)))
        if sample_weight is not None:
            sw = _float(sample_weight)
            if sw.shape.rank is not None and sw.shape.rank > 1:
                sw = tf.reduce_mean(sw, axis=list(range(1, sw.shape.rank)))
            if sw.shape.rank == 0 and values.shape.rank == 0:
                self.total.assign_add(values * sw)
                self.count.assign_add(sw)
                return
            sw = sw * tf.ones_like(values)
            self.total.assign_add(tf.reduce_sum(values * sw))
            self.count.assign_add(tf.reduce_sum(sw))
            return
        self.total.assign_add(tf.reduce_sum(values))
        n = values.shape.num_elements() if values.shape.rank is not None else None
        self.count.assign_add(float(n) if n is not None else tf.cast(tf.size(values), backend.floatx()))

    def result(self):
        return tf.math.divide_no_nan(tf.convert_to_tensor(self.total), tf.convert_to_tensor(self.count))


class MeanMetricWrapper(Mean):
    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        return super().update_state(values, sample_weight=sample_weight)


def _wrapper(fn, default_name, params=()):
    def __init__(self, *args, name=default_name, dtype=None, **kwargs):
        for p, v in zip(params, args):
            kwargs[p] = v
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **kwargs)
    return __init__


class Accuracy(MeanMetricWrapper):
    __init__ = _wrapper(accuracy, "accuracy")


class BinaryAccuracy(MeanMetricWrapper):
    __init__ = _wrapper(binary_accuracy, "binary_accuracy", ("threshold",))


class CategoricalAccuracy(MeanMetricWrapper):
    __init__ = _wrapper(categorical_accuracy, "categorical_accuracy")


class SparseCategoricalAccuracy(MeanMetricWrapper):
    __init__ = _wrapper(sparse_categorical_accuracy, "sparse_categorical_accuracy")


class TopKCategoricalAccuracy(MeanMetricWrapper):
    __init__ = _wrapper(top_k_categorical_accuracy, "top_k_categorical_accuracy", ("k",))


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    __init__ = _wrapper(sparse_top_k_categorical_accuracy, "sparse_top_k_categorical_accuracy", ("k",))


class MeanSquaredError(MeanMetricWrapper):
    __init__ = _wrapper(losses_mod.mean_squared_error, "mean_squared_error")


class MeanAbsoluteError(MeanMetricWrapper):
    __init__ = _wrapper(losses_mod.mean_absolute_error, "mean_absolute_error")


class CategoricalCrossentropy(MeanMetricWrapper):
    __init__ = _wrapper(losses_mod.categorical_crossentropy, "categorical_crossentropy",
                        ("from_logits", "label_smoothing"))


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    __init__ = _wrapper(losses_mod.sparse_categorical_crossentropy, "sparse_categorical_crossentropy",
                        ("from_logits",))


class BinaryCrossentropy(MeanMetricWrapper):
    __init__ = _wrapper(losses_mod.binary_crossentropy, "binary_crossentropy", ("from_logits", "label_smoothing"))


class RootMeanSquaredError(Mean):
    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _float(y_true), _float(y_pred)
        return super().update_state(tf.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return tf.sqrt(super().result())


class MeanAbsolutePercentageError(MeanMetricWrapper):
    __init__ = _wrapper(losses_mod.mean_absolute_percentage_error, "mean_absolute_percentage_error")


class KLDivergence(MeanMetricWrapper):
    __init__ = _wrapper(losses_mod.kl_divergence, "kl_divergence")


def _cosine_similarity(y_true, y_pred, axis=-1):
    """Keras' metric form: the plain cosine of the two vectors (the loss is its negative)."""
    y_true, y_pred = _same_rank(_float(y_true), _float(y_pred))
    return tf.reduce_sum(tf.math.l2_normalize(y_true, axis=axis) * tf.math.l2_normalize(y_pred, axis=axis), axis=axis)


class CosineSimilarity(MeanMetricWrapper):
    __init__ = _wrapper(_cosine_similarity, "cosine_similarity", ("axis",))


class Hinge(MeanMetricWrapper):
    __init__ = _wrapper(losses_mod.hinge, "hinge")


class SquaredHinge(MeanMetricWrapper):
    __init__ = _wrapper(losses_mod.squared_hinge, "squared_hinge")


class LogCoshError(MeanMetricWrapper):
    __init__ = _wrapper(losses_mod.log_cosh, "logcosh")


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    __init__ = _wrapper(losses_mod.mean_squared_logarithmic_error, "mean_squared_logarithmic_error")


class Poisson(MeanMetricWrapper):
    __init__ = _wrapper(losses_mod.poisson, "poisson")


# ------------------------------------------------------------------------------ confusion counts


class _ConfusionCount(Metric):
    """Counts of thresholded binary decisions (Keras: y_pred > threshold is a positive)."""
    _counts: tuple = ()

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name, dtype)
        if thresholds is not None and not isinstance(thresholds, (int, float)):
            raise NotImplementedError(f"keras.metrics.{type(self).__name__}: only a single scalar threshold "
                                      f"is supported by fuseflow (got {thresholds!r})")
        self.thresholds = 0.5 if thresholds is None else float(thresholds)
        for c in self._counts:
            setattr(self, c, self.add_variable(name=c))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _same_rank(tf.convert_to_tensor(y_true), tf.convert_to_tensor(y_pred))
        pred = tf.cast(_float(y_pred) > self.thresholds, backend.floatx())
        true = tf.cast(tf.cast(y_true, tf.bool), backend.floatx())
        w = tf.ones_like(pred) if sample_weight is None else _float(sample_weight) * tf.ones_like(pred)
        parts = {"true_positives": true * pred, "false_positives": (1.0 - true) * pred,
                 "true_negatives": (1.0 - true) * (1.0 - pred), "false_negatives": true * (1.0 - pred)}
        for c in self._counts:
            getattr(self, c).assign_add(tf.reduce_sum(parts[c] * w))


def _count_metric(count, default_name):
    class Count(_ConfusionCount):
        _counts = (count,)

        def __init__(self, thresholds=None, name=default_name, dtype=None):
            super().__init__(thresholds, name, dtype)

        def result(self):
            return tf.identity(getattr(self, count))
    return Count


TruePositives = _count_metric("true_positives", "true_positives")
FalsePositives = _count_metric("false_positives", "false_positives")
TrueNegatives = _count_metric("true_negatives", "true_negatives")
FalseNegatives = _count_metric("false_negatives", "false_negatives")
for _cls, _n in ((TruePositives, "TruePositives"), (FalsePositives, "FalsePositives"),
                 (TrueNegatives, "TrueNegatives"), (FalseNegatives, "FalseNegatives")):
    _cls.__name__ = _cls.__qualname__ = _n


class Precision(_ConfusionCount):
    _counts = ("true_positives", "false_positives")

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="precision", dtype=None):
        if top_k is not None or class_id is not None:
            raise NotImplementedError("keras.metrics.Precision: top_k / class_id are not supported by fuseflow")
        super().__init__(thresholds, name, dtype)

    def result(self):
        tp = tf.convert_to_tensor(self.true_positives)
        return tf.math.divide_no_nan(tp, tp + tf.convert_to_tensor(self.false_positives))


class Recall(_ConfusionCount):
    _counts = ("true_positives", "false_negatives")

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="recall", dtype=None):
        if top_k is not None or class_id is not None:
            raise NotImplementedError("keras.metrics.Recall: top_k / class_id are not supported by fuseflow")
        super().__init__(thresholds, name, dtype)

    def result(self):
        tp = tf.convert_to_tensor(self.true_positives)
        return tf.math.divide_no_nan(tp, tp + tf.convert_to_tensor(self.false_negatives))


class AUC(Metric):
    """Area under the ROC or PR curve from confusion counts at `num_thresholds` thresholds spread
    evenly over [0, 1] (Keras 3: end points -eps and 1 + eps; ROC by the trapezoid rule, PR by
    Keras' interpolation of precision between thresholds)."""

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        super().__init__(name=name or "auc", dtype=dtype)
        if multi_label or label_weights is not None:
            raise NotImplementedError("keras.metrics.AUC: multi_label / label_weights are not supported by fuseflow")
        if str(curve).upper() not in ("ROC", "PR"):
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["ROC", "PR"]')
        self.curve = str(curve).upper()
        self.summation_method = str(summation_method).lower()
        if self.summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f"Invalid AUC summation method value: {summation_method}")
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            self.num_thresholds = len(inner) + 2
        else:
            if num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. Received: {num_thresholds}")
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) * 1.0 / (self.num_thresholds - 1) for i in range(self.num_thresholds - 2)]
        eps = backend.epsilon()
        self._thresholds = np.array([0.0 - eps] + inner + [1.0 + eps], np.float32)
        self._from_logits = from_logits
        n = self.num_thresholds
        for c in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            setattr(self, c, self.add_variable(shape=(n,), name=c))

    @property
    def thresholds(self):
        return list(self._thresholds)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _float(y_pred)
        if self._from_logits:
            y_pred = tf.sigmoid(y_pred)
        pred = tf.reshape(y_pred, [-1, 1])
        true = tf.reshape(tf.cast(tf.cast(y_true, tf.bool), backend.floatx()), [-1, 1])
        above = tf.cast(pred > tf.constant(self._thresholds.reshape(1, -1)), backend.floatx())
        w = tf.ones_like(pred) if sample_weight is None else \
            tf.reshape(_float(sample_weight) * tf.ones_like(y_pred), [-1, 1])
        self.true_positives.assign_add(tf.reduce_sum(true * above * w, axis=0))
        self.false_positives.assign_add(tf.reduce_sum((1.0 - true) * above * w, axis=0))
        self.true_negatives.assign_add(tf.reduce_sum((1.0 - true) * (1.0 - above) * w, axis=0))
        self.false_negatives.assign_add(tf.reduce_sum(true * (1.0 - above) * w, axis=0))

    def _interpolate_pr_auc(self, tp, fp, fn):
        n = self.num_thresholds
        dtp = tp[:n - 1] - tp[1:]
        p = tp + fp
        dp = p[:n - 1] - p[1:]
        slope = tf.math.divide_no_nan(dtp, tf.maximum(dp, 0.0))
        intercept = tp[1:] - slope * p[1:]
        both = tf.logical_and(p[:n - 1] > 0, p[1:] > 0)
        ratio = tf.where(both, tf.math.divide_no_nan(p[:n - 1], tf.maximum(p[1:], 0.0)), tf.ones_like(p[1:]))
        inc = tf.math.divide_no_nan(slope * (dtp + intercept * tf.math.log(ratio)), tf.maximum(tp[1:] + fn[1:], 0.0))
        return tf.reduce_sum(inc)

    def result(self):
        tp, fp = tf.convert_to_tensor(self.true_positives), tf.convert_to_tensor(self.false_positives)
        tn, fn = tf.convert_to_tensor(self.true_negatives), tf.convert_to_tensor(self.false_negatives)
        n = self.num_thresholds
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc(tp, fp, fn)
        recall = tf.math.divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = tf.math.divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, tf.math.divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:n - 1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = tf.minimum(y[:n - 1], y[1:])
        else:
            heights = tf.maximum(y[:n - 1], y[1:])
        return tf.reduce_sum((x[:n - 1] - x[1:]) * heights)


_BY_NAME = {
    "accuracy": Accuracy, "acc": Accuracy, "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy, "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy, "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError, "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "categorical_crossentropy": CategoricalCrossentropy, "binary_crossentropy": BinaryCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy, "root_mean_squared_error": RootMeanSquaredError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError, "mape": MeanAbsolutePercentageError,
    "kl_divergence": KLDivergence, "precision": Precision, "recall": Recall,
}


def get(identifier):
    if isinstance(identifier, Metric) or identifier is None:
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower()) or globals().get(identifier)
        if cls is None or not (isinstance(cls, type) and issubclass(cls, Metric)):
            raise ValueError(f"Could not interpret metric identifier: {identifier!r}")
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")


def resolve_accuracy(identifier, y_true_shape, y_pred_shape, loss=None):
    """'accuracy' in compile(): Keras picks binary / sparse categorical / categorical by the shapes."""
    name = identifier if isinstance(identifier, str) else None
    if name not in ("accuracy", "acc"):
        metric = get(identifier)
        if name is not None:
            metric.name = name      # Keras 3 names a metric given as a string by that string ('mae')
        return metric
    loss_name = getattr(loss, "name", None) or getattr(getattr(loss, "fn", None), "__name__", None) or \
        (loss if isinstance(loss, str) else getattr(loss, "__name__", ""))
    pred_last = y_pred_shape[-1] if y_pred_shape else None
    if pred_last == 1 or (loss_name or "").startswith("binary"):
        return BinaryAccuracy(name=name)
    if y_true_shape is not None and (len(y_true_shape) < len(y_pred_shape) or
                                     (len(y_true_shape) == len(y_pred_shape) and y_true_shape[-1] == 1)):
        return SparseCategoricalAccuracy(name=name)
    return CategoricalAccuracy(name=name)


# Keras' lower-case function aliases
mse = MSE = losses_mod.mean_squared_error
mae = MAE = losses_mod.mean_absolute_error
binary_crossentropy = losses_mod.binary_crossentropy
categorical_crossentropy = losses_mod.categorical_crossentropy
sparse_categorical_crossentropy = losses_mod.sparse_categorical_crossentropy
