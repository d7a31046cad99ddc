"""HSV colour-space image ops: rgb_to_hsv, hsv_to_rgb, adjust_saturation, adjust_hue and their
random_* variants, written as element-wise tensor ops with the formulas of TF's CPU kernels
(colorspace_op.h, adjust_saturation_op.cc, adjust_hue_op.cc). Images are float in [0, 1]
(other dtypes are converted with convert_image_dtype and back, as TF does)."""
from __future__ import annotations

import numpy as np


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


sample_distorted_bounding_box = _unsupported("sample_distorted_bounding_box", "no random box sampler")
decode_jpeg = _unsupported("decode_jpeg", "no image codecs; feed decoded arrays")
encode_jpeg = _unsupported("encode_jpeg", "no image codecs")
decode_png = _unsupported("decode_png", "no image codecs; feed decoded arrays")
encode_png = _unsupported("encode_png", "no image codecs")
decode_image = _unsupported("decode_image", "no image codecs; feed decoded arrays")
decode_gif = _unsupported("decode_gif", "no image codecs; feed decoded arrays")
decode_bmp = _unsupported("decode_bmp", "no image codecs; feed decoded arrays")


# RGBA colours TF cycles through when no `colors` are given (yellow, blue, red, lime, purple,
# olive, maroon, navy, aqua, fuchsia); grey images use 1 in their only channel.
_BOX_COLORS = np.array([[1, 1, 0, 1], [0, 0, 1, 1], [1, 0, 0, 1], [0, 1, 0, 1], [0.5, 0, 0.5, 1],
                        [0.5, 0.5, 0, 1], [0.5, 0, 0, 1], [0, 0, 0.5, 1], [0, 1, 1, 1], [1, 0, 1, 1]], np.float32)


def _draw_boxes_np(images, boxes, colors):
    """One-pixel box outlines drawn like TF's DrawBoundingBoxes kernel: corners at
    trunc(coord * (size - 1)), edges outside the image skipped, inverted boxes ignored."""
    out = np.array(images, copy=True)
    batch, height, width, depth = out.shape
    if colors is None or np.size(colors) == 0:
        table = _BOX_COLORS[:, :depth].copy()
        if depth == 1:
            table[:, 0] = 1
    else:
        table = np.asarray(colors, np.float32)[:, :depth]
    for b in range(batch):
        for k, box in enumerate(np.asarray(boxes, np.float32)[b]):
            color = table[k % len(table)].astype(out.dtype)
            r0, c0, r1, c1 = (int(np.float32(box[0]) * np.float32(height - 1)),
                              int(np.float32(box[1]) * np.float32(width - 1)),
                              int(np.float32(box[2]) * np.float32(height - 1)),
                              int(np.float32(box[3]) * np.float32(width - 1)))
            if r0 > r1 or c0 > c1 or r0 >= height or r1 < 0 or c0 >= width or c1 < 0:
                continue
            rr0, rr1, cc0, cc1 = max(r0, 0), min(r1, height - 1), max(c0, 0), min(c1, width - 1)
            if r0 >= 0:
                out[b, r0, cc0:cc1 + 1] = color
            if r1 < height:
                out[b, r1, cc0:cc1 + 1] = color
            if c0 >= 0:
                out[b, rr0:rr1 + 1, c0] = color
            if c1 < width:
                out[b, rr0:rr1 + 1, c1] = color
    return out


def draw_bounding_boxes(images, boxes, name=None, colors=None):
    """Outlines of `boxes` ([batch, n, 4] of y_min, x_min, y_max, x_max in [0, 1]) drawn on
    float `images` [batch, height, width, 1|3|4] (drawn on the host)."""
    tf = _tf()
    with tf.name_scope(name, "DrawBoundingBoxes", [images, boxes]):
        x = tf.convert_to_tensor(images)
        if x.dtype not in (tf.float32, tf.float16):
            raise TypeError(f"draw_bounding_boxes: images must be float32 or half, got {x.dtype.name}")
        if x.shape.ndims is not None and x.shape.ndims != 4:
            raise ValueError("The rank of the images should be 4")
        depth = x.shape.as_list()[-1] if x.shape.ndims == 4 else None
        if depth is not None and depth not in (1, 3, 4):
            raise ValueError("Channel depth should be either 1 (GRY), 3 (RGB), or 4 (RGBA)")
        b = tf.cast(tf.convert_to_tensor(boxes), tf.float32)
        inputs = [x, b] + ([tf.cast(tf.convert_to_tensor(colors), tf.float32)] if colors is not None else [])
        out = tf.py_func(lambda im, bx, *col: _draw_boxes_np(im, bx, col[0] if col else None), inputs, x.dtype,
                         name="DrawBoundingBoxes")
        if hasattr(out, "set_shape"):
            out.set_shape(x.shape)
        return out


def draw_bounding_boxes_v2(images, boxes, colors, name=None):
    return draw_bounding_boxes(images, boxes, name=name, colors=colors)
