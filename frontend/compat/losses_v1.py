"""`tf.compat.v1.losses`: TF1's loss functions (losses_impl.py) with their weighting and reduction.

Every loss is computed per element, multiplied by `weights` and reduced by `reduction`
(default SUM_BY_NONZERO_WEIGHTS: the weighted sum divided by the number of elements whose
broadcast weight is non-zero). The result is added to the `losses` collection, which
`get_total_loss` sums together with the regularization losses. As in TF, the regression
losses compute in float32 whatever the input dtype, and the reduced loss is named
`<scope>/value` (`<scope>/Sum` for Reduction.SUM).
"""
from __future__ import annotations


LOSSES = "losses"          # GraphKeys.LOSSES: the default `loss_collection`; None adds to no collection


def _tf():
    import fuseflow.compat.v1 as tf
    return tf


class Reduction:
    """Types of loss reduction (tf.compat.v1.losses.Reduction)."""
    NONE = "none"
    SUM = "weighted_sum"
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"
    MEAN = "weighted_mean"
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"
    SUM_OVER_NONZERO_WEIGHTS = SUM_BY_NONZERO_WEIGHTS

    @classmethod
    def all(cls):
        return (cls.NONE, cls.SUM, cls.MEAN, cls.SUM_OVER_BATCH_SIZE, cls.SUM_OVER_NONZERO_WEIGHTS,
                cls.SUM_BY_NONZERO_WEIGHTS)

    @classmethod
    def validate(cls, key):
        if key not in cls.all():
            raise ValueError("Invalid Reduction Key %s." % key)


def add_loss(loss, loss_collection=LOSSES):
    """Adds `loss` to `loss_collection` (None or empty adds it nowhere)."""
    if loss_collection and not _tf().executing_eagerly():
        _tf().add_to_collection(loss_collection, loss)


def get_losses(scope=None, loss_collection=LOSSES):
    return _tf().get_collection(loss_collection, scope)


def get_regularization_losses(scope=None):
    tf = _tf()
    return tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES, scope)


def get_regularization_loss(scope=None, name="total_regularization_loss"):
    """The sum of the regularization losses, or 0.0 when there are none."""
    tf = _tf()
    losses = get_regularization_losses(scope)
    if losses:
        return tf.add_n(losses, name=name)
    return tf.constant(0.0)


def get_total_loss(add_regularization_losses=True, name="total_loss", scope=None):
    losses = list(get_losses(scope=scope))
    if add_regularization_losses:
        losses += get_regularization_losses(scope=scope)
    if not losses:
        raise ValueError("No losses found in collection.")
    return _tf().add_n(losses, name=name)


def _is_python_nonzero_float(weights):
    return isinstance(weights, (int, float)) and not isinstance(weights, bool) and weights != 0.0


def _num_elements(losses):
    tf = _tf()
    with tf.name_scope(None, "num_elements"):
        return tf.cast(tf.size(losses), losses.dtype)


def _num_present(losses, weights):
    """How many loss elements have a non-zero (broadcast) weight, as float32."""
    tf = _tf()
    if _is_python_nonzero_float(weights):
        return _num_elements(losses)
    with tf.name_scope(None, "num_present"):
        weights = tf.cast(weights, tf.float32)
        present = tf.where(tf.equal(weights, 0.0), tf.zeros_like(weights), tf.ones_like(weights))
        present = present * tf.ones_like(losses)
        return tf.reduce_sum(present)


def _check_weights(losses, weights):
    """Weights must broadcast to the losses' shape (TF asserts this, as a ValueError when static)."""
    wshape = getattr(weights, "shape", None)
    if wshape is None:
        return
    wdims = list(wshape.as_list() if hasattr(wshape, "as_list") else wshape)
    ldims = losses.shape.as_list() if hasattr(losses.shape, "as_list") else list(losses.shape)
    if len(wdims) == 0:
        return
    if len(wdims) != len(ldims):
        raise ValueError("weights can not be broadcast to values. values.rank=%d. weights.rank=%d. "
                         "values.shape=%s. weights.shape=%s." % (len(ldims), len(wdims), ldims, wdims))
    for w, l in zip(wdims, ldims):
        if w is not None and l is not None and w not in (1, l):
            raise ValueError("weights can not be broadcast to values. values.shape=%s. weights.shape=%s."
                             % (ldims, wdims))


