"""Keras 3 logs order: history keys sorted (train keys, then val_ keys), evaluate lists loss first."""
import numpy as np

import fuseflow as tf


def test_history_keys_sorted_and_evaluate_order():
    rng = np.random.RandomState(0)
    x, y = rng.rand(64, 5).astype(np.float32), rng.randint(0, 3, 64)
    model = tf.keras.Sequential([tf.keras.Input((5,)), tf.keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy", "mae"])
    h = model.fit(x, y, epochs=2, batch_size=16, validation_data=(x[:16], y[:16]), verbose=0)
    assert list(h.history) == ["accuracy", "loss", "mae", "val_accuracy", "val_loss", "val_mae"]
    d = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(d) == ["accuracy", "loss", "mae"]
    values = model.evaluate(x, y, verbose=0)
    assert values == [d["loss"], d["accuracy"], d["mae"]]
