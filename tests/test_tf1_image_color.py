"""tf.compat.v1.image colour ops (HSV conversions, adjust_saturation/hue) against Python's
colorsys, which uses the same hexcone model as TF's kernels; plus the TF1 aliases."""
import colorsys

import numpy as np
import pytest

import fuseflow.compat.v1 as tf

RS = np.random.RandomState(0)
IM = RS.rand(2, 3, 4, 3).astype(np.float32)
IM[0, 0, 0] = [0.5, 0.5, 0.5]     # grey: hue and saturation 0
IM[0, 0, 1] = [0.0, 0.0, 0.0]     # black: value 0
IM[0, 0, 2] = [1.0, 0.0, 0.0]     # pure red


def ref_hsv(a):
    return np.apply_along_axis(lambda p: colorsys.rgb_to_hsv(*p), -1, a.astype(np.float64))


def ref_rgb(a):
    return np.apply_along_axis(lambda p: colorsys.hsv_to_rgb(*p), -1, a)


def ref_saturation(a, f):
    h = ref_hsv(a)
    h[..., 1] = np.clip(h[..., 1] * f, 0, 1)
    return ref_rgb(h)


def ref_hue(a, d):
    h = ref_hsv(a)
    h[..., 0] = np.mod(h[..., 0] + d, 1.0)
    return ref_rgb(h)


def test_hsv_and_adjustments():
    with tf.Graph().as_default(), tf.Session() as sess:
        got = sess.run([tf.image.rgb_to_hsv(IM), tf.image.hsv_to_rgb(ref_hsv(IM).astype(np.float32)),
                        tf.image.adjust_saturation(IM, 0.3), tf.image.adjust_saturation(IM, 2.5),
                        tf.image.adjust_hue(IM, 0.2), tf.image.adjust_hue(IM, -0.7)])
    want = [ref_hsv(IM), IM, ref_saturation(IM, 0.3), ref_saturation(IM, 2.5), ref_hue(IM, 0.2), ref_hue(IM, -0.7)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=2e-6)


def test_uint8_aliases_and_random_variants():
    u8 = (IM * 255).astype(np.uint8)
    with tf.Graph().as_default(), tf.Session() as sess:
        sat, gray3, tr, rh, rs_ = sess.run([
            tf.image.adjust_saturation(tf.constant(u8), 0.0), tf.image.grayscale_to_rgb(IM[..., :1]),
            tf.image.transpose_image(IM[0]), tf.image.random_hue(IM, 0.1), tf.image.random_saturation(IM, 0.5, 1.5)])
    assert sat.dtype == np.uint8
    assert (np.ptp(sat.astype(int), axis=-1) <= 1).all()          # saturation 0: grey pixels
    np.testing.assert_array_equal(gray3, np.repeat(IM[..., :1], 3, axis=-1))
    np.testing.assert_array_equal(tr, IM[0].transpose(1, 0, 2))
    assert rh.shape == IM.shape and rs_.shape == IM.shape
    with pytest.raises(ValueError):
        tf.image.random_hue(IM, 0.7)
    with pytest.raises(NotImplementedError, match="decode_jpeg"):
        tf.image.decode_jpeg(b"")


def test_draw_bounding_boxes():
    with tf.Graph().as_default(), tf.Session() as sess:
        small = sess.run(tf.image.draw_bounding_boxes(
            tf.zeros([1, 3, 3, 3]), np.array([0, 0, 1, 1.0]).reshape(1, 1, 4),
            colors=np.array([[1.0, 0, 0], [0, 0, 1.0]])))
        big = sess.run(tf.image.draw_bounding_boxes(
            np.zeros((1, 10, 12, 3), np.float32), tf.constant([[[0.05, 0.05, 0.9, 0.7], [0.35, 0.47, 0.5, 0.56]]])))
    assert small[0, ..., 0].tolist() == [[1, 1, 1], [1, 0, 1], [1, 1, 1]] and small[..., 1:].max() == 0
    yellow = (big[0] == [1, 1, 0]).all(-1)
    assert yellow[0, :8].all() and yellow[8, :8].all() and yellow[:9, 0].all() and yellow[:9, 7].all()
    assert yellow.sum() == 2 * 8 + 2 * 7
    blue = (big[0] == [0, 0, 1]).all(-1)
    assert np.argwhere(blue).tolist() == [[3, 5], [3, 6], [4, 5], [4, 6]]