def compute_weighted_loss(losses, weights=1.0, scope=None, loss_collection=LOSSES,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    Reduction.validate(reduction)
    tf = _tf()
    with tf.name_scope(scope, "weighted_loss", [losses, weights]):
        losses = tf.convert_to_tensor(losses)
        input_dtype = losses.dtype
        losses = tf.cast(losses, tf.float32)
        weights_t = tf.cast(tf.convert_to_tensor(weights), tf.float32)
        _check_weights(losses, weights_t)
        weighted = tf.multiply(losses, weights_t)
        if reduction == Reduction.NONE:
            loss = weighted
        else:
            loss = tf.reduce_sum(weighted)
            if reduction == Reduction.MEAN:
                loss = tf.div_no_nan(loss, tf.reduce_sum(tf.ones_like(losses) * weights_t), name="value")
            elif reduction in (Reduction.SUM_BY_NONZERO_WEIGHTS, Reduction.SUM_OVER_NONZERO_WEIGHTS):
                loss = tf.div_no_nan(loss, _num_present(losses, weights), name="value")
            elif reduction == Reduction.SUM_OVER_BATCH_SIZE:
                loss = tf.div_no_nan(loss, _num_elements(losses), name="value")
        loss = tf.cast(loss, input_dtype)
        add_loss(loss, loss_collection)
        return loss


def _check_shapes(predictions, labels):
    p = predictions.shape
    l_ = labels.shape
    if not p.is_compatible_with(l_):
        raise ValueError("Shapes %s and %s are incompatible" % (p, l_))


def _regression_pair(labels, predictions):
    tf = _tf()
    if labels is None:
        raise ValueError("Argument `labels` must not be None.")
    if predictions is None:
        raise ValueError("Argument `predictions` must not be None.")
    predictions = tf.cast(tf.convert_to_tensor(predictions), tf.float32)
    labels = tf.cast(tf.convert_to_tensor(labels), tf.float32)
    _check_shapes(predictions, labels)
    return labels, predictions


def absolute_difference(labels, predictions, weights=1.0, scope=None, loss_collection=LOSSES,
                        reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    tf = _tf()
    with tf.name_scope(scope, "absolute_difference", (predictions, labels, weights)) as scope:
        labels, predictions = _regression_pair(labels, predictions)
        losses = tf.abs(tf.subtract(predictions, labels))
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction=reduction)


def mean_squared_error(labels, predictions, weights=1.0, scope=None, loss_collection=LOSSES,
                       reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    tf = _tf()
    with tf.name_scope(scope, "mean_squared_error", (predictions, labels, weights)) as scope:
        labels, predictions = _regression_pair(labels, predictions)
        losses = tf.squared_difference(predictions, labels)
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction=reduction)


def huber_loss(labels, predictions, weights=1.0, delta=1.0, scope=None, loss_collection=LOSSES,
               reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """0.5 * x^2 for |x| <= delta, else 0.5 * delta^2 + delta * (|x| - delta)."""
    tf = _tf()
    with tf.name_scope(scope, "huber_loss", (predictions, labels, weights)) as scope:
        labels, predictions = _regression_pair(labels, predictions)
        abs_error = tf.abs(tf.subtract(predictions, labels))
        quadratic = tf.minimum(abs_error, delta)
        linear = tf.subtract(abs_error, quadratic)
        losses = tf.add(tf.multiply(tf.convert_to_tensor(0.5, dtype=quadratic.dtype), tf.multiply(quadratic, quadratic)),
                        tf.multiply(tf.convert_to_tensor(delta, dtype=linear.dtype), linear))
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction=reduction)


def log_loss(labels, predictions, weights=1.0, epsilon=1e-7, scope=None, loss_collection=LOSSES,
             reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    tf = _tf()
    with tf.name_scope(scope, "log_loss", (predictions, labels, weights)) as scope:
        labels, predictions = _regression_pair(labels, predictions)
        losses = -tf.multiply(labels, tf.log(predictions + epsilon)) - tf.multiply(
            (1 - labels), tf.log(1 - predictions + epsilon))
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction=reduction)


def hinge_loss(labels, logits, weights=1.0, scope=None, loss_collection=LOSSES,
               reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """labels in {0, 1} are mapped to {-1, 1}; loss = relu(1 - labels * logits)."""
    tf = _tf()
    with tf.name_scope(scope, "hinge_loss", (logits, labels, weights)) as scope:
        logits = tf.cast(tf.convert_to_tensor(logits), tf.float32)
        labels = tf.cast(tf.convert_to_tensor(labels), tf.float32)
        _check_shapes(logits, labels)
        all_ones = tf.ones_like(labels)
        labels = tf.subtract(2 * labels, all_ones)
        losses = tf.nn.relu(tf.subtract(all_ones, tf.multiply(labels, logits)))
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction=reduction)


def cosine_distance(labels, predictions, axis=None, weights=1.0, scope=None, loss_collection=LOSSES,
                    reduction=Reduction.SUM_BY_NONZERO_WEIGHTS, dim=None):
    """1 - sum(labels * predictions, axis) (inputs assumed unit-normalized), keeping `axis`."""
    tf = _tf()
    if dim is not None:
        if axis is not None:
            raise ValueError("Cannot specify both 'axis' and 'dim'")
        axis = dim
    if axis is None:
        raise ValueError("You must specify argument `axis`.")
    with tf.name_scope(scope, "cosine_distance_loss", (predictions, labels, weights)) as scope:
        labels, predictions = _regression_pair(labels, predictions)
        radial_diffs = tf.multiply(predictions, labels)
        losses = 1 - tf.reduce_sum(radial_diffs, axis=(axis,), keepdims=True)
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction=reduction)


