"""tf.function returns Python numbers as tensors, on the compiled and on the op-by-op path."""
import warnings

import fuseflow as tf


def test_python_number_outputs_become_tensors():
    @tf.function
    def one():
        return 1, 2.5

    a, b = one()
    assert repr(a) == repr(tf.constant(1)) and b.dtype == tf.float32

    @tf.function
    def square_if_positive(x):        # the handbook's AutoGraph example (op-by-op here)
        if x > 0:
            x = x * x
        else:
            x = 0
        return x

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r1, r2 = square_if_positive(tf.constant(3)), square_if_positive(tf.constant(-1))
        r3 = square_if_positive(tf.constant(-2))          # the repeated-call path
    assert str(r1) == "tf.Tensor(9, shape=(), dtype=int32)"
    assert str(r2) == "tf.Tensor(0, shape=(), dtype=int32)" and str(r3) == str(r2)
