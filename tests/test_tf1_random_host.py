"""tf.random_gamma / tf.random_poisson (host samplers): shapes, moments, per-session
reproducibility of seeded ops; tf.random_crop alias."""
import numpy as np

import fuseflow.compat.v1 as tf


def test_gamma_poisson_properties():
    with tf.Graph().as_default():
        tf.set_random_seed(5)
        g = tf.random_gamma([20000], alpha=[2.0, 5.0], beta=2.0)
        p = tf.random_poisson([3.0, 10.0], [20000])
        seeded = tf.random.gamma([3], 1.0, seed=3)
        crop = tf.random_crop(np.arange(16).reshape(4, 4), [2, 2])
        assert g.shape.as_list() == [20000, 2] and p.shape.as_list() == [20000, 2]
        with tf.Session() as sess:
            a, b = sess.run([g, p])
            first, second = sess.run(seeded), sess.run(seeded)
            c = sess.run(crop)
        with tf.Session() as sess:
            again = sess.run(seeded)
    np.testing.assert_allclose(a.mean(0), [1.0, 2.5], rtol=0.05)
    np.testing.assert_allclose(a.var(0), [0.5, 1.25], rtol=0.1)
    assert (a > 0).all() and a.dtype == np.float32
    np.testing.assert_allclose(b.mean(0), [3.0, 10.0], rtol=0.05)
    assert (b == np.round(b)).all()
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, again)
    assert c.shape == (2, 2) and c[1, 0] == c[0, 0] + 4
