"""Keras functional models passing symbolic tensors as keyword arguments: the seq2seq
encoder-decoder's `decoder_lstm(decoder_inputs, initial_state=encoder_states)`."""
import numpy as np

import fuseflow as tf


def test_lstm_initial_state_from_model_inputs():
    inp = tf.keras.Input((5, 3))
    h0, c0 = tf.keras.Input((4,)), tf.keras.Input((4,))
    lstm = tf.keras.layers.LSTM(4)
    model = tf.keras.Model([inp, h0, c0], lstm(inp, initial_state=[h0, c0]))
    rs = np.random.RandomState(0)
    x = rs.randn(2, 5, 3).astype(np.float32)
    h, c = rs.randn(2, 4).astype(np.float32), rs.randn(2, 4).astype(np.float32)
    got = model.predict([x, h, c], verbose=0)
    want = lstm(tf.constant(x), initial_state=[tf.constant(h), tf.constant(c)]).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    zero = model.predict([x, np.zeros_like(h), np.zeros_like(c)], verbose=0)
    assert not np.allclose(got, zero)                    # the states are really used


def test_encoder_decoder_trains():
    enc_in, dec_in = tf.keras.Input((6, 3)), tf.keras.Input((4, 3))
    _, state_h, state_c = tf.keras.layers.LSTM(8, return_state=True)(enc_in)
    dec_seq = tf.keras.layers.LSTM(8, return_sequences=True)(dec_in, initial_state=[state_h, state_c])
    out = tf.keras.layers.Dense(3, activation="softmax")(dec_seq)
    model = tf.keras.Model([enc_in, dec_in], out)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    rs = np.random.RandomState(1)
    a, b = rs.rand(16, 6, 3).astype(np.float32), rs.rand(16, 4, 3).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rs.randint(0, 3, (16, 4))]
    history = model.fit([a, b], y, epochs=3, batch_size=8, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 3 and np.all(np.isfinite(losses)) and losses[-1] < losses[0]
