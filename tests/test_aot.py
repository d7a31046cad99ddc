"""AOT export: a function with variables becomes an artifact that runs on the runtime alone."""
import os
import subprocess
import sys

import numpy as np

import fuseflow as tf


def test_exported_model_runs_in_a_runtime_only_process(tmp_path):
    rng = np.random.default_rng(0)
    w = tf.Variable(rng.standard_normal((6, 3)).astype(np.float32))
    b = tf.Variable(rng.standard_normal(3).astype(np.float32))

    @tf.function
    def predict(x):
        return tf.nn.softmax(tf.matmul(x, w) + b)

    path = str(tmp_path / "model.ffa")
    tf.aot.export(predict, tf.TensorSpec([None, 6], tf.float32), path=path)
    x = rng.standard_normal((5, 6)).astype(np.float32)
    want = predict(x).numpy()
    np.save(tmp_path / "x.npy", x)
    code = (
        "import sys, numpy as np\n"
        "from fuseflow import runtime\n"
        f"exe = runtime.load({path!r})\n"
        f"(y,) = exe(np.load({str(tmp_path / 'x.npy')!r}))\n"
        f"np.save({str(tmp_path / 'y.npy')!r}, y)\n"
        "bad = [m for m in sys.modules if m.startswith('fuseflow.compiler') or m.split('.')[0] == 'networkx']\n"
        "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(tmp_path))
    got = np.load(tmp_path / "y.npy")
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_exported_values_are_frozen_at_export_time(tmp_path):
    from fuseflow import runtime
    v = tf.Variable(np.float32(2.0))
    f = tf.function(lambda x: x * v)
    path = str(tmp_path / "scale.ffa")
    tf.aot.export(f, tf.TensorSpec([3], tf.float32), path=path)
    v.assign(5.0)
    (y,) = runtime.load(path)(np.ones(3, np.float32))
    np.testing.assert_array_equal(y, [2, 2, 2])
