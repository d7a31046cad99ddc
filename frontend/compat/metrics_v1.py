"""`tf.compat.v1.metrics`: streaming metrics (metrics_impl.py) over local variables.

Each metric returns `(value, update_op)`: `value` reads the accumulators, `update_op` adds one
batch to them and returns the updated metric. The accumulators are float32 local variables
(collections LOCAL_VARIABLES and METRIC_VARIABLES, not trainable) named
`<metric scope>/total`, `/count`, ..., so `tf.local_variables_initializer()` resets them.
"""
from __future__ import annotations

import numpy as np


def _tf():
    import fuseflow.compat.v1 as tf
    return tf


def _graph_only(fn_name):
    if _tf().executing_eagerly():
        raise RuntimeError(f"tf.metrics.{fn_name} is not supported when eager execution is enabled.")


def metric_variable(shape, dtype, validate_shape=True, name=None):
    tf = _tf()
    return tf.Variable(np.zeros(shape, dtype=tf.as_dtype(dtype).as_numpy_dtype), trainable=False,
                       collections=[tf.GraphKeys.LOCAL_VARIABLES, tf.GraphKeys.METRIC_VARIABLES],
                       validate_shape=validate_shape, name=name)


def _add_to(collections, value):
    if collections:
        _tf().add_to_collections(collections, value)


def _squeeze_last(x, other):
    """TF's _remove_squeezable_dimensions: drop a trailing 1 when `x` has one more dim than `other`."""
    tf = _tf()
    if x.shape.ndims is not None and other.shape.ndims is not None and x.shape.ndims == other.shape.ndims + 1:
        last = x.shape.as_list()[-1]
        if last in (1, None):
            return tf.squeeze(x, axis=[-1])
    return x


def _prepare(predictions, labels, weights):
    tf = _tf()
    predictions = tf.convert_to_tensor(predictions)
    labels = tf.convert_to_tensor(labels)
    predictions = _squeeze_last(predictions, labels)
    labels = _squeeze_last(labels, predictions)
    if weights is not None:
        weights = tf.convert_to_tensor(weights)
        weights = _squeeze_last(weights, predictions)
    if not predictions.shape.is_compatible_with(labels.shape):
        raise ValueError("Shapes %s and %s are incompatible" % (predictions.shape, labels.shape))
    return predictions, labels, weights


def _broadcast_weights(weights, values):
    tf = _tf()
    return tf.multiply(tf.cast(weights, tf.float32), tf.ones_like(values))


def mean(values, weights=None, metrics_collections=None, updates_collections=None, name=None):
    _graph_only("mean")
    tf = _tf()
    with tf.variable_scope(name, "mean", (values, weights)):
        values = tf.cast(tf.convert_to_tensor(values), tf.float32)
        total = metric_variable([], tf.float32, name="total")
        count = metric_variable([], tf.float32, name="count")
        if weights is None:
            num_values = tf.cast(tf.size(values), tf.float32)
        else:
            weights = _squeeze_last(tf.convert_to_tensor(weights), values)
            weights = _broadcast_weights(weights, values)
            values = tf.multiply(values, weights)
            num_values = tf.reduce_sum(weights)
        update_total = tf.assign_add(total, tf.reduce_sum(values))
        with tf.control_dependencies([values]):
            update_count = tf.assign_add(count, num_values)
        mean_t = tf.div_no_nan(total, tf.maximum(count, 0), name="value")
        update_op = tf.div_no_nan(update_total, tf.maximum(update_count, 0), name="update_op")
        _add_to(metrics_collections, mean_t)
        _add_to(updates_collections, update_op)
        return mean_t, update_op