def sigmoid_cross_entropy(multi_class_labels, logits, weights=1.0, label_smoothing=0, scope=None,
                          loss_collection=LOSSES, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    tf = _tf()
    with tf.name_scope(scope, "sigmoid_cross_entropy_loss", (logits, multi_class_labels, weights)) as scope:
        logits = tf.convert_to_tensor(logits)
        labels = tf.cast(tf.convert_to_tensor(multi_class_labels), logits.dtype)
        _check_shapes(logits, labels)
        if label_smoothing > 0:
            labels = labels * (1 - label_smoothing) + 0.5 * label_smoothing
        losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits, name="xentropy")
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction=reduction)


def softmax_cross_entropy(onehot_labels, logits, weights=1.0, label_smoothing=0, scope=None,
                          loss_collection=LOSSES, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    tf = _tf()
    with tf.name_scope(scope, "softmax_cross_entropy_loss", (logits, onehot_labels, weights)) as scope:
        logits = tf.convert_to_tensor(logits)
        labels = tf.cast(tf.convert_to_tensor(onehot_labels), logits.dtype)
        _check_shapes(logits, labels)
        if label_smoothing > 0:
            num_classes = tf.cast(tf.shape(labels)[-1], logits.dtype)
            labels = labels * (1 - label_smoothing) + label_smoothing / num_classes
        labels = tf.stop_gradient(labels, name="labels_stop_gradient")
        losses = tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits, name="xentropy")
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction=reduction)


def sparse_softmax_cross_entropy(labels, logits, weights=1.0, scope=None, loss_collection=LOSSES,
                                 reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    tf = _tf()
    with tf.name_scope(scope, "sparse_softmax_cross_entropy_loss", (logits, labels, weights)) as scope:
        logits = tf.convert_to_tensor(logits)
        labels = tf.convert_to_tensor(labels)
        # labels of shape [batch, 1] against logits [batch, classes] lose their last dim, as in TF
        if labels.shape.ndims is not None and logits.shape.ndims is not None \
                and labels.shape.ndims == logits.shape.ndims:
            labels = tf.squeeze(labels, axis=[-1])
        w = tf.convert_to_tensor(weights)
        if w.shape.ndims is not None and labels.shape.ndims is not None and w.shape.ndims == labels.shape.ndims + 1:
            weights = tf.squeeze(w, axis=[-1])
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits, name="xentropy")
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction=reduction)


def mean_pairwise_squared_error(labels, predictions, weights=1.0, scope=None, loss_collection=LOSSES):
    raise NotImplementedError("fuseflow does not implement tf.compat.v1.losses.mean_pairwise_squared_error")
