"""tf.compat.v1.losses (weights, reductions, collections, names) and tf.compat.v1.metrics
(streaming accumulators in local variables) against numpy transcriptions of TF's formulas."""
import numpy as np
import pytest

import fuseflow.compat.v1 as tf

RS = np.random.RandomState(0)
Y = RS.rand(4, 3).astype(np.float32)
P = RS.rand(4, 3).astype(np.float32)
W = np.array([[1.0], [0.0], [2.0], [1.0]], np.float32)
LOGITS = (RS.randn(4, 3) * 2).astype(np.float32)
CLASSES = np.array([0, 2, 1, 2])
ONEHOT = np.eye(3, dtype=np.float32)[CLASSES]


def log_softmax(z):
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def run(build):
    g = tf.Graph()
    with g.as_default():
        out = build()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            return sess.run(out)


def test_regression_losses_and_reductions():
    R = tf.losses.Reduction
    sq = (P - Y) ** 2

    def build():
        return [tf.losses.mean_squared_error(Y, P),
                tf.losses.mean_squared_error(Y, P, weights=W),
                tf.losses.mean_squared_error(Y, P, weights=W, reduction=R.SUM),
                tf.losses.mean_squared_error(Y, P, weights=W, reduction=R.MEAN),
                tf.losses.mean_squared_error(Y, P, weights=W, reduction=R.SUM_OVER_BATCH_SIZE),
                tf.losses.mean_squared_error(Y, P, reduction=R.NONE),
                tf.losses.absolute_difference(Y, P),
                tf.losses.huber_loss(Y, 3 * P, delta=0.5)]
    got = run(build)
    e = np.abs(3 * P - Y)
    q = np.minimum(e, 0.5)
    want = [sq.mean(), (sq * W).sum() / 9, (sq * W).sum(), (sq * W).sum() / (W.sum() * 3), (sq * W).sum() / 12,
            sq, np.abs(P - Y).mean(), (0.5 * q * q + 0.5 * (e - q)).mean()]
    for g_, w_ in zip(got, want):
        np.testing.assert_allclose(g_, w_, rtol=1e-5, atol=1e-6)


def test_classification_losses():
    labels01 = (Y > 0.5).astype(np.float32)

    def build():
        return [tf.losses.softmax_cross_entropy(ONEHOT, LOGITS),
                tf.losses.softmax_cross_entropy(ONEHOT, LOGITS, label_smoothing=0.1),
                tf.losses.sparse_softmax_cross_entropy(CLASSES, LOGITS),
                tf.losses.sparse_softmax_cross_entropy(CLASSES.reshape(4, 1), LOGITS),
                tf.losses.sigmoid_cross_entropy(labels01, LOGITS),
                tf.losses.hinge_loss(labels01, LOGITS),
                tf.losses.log_loss(labels01, P)]
    got = run(build)
    xent = -(ONEHOT * log_softmax(LOGITS)).sum(1).mean()
    smooth = ONEHOT * 0.9 + 0.1 / 3
    x = LOGITS
    sig = (np.maximum(x, 0) - x * labels01 + np.log1p(np.exp(-np.abs(x)))).mean()
    hinge = np.maximum(0, 1 - (2 * labels01 - 1) * x).mean()
    logl = (-labels01 * np.log(P + 1e-7) - (1 - labels01) * np.log(1 - P + 1e-7)).mean()
    want = [xent, -(smooth * log_softmax(LOGITS)).sum(1).mean(), xent, xent, sig, hinge, logl]
    for g_, w_ in zip(got, want):
        np.testing.assert_allclose(g_, w_, rtol=1e-5, atol=1e-6)


def test_names_dtype_and_collections():
    g = tf.Graph()
    with g.as_default():
        a = tf.losses.mean_squared_error(Y, P)
        b = tf.losses.mean_squared_error(Y.astype(np.float64), P.astype(np.float64))
        c = tf.losses.absolute_difference(Y, P, reduction=tf.losses.Reduction.SUM)
        tf.losses.mean_squared_error(Y, P, loss_collection=None)
        assert a.name == "mean_squared_error/value:0"
        assert b.name == "mean_squared_error_1/value:0"
        assert c.name == "absolute_difference/Sum:0"
        assert b.dtype == tf.float32          # TF1's regression losses compute in float32
        assert tf.losses.get_losses() == [a, b, c]
        v = tf.get_variable("v", initializer=tf.constant([1.0, 2.0]),
                            regularizer=lambda t: 0.5 * tf.reduce_sum(t * t))
        del v
        total = tf.losses.get_total_loss()
        reg = tf.losses.get_regularization_loss()
        assert total.name == "total_loss:0" and reg.name == "total_regularization_loss:0"
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            t, r, av, cv = sess.run([total, reg, a, c])
    assert r == pytest.approx(2.5)
    assert t == pytest.approx(2 * av + cv + 2.5, rel=1e-6)


