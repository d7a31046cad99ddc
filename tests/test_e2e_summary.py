"""model.summary() numbers use Keras 3's thousands separators."""
import fuseflow as tf


def test_summary_groups_thousands():
    model = tf.keras.Sequential([tf.keras.Input((784,)), tf.keras.layers.Dense(100), tf.keras.layers.Dense(10)])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "78,500" in text and "1,010" in text
    assert "Total params: 79,510 (310.59 KB)" in text
