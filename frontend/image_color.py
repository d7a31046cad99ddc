"""HSV colour-space image ops: rgb_to_hsv, hsv_to_rgb, adjust_saturation, adjust_hue and their
random_* variants, written as element-wise tensor ops with the formulas of TF's CPU kernels
(colorspace_op.h, adjust_saturation_op.cc, adjust_hue_op.cc). Images are float in [0, 1]
(other dtypes are converted with convert_image_dtype and back, as TF does)."""
from __future__ import annotations


def _tf():
    import fuseflow.compat.v1 as tf
    return tf


def _channels(x, op):
    tf = _tf()
    last = x.shape.as_list()[-1] if x.shape.ndims else None
    if last is not None and last != 3:
        raise ValueError(f"{op}: the last dimension of the image must be 3 (RGB), got shape {x.shape}")
    return tf.unstack(x, num=3, axis=-1)


def _to_hsv(r, g, b):
    """Hue, saturation, value as TF's RGBToHSV computes them."""
    tf = _tf()
    v = tf.maximum(tf.maximum(r, g), b)
    rng = v - tf.minimum(tf.minimum(r, g), b)
    zero = tf.zeros_like(v)
    safe_v = tf.where(v > 0, v, tf.ones_like(v))
    s = tf.where(v > 0, rng / safe_v, zero)
    safe_rng = tf.where(rng > 0, rng, tf.ones_like(rng))
    norm = (1.0 / safe_rng) * (1.0 / 6.0)
    h = tf.where(tf.equal(r, v), norm * (g - b),
                 tf.where(tf.equal(g, v), norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0))
    h = tf.where(rng > 0, h, zero)
    h = tf.where(h < 0, h + 1.0, h)
    return h, s, v


def _to_rgb(h, s, v):
    """TF's HSVToRGB: piecewise-linear hue ramps scaled by saturation and value."""
    tf = _tf()
    dh = h * 6.0
    dr = tf.clip_by_value(tf.abs(dh - 3.0) - 1.0, 0.0, 1.0)
    dg = tf.clip_by_value(-tf.abs(dh - 2.0) + 2.0, 0.0, 1.0)
    db = tf.clip_by_value(-tf.abs(dh - 4.0) + 2.0, 0.0, 1.0)
    one_s = -s + 1.0
    return (one_s + s * dr) * v, (one_s + s * dg) * v, (one_s + s * db) * v


def rgb_to_hsv(images, name=None):
    tf = _tf()
    with tf.name_scope(name, "rgb_to_hsv", [images]):
        x = tf.convert_to_tensor(images)
        if not x.dtype.is_floating:
            raise TypeError(f"rgb_to_hsv: images must be float, got {x.dtype.name}")
        return tf.stack(_to_hsv(*_channels(x, "rgb_to_hsv")), axis=-1)


def hsv_to_rgb(images, name=None):
    tf = _tf()
    with tf.name_scope(name, "hsv_to_rgb", [images]):
        x = tf.convert_to_tensor(images)
        if not x.dtype.is_floating:
            raise TypeError(f"hsv_to_rgb: images must be float, got {x.dtype.name}")
        return tf.stack(_to_rgb(*_channels(x, "hsv_to_rgb")), axis=-1)


def _in_float(image, op, fn):
    """Apply `fn` to the image as float32 in [0, 1] and convert back to the input dtype."""
    tf = _tf()
    x = tf.convert_to_tensor(image)
    orig = x.dtype
    flt = tf.image.convert_image_dtype(x, tf.float32)
    h, s, v = _to_hsv(*_channels(flt, op))
    out = tf.stack(_to_rgb(*fn(h, s, v)), axis=-1)
    return tf.image.convert_image_dtype(out, orig, saturate=True) if orig != tf.float32 else out


def adjust_saturation(image, saturation_factor, name=None):
    """Saturation scaled by `saturation_factor` and clipped to [0, 1]."""
    tf = _tf()
    with tf.name_scope(name, "adjust_saturation", [image]):
        def scale(h, s, v):
            return h, tf.clip_by_value(s * tf.cast(saturation_factor, tf.float32), 0.0, 1.0), v
        return _in_float(image, "adjust_saturation", scale)


def adjust_hue(image, delta, name=None):
    """Hue rotated by `delta` (in [-1, 1]) modulo 1."""
    tf = _tf()
    if isinstance(delta, (int, float)) and not -1.0 <= delta <= 1.0:
        raise ValueError("delta must be in the interval [-1, 1]")
    with tf.name_scope(name, "adjust_hue", [image]):
        def rotate(h, s, v):
            shifted = tf.floormod(h + tf.cast(delta, tf.float32), 1.0)
            return shifted, s, v
        return _in_float(image, "adjust_hue", rotate)


def random_saturation(image, lower, upper, seed=None):
    if upper <= lower:
        raise ValueError("upper must be > lower.")
    if lower < 0:
        raise ValueError("lower must be non-negative.")
    tf = _tf()
    factor = tf.random_uniform([], lower, upper, seed=seed)
    return adjust_saturation(image, factor)


def random_hue(image, max_delta, seed=None):
    if max_delta > 0.5:
        raise ValueError("max_delta must be <= 0.5.")
    if max_delta < 0:
        raise ValueError("max_delta must be non-negative.")
    tf = _tf()
    delta = tf.random_uniform([], -max_delta, max_delta, seed=seed)
    return adjust_hue(image, delta)


def _unsupported(name, why):
    def fn(*args, **kwargs):
        raise NotImplementedError(f"tf.image.{name} is not supported by fuseflow ({why})")
    fn.__name__ = name
    return fn


draw_bounding_boxes = _unsupported("draw_bounding_boxes", "no box-drawing kernel")
sample_distorted_bounding_box = _unsupported("sample_distorted_bounding_box", "no random box sampler")
decode_jpeg = _unsupported("decode_jpeg", "no image codecs; feed decoded arrays")
encode_jpeg = _unsupported("encode_jpeg", "no image codecs")
decode_png = _unsupported("decode_png", "no image codecs; feed decoded arrays")
encode_png = _unsupported("encode_png", "no image codecs")
decode_image = _unsupported("decode_image", "no image codecs; feed decoded arrays")
decode_gif = _unsupported("decode_gif", "no image codecs; feed decoded arrays")
decode_bmp = _unsupported("decode_bmp", "no image codecs; feed decoded arrays")