def test_weights_must_broadcast():
    with tf.Graph().as_default():
        with pytest.raises(ValueError):
            tf.losses.mean_squared_error(Y, P, weights=np.ones((4, 2), np.float32))


def test_streaming_metrics():
    g = tf.Graph()
    with g.as_default():
        lab = tf.placeholder(tf.int64, [None])
        pred = tf.placeholder(tf.int64, [None])
        acc, acc_op = tf.metrics.accuracy(labels=lab, predictions=pred)
        prec, prec_op = tf.metrics.precision(lab, pred)
        rec, rec_op = tf.metrics.recall(lab, pred)
        mse, mse_op = tf.metrics.mean_squared_error(tf.cast(lab, tf.float32), tf.cast(pred, tf.float32))
        wmean, wmean_op = tf.metrics.mean(tf.cast(pred, tf.float32), weights=tf.cast(lab, tf.float32) + 1)
        assert acc.name == "accuracy/value:0" and acc_op.name == "accuracy/update_op:0"
        assert [v.name for v in tf.local_variables()][:2] == ["accuracy/total:0", "accuracy/count:0"]
        assert tf.trainable_variables() == [] and tf.global_variables() == []
        with tf.Session() as sess:
            sess.run(tf.local_variables_initializer())
            assert sess.run(acc) == 0.0
            first = sess.run([acc_op, prec_op, rec_op, mse_op, wmean_op],
                             {lab: [1, 0, 1, 1], pred: [1, 1, 0, 1]})
            sess.run([acc_op, prec_op, rec_op], {lab: [0, 0], pred: [0, 0]})
            final = sess.run([acc, prec, rec, mse, wmean])
            sess.run(tf.local_variables_initializer())
            reset = sess.run(acc)
    np.testing.assert_allclose(first, [0.5, 2 / 3, 2 / 3, 0.5, 5 / 7], rtol=1e-6)
    np.testing.assert_allclose(final, [4 / 6, 2 / 3, 2 / 3, 0.5, 5 / 7], rtol=1e-6)
    assert reset == 0.0


def test_metrics_refuse_eager_mode():
    import fuseflow.compat.v1 as v1
    if v1.executing_eagerly():
        with pytest.raises(RuntimeError, match="tf.metrics.mean_squared_error is not supported"):
            v1.metrics.mean_squared_error([1.0], [1.0])
    with tf.Graph().as_default():
        value, update = tf.metrics.mean_squared_error([1.0], [3.0])
        assert value.name == "mean_squared_error/value:0"


def test_auc_and_mean_per_class_accuracy():
    rs = np.random.RandomState(0)
    y = rs.rand(200) > 0.5
    p = np.clip(y * 0.3 + rs.rand(200) * 0.7, 0, 1).astype(np.float32)
    eps = 1e-7
    th = np.array([-eps] + [(i + 1) / 199 for i in range(198)] + [1 + eps], np.float32)
    above = p[:, None] > th[None]
    tp, fn = (above & y[:, None]).sum(0), (~above & y[:, None]).sum(0)
    tn, fp = (~above & ~y[:, None]).sum(0), (above & ~y[:, None]).sum(0)
    rec, fpr, prec = (tp + eps) / (tp + fn + eps), fp / (fp + tn + eps), (tp + eps) / (tp + fp + eps)
    roc = np.sum((fpr[:-1] - fpr[1:]) * (rec[:-1] + rec[1:]) / 2)
    pr_ = np.sum((rec[:-1] - rec[1:]) * (prec[:-1] + prec[1:]) / 2)
    with tf.Graph().as_default():
        auc, auc_op = tf.metrics.auc(y, p)
        pr, pr_op = tf.metrics.auc(y, p, curve="PR")
        mpca, mpca_op = tf.metrics.mean_per_class_accuracy([0, 1, 2, 2], [0, 2, 2, 1], 3)
        with tf.Session() as sess:
            sess.run(tf.local_variables_initializer())
            per_class = sess.run([auc_op, pr_op, mpca_op])[2]
            got = sess.run([auc, pr, mpca])
    np.testing.assert_allclose(got[:2], [roc, pr_], rtol=1e-5)
    np.testing.assert_allclose(per_class, [1.0, 0.0, 0.5])
    assert got[2] == pytest.approx(0.5)
