"""tf.image.resize bicubic (ResizeBicubic with half-pixel centers: Keys a=-0.5, taps outside the
image dropped and renormalized) and area (overlap-weighted averages), against direct numpy code."""
import numpy as np
import pytest

import fuseflow as tf


def _keys(d, a=-0.5):
    d = abs(d)
    if d <= 1:
        return ((a + 2) * d - (a + 3)) * d * d + 1
    if d < 2:
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return 0.0


def _bicubic_1d(v, out):
    n = len(v)
    scale = n / out
    res = []
    for o in range(out):
        pos = (o + 0.5) * scale - 0.5
        loc = int(np.floor(pos))
        delta = round((pos - loc) * 1024) / 1024       # TF reads the kernel from a 1024-entry table
        taps = [(loc - 1 + k, _keys(delta + 1 - k)) for k in range(4)]
        taps = [(i, t) for i, t in taps if 0 <= i < n]
        total = sum(t for _, t in taps)
        res.append(sum(v[i] * t for i, t in taps) / total)
    return np.array(res)


def _bicubic_ref(img, oh, ow):
    rows = np.stack([_bicubic_1d(img[:, j], oh) for j in range(img.shape[1])], axis=1)
    return np.stack([_bicubic_1d(rows[i], ow) for i in range(oh)], axis=0)


@pytest.mark.parametrize("shape, out", [((4, 6), (8, 12)), ((4, 6), (3, 4)), ((5, 3), (7, 2))])
def test_bicubic_matches_reference(shape, out):
    img = np.random.RandomState(0).uniform(-1, 1, shape).astype(np.float32)
    got = tf.image.resize(img[:, :, None], list(out), method="bicubic")
    assert got.dtype == tf.float32 and got.shape.as_list() == [out[0], out[1], 1]
    np.testing.assert_allclose(got.numpy()[:, :, 0], _bicubic_ref(img.astype(np.float64), *out), atol=2e-5)


def test_bicubic_keeps_constants_and_interior_ramps():
    ones = tf.image.resize(tf.ones([5, 5, 1]), [3, 7], method=tf.image.ResizeMethod.BICUBIC)
    np.testing.assert_allclose(ones.numpy(), 1.0, rtol=1e-6)
    ramp = tf.image.resize(tf.reshape(tf.range(8.0), [1, 8, 1]) * tf.ones([4, 1, 1]), [4, 16], method="bicubic")
    np.testing.assert_allclose(ramp.numpy()[0, 4:12, 0], (np.arange(4, 12) + 0.5) * 0.5 - 0.5, atol=1e-5)


def test_area_resize():
    img = tf.reshape(tf.range(24.0), [4, 6, 1])
    pooled = tf.nn.avg_pool2d(img[None], 2, 2, "VALID")[0]
    np.testing.assert_allclose(tf.image.resize(img, [2, 3], method="area").numpy(), pooled.numpy())
    # 3 -> 2: output 0 covers [0, 1.5): cell 0 fully, cell 1 half
    v = tf.image.resize(tf.constant([[[0.0], [3.0], [6.0]]]), [1, 2], method="area")
    np.testing.assert_allclose(v.numpy()[0, :, 0], [(0 + 1.5) / 1.5, (1.5 + 6) / 1.5], rtol=1e-6)
