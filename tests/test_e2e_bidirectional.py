"""Bidirectional RNN: backward layer keeps the forward configuration; masked steps are zeros."""
import numpy as np

import fuseflow as tf


def test_bidirectional_backward_config_and_masked_zeros():
    b = tf.keras.layers.Bidirectional(tf.keras.layers.GRU(3, activation="relu", dropout=0.1))
    assert b.backward_layer.go_backwards and b.backward_layer.cell.dropout == 0.1
    assert b.backward_layer.cell.activation is b.forward_layer.cell.activation
    assert b(np.ones((2, 4, 5), np.float32)).shape == (2, 6)
    m = tf.keras.Sequential([tf.keras.layers.Embedding(20, 4, mask_zero=True),
                             tf.keras.layers.Bidirectional(tf.keras.layers.LSTM(2, return_sequences=True))])
    out = m(np.array([[5, 6, 0]])).numpy()
    assert np.all(out[0, 2] == 0) and np.all(out[0, :2] != 0)
    # a plain LSTM keeps carrying its last output over masked steps
    plain = tf.keras.Sequential([tf.keras.layers.Embedding(20, 4, mask_zero=True),
                                 tf.keras.layers.LSTM(2, return_sequences=True)])
    o = plain(np.array([[5, 6, 0]])).numpy()
    np.testing.assert_array_equal(o[0, 2], o[0, 1])


def test_embedding_compute_mask():
    e = tf.keras.layers.Embedding(10, 2, mask_zero=True)
    assert e.compute_mask(np.array([[5, 0]])).numpy().tolist() == [[True, False]]
    assert tf.keras.layers.Embedding(10, 2).compute_mask(np.array([[5, 0]])) is None


def test_binary_op_on_numpy_and_python_operands_takes_the_first_dtype():
    assert tf.not_equal(np.array([5, 0]), 0).numpy().tolist() == [True, False]
    r = tf.add(np.array([5.0, 0.0]), 1)
    assert r.dtype == tf.float64 and r.numpy().tolist() == [6.0, 1.0]
    assert tf.add(2.0, 3).dtype == tf.float32
