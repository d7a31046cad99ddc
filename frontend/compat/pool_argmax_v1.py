"""`tf.nn.max_pool_with_argmax`: max pooling that also returns where each maximum came from,
as the flat index ((b * H + y) * W + x) * C + c (the batch term only with
include_batch_in_index). Built from strided slices of the (padded) input, one per window
position, so the first maximum in row-major window order wins, as in TF's kernel."""
from __future__ import annotations

import numpy as np


def _tf():
    import fuseflow.compat.v1 as tf
    return tf


def _pair(v, what):
    if isinstance(v, int):
        return v, v
    v = list(v)
    if len(v) == 1:
        return v[0], v[0]
    if len(v) == 2:
        return v[0], v[1]
    if len(v) == 4:
        if v[0] != 1 or v[3] != 1:
            raise ValueError(f"max_pool_with_argmax: {what} must be 1 in the batch and depth dimensions, got {v}")
        return v[1], v[2]
    raise ValueError(f"max_pool_with_argmax: {what} must have 1, 2 or 4 elements, got {v}")


def max_pool_with_argmax(input, ksize, strides, padding, data_format="NHWC", Targmax=None,  # noqa: A002,N803
                         name=None, output_dtype=None, include_batch_in_index=False):
    tf = _tf()
    if data_format != "NHWC":
        raise ValueError(f"max_pool_with_argmax supports data_format='NHWC' only, got {data_format}")
    out_dtype = tf.as_dtype(output_dtype or Targmax or tf.int64)
    if out_dtype not in (tf.int32, tf.int64):
        raise TypeError(f"max_pool_with_argmax: the argmax dtype must be int32 or int64, got {out_dtype.name}")
    kh, kw = _pair(ksize, "ksize")
    sh, sw = _pair(strides, "strides")
    if padding not in ("SAME", "VALID"):
        raise ValueError(f"max_pool_with_argmax: padding must be 'SAME' or 'VALID', got {padding!r}")
    with tf.name_scope(name, "MaxPoolWithArgmax", [input]):
        x = tf.convert_to_tensor(input)
        shape = x.shape.as_list() if x.shape.ndims == 4 else None
        if shape is None or any(d is None for d in shape[1:]):
            raise ValueError(f"max_pool_with_argmax needs a 4-D input with static height, width and depth, "
                             f"got {x.shape}")
        _, H, W, C = shape
        if padding == "VALID":
            oh, ow = (H - kh) // sh + 1, (W - kw) // sw + 1
            top = left = 0
            xp = x
        else:
            oh, ow = -(-H // sh), -(-W // sw)
            ph, pw = max((oh - 1) * sh + kh - H, 0), max((ow - 1) * sw + kw - W, 0)
            top, left = ph // 2, pw // 2
            low = float(np.finfo(x.dtype.as_numpy_dtype).min) if x.dtype.is_floating else int(x.dtype.min)
            xp = tf.pad(x, [[0, 0], [top, ph - top], [left, pw - left], [0, 0]], constant_values=low)
        windows = [xp[:, ky:ky + (oh - 1) * sh + 1:sh, kx:kx + (ow - 1) * sw + 1:sw, :]
                   for ky in range(kh) for kx in range(kw)]
        stacked = tf.stack(windows, axis=3)                              # [B, oh, ow, kh*kw, C]
        output = tf.reduce_max(stacked, axis=3)
        k = tf.argmax(stacked, axis=3, output_type=tf.int64)             # window position of the max
        oy = np.arange(oh, dtype=np.int64).reshape(1, oh, 1, 1) * sh - top
        ox = np.arange(ow, dtype=np.int64).reshape(1, 1, ow, 1) * sw - left
        y = k // kw + oy
        xx = k % kw + ox
        c = np.arange(C, dtype=np.int64).reshape(1, 1, 1, C)
        index = (y * W + xx) * C + c
        if include_batch_in_index:
            b = tf.reshape(tf.range(tf.cast(tf.shape(x)[0], tf.int64), dtype=tf.int64), [-1, 1, 1, 1])
            index = index + b * (H * W * C)
        return output, tf.cast(tf.stop_gradient(index), out_dtype)
