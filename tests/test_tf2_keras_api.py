"""Keras API surface used by TF2 tutorials: metric naming, predict before compile, confusion-count
metrics, to_categorical dtypes, tf.losses / tf.optimizers / tf.metrics aliases (Keras 3 semantics)."""
import numpy as np
import pytest

import fuseflow as tf

layers = tf.keras.layers


def _dense_model():
    m = tf.keras.Sequential([layers.Dense(1, input_shape=(2,), kernel_initializer="ones")])
    return m


def test_string_metric_keeps_its_name_in_history():
    m = _dense_model()
    m.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x = np.ones((4, 2), np.float32)
    h = m.fit(x, np.zeros((4, 1), np.float32), epochs=1, verbose=0, validation_data=(x, np.zeros((4, 1))))
    assert sorted(h.history) == ["loss", "mae", "val_loss", "val_mae"]
    assert h.history["mae"][0] == pytest.approx(2.0)


def test_predict_before_compile():
    m = _dense_model()
    out = m.predict(np.ones((3, 2), np.float32), verbose=0)
    assert isinstance(out, np.ndarray) and out.tolist() == [[2.0]] * 3


def test_precision_recall_counts():
    p = tf.keras.metrics.Precision()
    p.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    r = tf.keras.metrics.Recall()
    r.update_state([0, 1, 1, 1], [0.9, 0.2, 0.7, 0.6])
    tp = tf.keras.metrics.TruePositives()
    tp.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    assert float(p.result()) == pytest.approx(2 / 3)
    assert float(r.result()) == pytest.approx(2 / 3)
    assert float(tp.result()) == 2.0
    p.reset_state()
    assert float(p.result()) == 0.0
    with pytest.raises(NotImplementedError, match="AUC"):
        tf.keras.metrics.AUC()


def test_to_categorical_dtypes():
    y = tf.keras.utils.to_categorical([0, 2, 1], num_classes=3)
    assert y.dtype == np.float64 and y.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    t = tf.keras.utils.to_categorical(tf.constant([1, 0]), 2)
    assert tf.is_tensor(t) and t.dtype == tf.float32 and t.numpy().tolist() == [[0, 1], [1, 0]]


def test_top_level_keras_aliases():
    assert tf.losses.MSE(tf.constant([1.0]), tf.constant([3.0])).numpy() == pytest.approx(4.0)
    assert isinstance(tf.optimizers.Adam(), tf.keras.optimizers.Adam)
    m = tf.metrics.Mean()
    m.update_state([1.0, 3.0])
    assert float(m.result()) == 2.0
    assert tf.initializers.Ones()((2,)).numpy().tolist() == [1.0, 1.0]
