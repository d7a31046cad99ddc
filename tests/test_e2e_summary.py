"""model.summary() numbers use Keras 3's thousands separators."""
import fuseflow as tf


def test_summary_groups_thousands():
    model = tf.keras.Sequential([tf.keras.Input((784,)), tf.keras.layers.Dense(100), tf.keras.layers.Dense(10)])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "78,500" in text and "1,010" in text
    assert "Total params: 79,510 (310.59 KB)" in text


def test_summary_after_fit_without_input_shows_first_batch_shape():
    import numpy as np
    model = tf.keras.Sequential([tf.keras.layers.Embedding(50, 4), tf.keras.layers.GlobalAveragePooling1D(),
                                 tf.keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.zeros((32, 7), np.int64), np.zeros((32, 1), np.float32), batch_size=16, epochs=1, verbose=0)
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "(16, 7, 4)" in text and "(16, 1)" in text
