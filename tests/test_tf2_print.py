"""tf.print / tf.strings.format text (TF's tensor summaries); tf.print inside tf.function."""
import io

import numpy as np
import pytest

import fuseflow as tf


def _printed(*args, **kwargs):
    buf = io.StringIO()
    tf.print(*args, output_stream=buf, **kwargs)
    return buf.getvalue()


def test_print_formats_like_tf():
    assert _printed(tf.constant([1, 2]), "x", tf.constant(2.5)) == "[1 2] x 2.5\n"
    assert _printed(tf.range(10)) == "[0 1 2 ... 7 8 9]\n"
    assert _printed(tf.range(10), summarize=-1) == "[0 1 2 3 4 5 6 7 8 9]\n"
    assert _printed(tf.reshape(tf.range(6), [2, 3])) == "[[0 1 2]\n [3 4 5]]\n"
    assert _printed(tf.constant([0.1, 2.0])) == "[0.1 2]\n"
    assert _printed(tf.constant(1 / 3)) == "0.333333343\n"
    assert _printed(tf.constant(["a", "b"]), sep="|", end="") == '["a" "b"]'


def test_print_inside_function_prints_on_every_call():
    buf = io.StringIO()

    @tf.function
    def f(x):
        tf.print("x is", x, output_stream=buf)
        y = x * 2.0
        tf.print("sum", tf.reduce_sum(y), output_stream=buf)
        return y

    np.testing.assert_array_equal(f(tf.constant([1.0, 2.0])).numpy(), [2.0, 4.0])
    f(tf.constant([3.0, 4.0]))
    assert buf.getvalue() == "x is [1 2]\nsum 6\nx is [3 4]\nsum 14\n"
    assert f.experimental_get_tracing_count() == 1


def test_print_in_a_tf1_graph_points_to_tf_Print():
    import fuseflow.compat.v1 as v1
    with v1.Graph().as_default():
        with pytest.raises(NotImplementedError, match="tf.Print"):
            tf.print(v1.placeholder(tf.float32))


def test_strings_format_uses_tensor_text():
    out = tf.strings.format("{} and {}", [tf.constant(1), tf.constant("s")])
    assert out.numpy() == b"1 and s"
    assert tf.strings.format("v={}", tf.range(8)).numpy() == b"v=[0 1 2 ... 5 6 7]"
    assert np.asarray(tf.strings.format("{}", tf.constant([[1.5, 2.0]])).numpy()) == b"[[1.5 2]]"


def test_unicode_and_bytes_split_of_scalars():
    chars = tf.strings.unicode_split("你好a", "UTF-8").numpy().tolist()
    assert chars == ["你".encode(), "好".encode(), b"a"]
    assert tf.strings.bytes_split("ab").numpy().tolist() == [b"a", b"b"]
    with pytest.raises(NotImplementedError, match="RaggedTensor"):
        tf.strings.bytes_split(["ab", "c"])
