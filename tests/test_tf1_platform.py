"""TF1 scaffolding: tf.logging, tf.flags / tf.app.flags + tf.app.run, and the Keras-2-backed
namespaces (tf.layers, tf.nn.rnn_cell) that TF 2.21 with Keras 3 refuses by AttributeError."""
import pytest

import fuseflow.compat.v1 as tf
from fuseflow.compat import platform_v1


def test_logging_levels(caplog):
    assert (tf.logging.DEBUG, tf.logging.INFO, tf.logging.WARN, tf.logging.ERROR) == (10, 20, 30, 40)
    old = tf.logging.get_verbosity()
    try:
        tf.logging.set_verbosity(tf.logging.INFO)
        assert tf.logging.get_verbosity() == tf.logging.INFO
        tf.logging.info("step %d", 3)
        tf.logging.log_every_n(tf.logging.INFO, "every", 2)
    finally:
        tf.logging.set_verbosity(old)


def test_flags_and_app_run():
    fv = platform_v1.FlagValues()
    platform_v1.DEFINE_integer("steps", 5, "n", flag_values=fv)
    platform_v1.DEFINE_boolean("fast", True, "b", flag_values=fv)
    platform_v1.DEFINE_float("lr", 0.1, "f", flag_values=fv)
    rest = fv(["prog", "--steps=7", "--nofast", "--lr", "0.5", "extra"])
    assert rest == ["prog", "extra"]
    assert (fv.steps, fv.fast, fv.lr) == (7, False, 0.5)
    with pytest.raises(platform_v1.Error):
        platform_v1.DEFINE_integer("steps", 1, "again", flag_values=fv)
    seen = []
    with pytest.raises(SystemExit) as info:
        tf.app.run(lambda argv: seen.append(argv) or 3, argv=["prog", "x"])
    assert info.value.code == 3 and seen == [["prog", "x"]]


def test_keras_backed_namespaces_raise_attribute_error():
    with pytest.raises(AttributeError, match="not available with Keras 3"):
        tf.layers.dense
    with pytest.raises(AttributeError, match="not available with Keras 3"):
        tf.nn.rnn_cell.BasicLSTMCell
    assert not hasattr(tf, "contrib")