def accuracy(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
    _graph_only("accuracy")
    tf = _tf()
    predictions, labels, weights = _prepare(predictions, labels, weights)
    if labels.dtype != predictions.dtype:
        predictions = tf.cast(predictions, labels.dtype)
    is_correct = tf.cast(tf.equal(predictions, labels), tf.float32)
    return mean(is_correct, weights, metrics_collections, updates_collections, name or "accuracy")


def mean_squared_error(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                       name=None):
    _graph_only("mean_squared_error")
    tf = _tf()
    predictions, labels, weights = _prepare(predictions, labels, weights)
    squared = tf.squared_difference(labels, predictions)
    return mean(squared, weights, metrics_collections, updates_collections, name or "mean_squared_error")


def mean_absolute_error(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                        name=None):
    _graph_only("mean_absolute_error")
    tf = _tf()
    predictions, labels, weights = _prepare(predictions, labels, weights)
    absolute = tf.abs(predictions - labels)
    return mean(absolute, weights, metrics_collections, updates_collections, name or "mean_absolute_error")


def root_mean_squared_error(labels, predictions, weights=None, metrics_collections=None,
                            updates_collections=None, name=None):
    _graph_only("root_mean_squared_error")
    tf = _tf()
    predictions, labels, weights = _prepare(predictions, labels, weights)
    mse, update_mse = mean_squared_error(labels, predictions, weights, None, None, name or "root_mean_squared_error")
    rmse = tf.sqrt(mse)
    update_op = tf.sqrt(update_mse)
    _add_to(metrics_collections, rmse)
    _add_to(updates_collections, update_op)
    return rmse, update_op


def _count_condition(values, weights, metrics_collections, updates_collections):
    tf = _tf()
    if values.dtype != tf.bool:
        raise TypeError("values must be bool, got %s" % values.dtype)
    count = metric_variable([], tf.float32, name="count")
    values = tf.cast(values, tf.float32)
    if weights is not None:
        values = tf.multiply(values, _broadcast_weights(weights, values))
    value_tensor = tf.identity(count)
    update_op = tf.assign_add(count, tf.reduce_sum(values))
    _add_to(metrics_collections, value_tensor)
    _add_to(updates_collections, update_op)
    return value_tensor, update_op


def _bool_pair(labels, predictions, weights):
    tf = _tf()
    return _prepare(tf.cast(predictions, tf.bool), tf.cast(labels, tf.bool), weights)


def _condition_metric(default_name, condition):
    def metric(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
        _graph_only(default_name)
        tf = _tf()
        with tf.variable_scope(name, default_name, (predictions, labels, weights)):
            predictions, labels, weights = _bool_pair(labels, predictions, weights)
            return _count_condition(condition(tf, labels, predictions), weights, metrics_collections,
                                    updates_collections)
    metric.__name__ = default_name
    return metric


true_positives = _condition_metric("true_positives", lambda tf, l, p: tf.logical_and(tf.equal(l, True), tf.equal(p, True)))
false_positives = _condition_metric("false_positives", lambda tf, l, p: tf.logical_and(tf.equal(l, False), tf.equal(p, True)))
false_negatives = _condition_metric("false_negatives", lambda tf, l, p: tf.logical_and(tf.equal(l, True), tf.equal(p, False)))
true_negatives = _condition_metric("true_negatives", lambda tf, l, p: tf.logical_and(tf.equal(l, False), tf.equal(p, False)))


def _ratio_metric(default_name, numerator_fn, other_fn):
    """tp / (tp + other) where the denominator is positive, else 0 (precision, recall)."""
    def metric(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
        _graph_only(default_name)
        tf = _tf()
        with tf.variable_scope(name, default_name, (predictions, labels, weights)):
            predictions, labels, weights = _bool_pair(labels, predictions, weights)
            tp, tp_update = numerator_fn(labels, predictions, weights)
            other, other_update = other_fn(labels, predictions, weights)

            def compute(a, b, name):
                return tf.where(tf.greater(a + b, 0), tf.divide(a, a + b), tf.zeros_like(a), name=name)
            value = compute(tp, other, "value")
            update_op = compute(tp_update, other_update, "update_op")
            _add_to(metrics_collections, value)
            _add_to(updates_collections, update_op)
            return value, update_op
    metric.__name__ = default_name
    return metric


precision = _ratio_metric("precision", true_positives, false_positives)
recall = _ratio_metric("recall", true_positives, false_negatives)


def _unsupported(name):
    def fn(*args, **kwargs):
        raise NotImplementedError(f"fuseflow does not implement tf.compat.v1.metrics.{name}")
    fn.__name__ = name
    return fn


mean_iou = _unsupported("mean_iou")


def mean_per_class_accuracy(labels, predictions, num_classes, weights=None, metrics_collections=None,
                            updates_collections=None, name=None):
    """Mean over classes of (correct predictions of the class / examples of the class); the
    update op returns the per-class accuracies, as TF's does."""
    _graph_only("mean_per_class_accuracy")
    tf = _tf()
    with tf.variable_scope(name, "mean_accuracy", (predictions, labels, weights)):
        labels = tf.reshape(tf.convert_to_tensor(labels), [-1])
        predictions = tf.reshape(tf.convert_to_tensor(predictions), [-1])
        if labels.dtype != predictions.dtype:
            predictions = tf.cast(predictions, labels.dtype)
        total = metric_variable([num_classes], tf.float32, name="total")
        count = metric_variable([num_classes], tf.float32, name="count")
        ones = tf.ones_like(labels, dtype=tf.float32)
        is_correct = tf.cast(tf.equal(predictions, labels), tf.float32)
        if weights is not None:
            w = tf.reshape(tf.cast(weights, tf.float32), [-1]) * ones
            ones, is_correct = ones * w, is_correct * w
        update_total = tf.scatter_add(total, labels, ones)
        update_count = tf.scatter_add(count, labels, is_correct)
        value = tf.reduce_mean(tf.div_no_nan(count, tf.maximum(total, 0)), name="mean_accuracy")
        update_op = tf.div_no_nan(update_count, tf.maximum(update_total, 0), name="update_op")
        _add_to(metrics_collections, value)
        _add_to(updates_collections, update_op)
        return value, update_op


def auc(labels, predictions, weights=None, num_thresholds=200, metrics_collections=None, updates_collections=None,
        curve="ROC", name=None, summation_method="trapezoidal", thresholds=None):
    """Streaming area under the ROC (or PR) curve from confusion counts at `num_thresholds`
    thresholds (TF1's default trapezoidal rule; predictions are probabilities in [0, 1])."""
    _graph_only("auc")
    tf = _tf()
    if summation_method not in ("trapezoidal", "careful_interpolation", "minoring", "majoring"):
        raise ValueError(f"Invalid summation_method: {summation_method}")
    if curve not in ("ROC", "PR") or summation_method in ("minoring", "majoring") \
            or (curve == "PR" and summation_method == "careful_interpolation"):
        raise NotImplementedError(f"fuseflow's tf.metrics.auc supports curve='ROC'/'PR' with the trapezoidal rule, "
                                  f"got curve={curve!r}, summation_method={summation_method!r}")
    eps = 1e-7
    if thresholds is None:
        thresholds = [0.0 - eps] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1.0 + eps]
    else:
        thresholds = [0.0 - eps] + list(thresholds) + [1.0 + eps]
    n = len(thresholds)
    with tf.variable_scope(name, "auc", (labels, predictions, weights)):
        labels = tf.reshape(tf.cast(labels, tf.bool), [-1, 1])
        preds = tf.reshape(tf.cast(predictions, tf.float32), [-1, 1])
        above = tf.greater(preds, np.asarray(thresholds, np.float32)[None, :])      # [N, n]
        w = tf.ones_like(preds) if weights is None else tf.reshape(tf.cast(weights, tf.float32), [-1, 1])
        pos = tf.cast(labels, tf.float32) * w
        neg = (1.0 - tf.cast(labels, tf.float32)) * w
        a = tf.cast(above, tf.float32)
        counts = {"true_positives": tf.reduce_sum(a * pos, 0), "false_negatives": tf.reduce_sum((1 - a) * pos, 0),
                  "true_negatives": tf.reduce_sum((1 - a) * neg, 0), "false_positives": tf.reduce_sum(a * neg, 0)}
        variables = {k: metric_variable([n], tf.float32, name=k) for k in counts}
        updates = {k: tf.assign_add(variables[k], counts[k]) for k in counts}

        def area(tp, fn_, tn, fp, name_):
            rec = tf.div(tp + eps, tp + fn_ + eps)
            if curve == "ROC":
                x, y = tf.div(fp, fp + tn + eps), rec
            else:
                x, y = rec, tf.div(tp + eps, tp + fp + eps)
            return tf.reduce_sum(tf.multiply(x[:n - 1] - x[1:], (y[:n - 1] + y[1:]) / 2.0), name=name_)
        value = area(*(tf.identity(variables[k]) for k in ("true_positives", "false_negatives", "true_negatives",
                                                           "false_positives")), "value")
        update_op = area(updates["true_positives"], updates["false_negatives"], updates["true_negatives"],
                         updates["false_positives"], "update_op")
        _add_to(metrics_collections, value)
        _add_to(updates_collections, update_op)
        return value, update_op
