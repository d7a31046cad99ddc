"""`tf.image`: resizing (bilinear / nearest, TF2 half-pixel centers and the TF1 legacy
sampling), rotations, flips, crops and pixel-value ops on [H, W, C] or [N, H, W, C] images.

Resizing gathers the source rows/columns at sampling positions computed here, in float32
exactly as TF's kernels compute them, and interpolates with TF's own formula
(top = tl + (tr - tl) * x_lerp, ...); the gathers use constant indices, so they fuse into
one kernel and differentiate like any gather.
"""
from __future__ import annotations

import numpy as np

from fuseflow.compiler import dtypes as dt

from . import math_ops as M
from .array_ops import (_constant, _scalar_const, _to_tensor, expand_dims, gather, identity, op_scope, pad,
                        reverse, shape_arg, slice, squeeze, static_value, transpose as _transpose, where)
from .tensor import is_tensor


class ResizeMethod:
    BILINEAR = "bilinear"
    NEAREST_NEIGHBOR = "nearest"
    BICUBIC = "bicubic"
    AREA = "area"
    LANCZOS3 = "lanczos3"
    LANCZOS5 = "lanczos5"
    GAUSSIAN = "gaussian"
    MITCHELLCUBIC = "mitchellcubic"


class ResizeMethodV1:
    BILINEAR = 0
    NEAREST_NEIGHBOR = 1
    BICUBIC = 2
    AREA = 3


def _as_batch(image, op):
    x = _to_tensor(image)
    r = x.shape.rank
    if r not in (3, 4):
        raise ValueError(f"{op}: 'image' must have either 3 or 4 dimensions, got shape {x.shape}")
    return (expand_dims(x, 0), True) if r == 3 else (x, False)


def _unbatch(x, was_single, scope):
    return squeeze(x, [0], name=scope) if was_single else identity(x, name=scope)


# ============================================================================ sampling
def _scale(in_size: int, out_size: int, align_corners: bool) -> np.float32:
    if align_corners and out_size > 1:
        return np.float32(in_size - 1) / np.float32(out_size - 1)
    return np.float32(in_size) / np.float32(out_size)


def _source_pos(out_size, scale, half_pixel: bool, nearest: bool) -> np.ndarray:
    o = np.arange(out_size, dtype=np.float32)
    if not half_pixel:
        return o * scale
    return (o + np.float32(0.5)) * scale if nearest else (o + np.float32(0.5)) * scale - np.float32(0.5)


def _nearest_index(in_size, out_size, align_corners, half_pixel) -> np.ndarray:
    pos = _source_pos(out_size, _scale(in_size, out_size, align_corners), half_pixel, True)
    # align_corners rounds (roundf: half away from zero, pos >= 0), otherwise floors
    idx = np.floor(pos + np.float32(0.5)) if align_corners else np.floor(pos)
    idx = np.minimum(idx.astype(np.int64), in_size - 1)
    return np.maximum(idx, 0) if half_pixel else idx


def _bilinear_weights(in_size, out_size, align_corners, half_pixel):
    pos = _source_pos(out_size, _scale(in_size, out_size, align_corners), half_pixel, False)
    floor = np.floor(pos)
    lower = np.maximum(floor.astype(np.int64), 0)
    upper = np.minimum(np.ceil(pos).astype(np.int64), in_size - 1)
    return lower, upper, (pos - floor).astype(np.float32)


_CUBIC_TABLE_SIZE = 1024


def _cubic_table(a: float) -> np.ndarray:
    """TF's tabulated cubic kernel: entry 2i is the weight at distance i/1024, 2i+1 at 1 + i/1024."""
    x = np.arange(_CUBIC_TABLE_SIZE + 1, dtype=np.float64) / _CUBIC_TABLE_SIZE
    x = x.astype(np.float32).astype(np.float64)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a
    return np.stack([near, far], axis=1).astype(np.float32).ravel()


def _bicubic_matrix(in_size, out_size, align_corners, half_pixel) -> np.ndarray:
    """[out, in] weights of ResizeBicubic: Keys cubic (a=-0.5) with half-pixel centers, taps outside
    the image dropped and the rest renormalized; the legacy mode uses a=-0.75 and repeats edges."""
    scale = _scale(in_size, out_size, align_corners)
    table = _cubic_table(-0.5 if half_pixel else -0.75)
    w = np.zeros((out_size, in_size), np.float32)
    for o in range(out_size):
        pos = (np.float32(o) + np.float32(0.5)) * scale - np.float32(0.5) if half_pixel else np.float32(o) * scale
        loc = int(np.floor(pos))
        offset = int(np.rint(np.float32(pos - np.float32(loc)) * np.float32(_CUBIC_TABLE_SIZE)))
        taps = [table[offset * 2 + 1], table[offset * 2], table[(_CUBIC_TABLE_SIZE - offset) * 2],
                table[(_CUBIC_TABLE_SIZE - offset) * 2 + 1]]
        idx = [min(max(loc - 1 + k, 0), in_size - 1) for k in range(4)]
        if half_pixel:
            taps = [t if i == loc - 1 + k else np.float32(0) for k, (t, i) in enumerate(zip(taps, idx))]
            total = np.float32(sum(taps, np.float32(0)))
            if abs(total) >= 1000.0 * np.finfo(np.float32).tiny:
                taps = [np.float32(t * (np.float32(1) / total)) for t in taps]
        for i, t in zip(idx, taps):
            w[o, i] += t
    return w


def _area_matrix(in_size, out_size, align_corners) -> np.ndarray:
    """[out, in] weights of ResizeArea: each output cell averages the input cells it overlaps,
    weighted by the overlap (the 1/scale factor included)."""
    scale = _scale(in_size, out_size, align_corners)
    w = np.zeros((out_size, in_size), np.float32)
    for o in range(out_size):
        lo, hi = np.float32(o) * scale, np.float32(o + 1) * scale
        for i in range(int(np.floor(lo)), int(np.ceil(hi))):
            w[o, min(i, in_size - 1)] += np.float32(min(np.float32(i + 1), hi) - max(np.float32(i), lo))
    return w / scale


def _separable_resize(x, wy: np.ndarray, wx: np.ndarray):
    """Rows then columns through fixed [out, in] weight matrices (float32)."""
    xf = M.cast(x, dt.float32)
    rows = M.einsum("yi,bijc->byjc", _constant(wy, dt.float32, None, "row_weights", True), xf)
    return M.einsum("xj,byjc->byxc", _constant(wx, dt.float32, None, "col_weights", True), rows)


def _resize(images, size, method, align_corners, half_pixel, name, default):
    with op_scope(name, default, [images, size]) as scope:
        x, single = _as_batch(images, default)
        _, h, w, _ = x.shape.as_list()
        if h is None or w is None:
            raise ValueError(f"{default}: the image height and width must be known")
        dims, _ = shape_arg(size, default)
        if is_tensor(dims) or len(dims) != 2:
            raise ValueError(f"{default}: 'size' must be a 1-D Tensor of 2 elements known while building the "
                             f"graph: new_height, new_width")
        oh, ow = dims
        if oh <= 0 or ow <= 0:
            raise ValueError(f"{default}: output size must be positive, got {list(dims)}")
        if method == ResizeMethod.NEAREST_NEIGHBOR:
            rows = _constant(_nearest_index(h, oh, align_corners, half_pixel).astype(np.int32), dt.int32, None,
                             "rows", True)
            cols = _constant(_nearest_index(w, ow, align_corners, half_pixel).astype(np.int32), dt.int32, None,
                             "cols", True)
            return _unbatch(gather(gather(x, rows, axis=1), cols, axis=2), single, scope)
        if method == ResizeMethod.BICUBIC:
            return _unbatch(_separable_resize(x, _bicubic_matrix(h, oh, align_corners, half_pixel),
                                              _bicubic_matrix(w, ow, align_corners, half_pixel)), single, scope)
        if method == ResizeMethod.AREA:
            return _unbatch(_separable_resize(x, _area_matrix(h, oh, align_corners),
                                              _area_matrix(w, ow, align_corners)), single, scope)
        if method != ResizeMethod.BILINEAR:
            raise NotImplementedError(f"tf.image.resize: method {method!r} is not supported by fuseflow "
                                      f"(bilinear, nearest, bicubic and area are)")
        xf = M.cast(x, dt.float32)
        top, bottom, ylerp = _bilinear_weights(h, oh, align_corners, half_pixel)
        left, right, xlerp = _bilinear_weights(w, ow, align_corners, half_pixel)
        idx = lambda a, n: _constant(a.astype(np.int32), dt.int32, None, n, True)
        top_rows, bottom_rows = gather(xf, idx(top, "top"), axis=1), gather(xf, idx(bottom, "bottom"), axis=1)
        xl = _constant(xlerp.reshape(1, 1, ow, 1), dt.float32, None, "x_lerp", True)
        yl = _constant(ylerp.reshape(1, oh, 1, 1), dt.float32, None, "y_lerp", True)

        def lerp_cols(rows):
            lft = gather(rows, idx(left, "left"), axis=2)
            rgt = gather(rows, idx(right, "right"), axis=2)
            return M.add(lft, M.multiply(M.subtract(rgt, lft), xl))

        t, b = lerp_cols(top_rows), lerp_cols(bottom_rows)
        return _unbatch(M.add(t, M.multiply(M.subtract(b, t), yl)), single, scope)


def _method_name(method):
    if isinstance(method, int):
        return {0: ResizeMethod.BILINEAR, 1: ResizeMethod.NEAREST_NEIGHBOR, 2: ResizeMethod.BICUBIC,
                3: ResizeMethod.AREA}.get(method, str(method))
    return str(method).lower()


def _aspect_size(x, size):
    _, h, w, _ = x.shape.as_list()
    dims, _ = shape_arg(size, "resize")
    scale = min(np.float32(dims[0]) / np.float32(h), np.float32(dims[1]) / np.float32(w))
    return [int(np.round(np.float32(h) * scale)), int(np.round(np.float32(w) * scale))]


def resize(images, size, method=ResizeMethod.BILINEAR, preserve_aspect_ratio=False, antialias=False, name=None):
    """TF2 `tf.image.resize` (half-pixel centers). Bilinear returns float32; nearest keeps the dtype."""
    method = _method_name(method)
    x, _ = _as_batch(images, "resize")
    if preserve_aspect_ratio:
        size = _aspect_size(x, size)
    if antialias and method == ResizeMethod.BILINEAR:
        dims, _ = shape_arg(size, "resize")
        _, h, w, _ = x.shape.as_list()
        if dims[0] < h or dims[1] < w:
            raise NotImplementedError("tf.image.resize: antialiased downscaling is not supported by fuseflow")
    return _resize(images, size, method, False, True, name, "resize")


def resize_images(images, size, method=ResizeMethodV1.BILINEAR, align_corners=False, preserve_aspect_ratio=False,
                  name=None):
    """TF1 `tf.image.resize_images`: the legacy sampling (no half-pixel offset)."""
    method = _method_name(method)
    if preserve_aspect_ratio:
        x, _ = _as_batch(images, "resize_images")
        size = _aspect_size(x, size)
    return _resize(images, size, method, align_corners, False, name, "resize")


def resize_bilinear(images, size, align_corners=False, name=None, half_pixel_centers=False):
    return _resize(images, size, ResizeMethod.BILINEAR, align_corners, half_pixel_centers, name, "ResizeBilinear")


def resize_nearest_neighbor(images, size, align_corners=False, name=None, half_pixel_centers=False):
    return _resize(images, size, ResizeMethod.NEAREST_NEIGHBOR, align_corners, half_pixel_centers, name,
                   "ResizeNearestNeighbor")


# ====================================================================== flips, rotations
def _hw_axes(x):
    return (0, 1) if x.shape.rank == 3 else (1, 2)


def _checked(image, op):
    x = _to_tensor(image)
    if x.shape.rank not in (3, 4):
        raise ValueError(f"{op}: 'image' (shape {x.shape}) must have either 3 or 4 dimensions.")
    return x


def flip_left_right(image):
    with op_scope(None, "flip_left_right", [image]) as scope:
        x = _checked(image, "flip_left_right")
        return reverse(x, [_hw_axes(x)[1]], name=scope)


def flip_up_down(image):
    with op_scope(None, "flip_up_down", [image]) as scope:
        x = _checked(image, "flip_up_down")
        return reverse(x, [_hw_axes(x)[0]], name=scope)


def _random_flip(image, seed, axis_pos, default):
    from .random_ops import random_uniform
    with op_scope(None, default, [image]) as scope:
        x = _checked(image, default)
        axis = _hw_axes(x)[axis_pos]
        if x.shape.rank == 3:
            flip = M.less(random_uniform([], 0, 1.0, seed=seed), 0.5)
        else:
            n = x.shape[0]
            if n is None:
                raise ValueError(f"{default}: the batch size must be known")
            flip = M.less(random_uniform([n, 1, 1, 1], 0, 1.0, seed=seed), 0.5)
        return where(flip, reverse(x, [axis]), x, name=scope)


def random_flip_left_right(image, seed=None):
    return _random_flip(image, seed, 1, "random_flip_left_right")


def random_flip_up_down(image, seed=None):
    return _random_flip(image, seed, 0, "random_flip_up_down")


def rot90(image, k=1, name=None):
    """Rotates counter-clockwise by k * 90 degrees."""
    with op_scope(name, "rot90", [image, k]) as scope:
        x = _checked(image, "rot90")
        kv = static_value(k)
        if kv is None:
            raise ValueError("rot90: k must be known while building the graph")
        k = int(kv) % 4
        a, b = _hw_axes(x)
        perm = list(range(x.shape.rank))
        perm[a], perm[b] = perm[b], perm[a]
        if k == 0:
            return identity(x, name=scope)
        if k == 1:
            return _transpose(reverse(x, [b]), perm, name=scope)
        if k == 2:
            return reverse(x, [a, b], name=scope)
        return reverse(_transpose(x, perm), [b], name=scope)


def transpose(image, name=None):
    with op_scope(name, "transpose", [image]) as scope:
        x = _checked(image, "transpose")
        perm = [1, 0, 2] if x.shape.rank == 3 else [0, 2, 1, 3]
        return _transpose(x, perm, name=scope)


# ================================================================================ crops
def crop_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    with op_scope(None, "crop_to_bounding_box", [image]) as scope:
        x, single = _as_batch(image, "crop_to_bounding_box")
        _, h, w, _ = x.shape.as_list()
        oh, ow, th, tw = (int(static_value(v)) for v in (offset_height, offset_width, target_height, target_width))
        if oh < 0 or ow < 0 or th <= 0 or tw <= 0 or oh + th > h or ow + tw > w:
            raise ValueError(f"crop_to_bounding_box: box ({oh}, {ow}, {th}, {tw}) does not fit the image "
                             f"{h}x{w}")
        return _unbatch(slice(x, [0, oh, ow, 0], [-1, th, tw, -1]), single, scope)


def pad_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    with op_scope(None, "pad_to_bounding_box", [image]) as scope:
        x, single = _as_batch(image, "pad_to_bounding_box")
        _, h, w, _ = x.shape.as_list()
        oh, ow, th, tw = (int(static_value(v)) for v in (offset_height, offset_width, target_height, target_width))
        after_h, after_w = th - oh - h, tw - ow - w
        if oh < 0 or ow < 0 or after_h < 0 or after_w < 0:
            raise ValueError(f"pad_to_bounding_box: the image {h}x{w} at offset ({oh}, {ow}) does not fit "
                             f"{th}x{tw}")
        return _unbatch(pad(x, [[0, 0], [oh, after_h], [ow, after_w], [0, 0]]), single, scope)


def resize_with_crop_or_pad(image, target_height, target_width):
    """Centrally crops or zero-pads to the target size."""
    with op_scope(None, "resize_image_with_crop_or_pad", [image]) as scope:
        x = _checked(image, "resize_with_crop_or_pad")
        a, b = _hw_axes(x)
        h, w = x.shape[a], x.shape[b]
        th, tw = int(target_height), int(target_width)
        crop_h, crop_w = max(h - th, 0), max(w - tw, 0)
        x = crop_to_bounding_box(x, crop_h // 2, crop_w // 2, min(h, th), min(w, tw))
        pad_h, pad_w = max(th - h, 0), max(tw - w, 0)
        return identity(pad_to_bounding_box(x, pad_h // 2, pad_w // 2, th, tw), name=scope)


resize_image_with_crop_or_pad = resize_with_crop_or_pad


def central_crop(image, central_fraction):
    with op_scope(None, "central_crop", [image]) as scope:
        x = _checked(image, "central_crop")
        if not 0.0 < central_fraction <= 1.0:
            raise ValueError("central_fraction must be within (0, 1]")
        if central_fraction == 1.0:
            return x
        a, b = _hw_axes(x)
        h, w = x.shape[a], x.shape[b]
        bh = int((h - h * central_fraction) / 2)
        bw = int((w - w * central_fraction) / 2)
        return identity(crop_to_bounding_box(x, bh, bw, h - 2 * bh, w - 2 * bw), name=scope)


# ========================================================================== pixel values
def convert_image_dtype(image, dtype, saturate=False, name=None):
    """Converts between integer images (0..max) and float images (0..1), as TF."""
    dtype = dt.as_dtype(dtype)
    with op_scope(name, "convert_image", [image]) as scope:
        x = _to_tensor(image)
        src = x.dtype
        if src == dtype:
            return identity(x, name=scope)
        if src.is_integer and dtype.is_integer:
            scale_in, scale_out = int(src.max) + 1, int(dtype.max) + 1
            if scale_in > scale_out:
                return M.cast(M.floordiv(x, _scalar_const(scale_in // scale_out, src)), dtype, name=scope)
            return M.multiply(M.cast(x, dtype), _scalar_const(scale_out // scale_in, dtype), name=scope)
        if src.is_floating and dtype.is_floating:
            return M.cast(x, dtype, name=scope)
        if src.is_integer:
            return M.multiply(M.cast(x, dtype), _scalar_const(1.0 / float(src.max), dtype), name=scope)
        scaled = M.multiply(x, _scalar_const(float(dtype.max) + 0.5, src))
        if saturate:
            scaled = M.clip_by_value(scaled, float(dtype.min), float(dtype.max))
        return M.cast(scaled, dtype, name=scope)


def per_image_standardization(image):
    """(x - mean) / max(stddev, 1 / sqrt(num_pixels)) per image, in float32."""
    with op_scope(None, "per_image_standardization", [image]) as scope:
        x = _checked(image, "per_image_standardization")
        x = M.cast(x, dt.float32) if not x.dtype.is_floating else x
        axes = [-1, -2, -3]
        n = int(np.prod(x.shape.as_list()[-3:]))
        mean = M.reduce_mean(x, axes, keepdims=True)
        stddev = M.reduce_std(x, axes, keepdims=True)
        adjusted = M.maximum(stddev, _scalar_const(1.0 / np.sqrt(n), x.dtype))
        return M.truediv(M.subtract(x, mean), adjusted, name=scope)


def adjust_brightness(image, delta):
    with op_scope(None, "adjust_brightness", [image, delta]) as scope:
        x = _to_tensor(image)
        orig = x.dtype
        flt = convert_image_dtype(x, dt.float32) if not orig.is_floating else x
        out = M.add(flt, M.cast(_to_tensor(delta), flt.dtype) if is_tensor(delta) else delta)
        return convert_image_dtype(out, orig, saturate=True, name=scope)


def rgb_to_grayscale(images, name=None):
    with op_scope(name, "rgb_to_grayscale", [images]) as scope:
        x = _to_tensor(images)
        orig = x.dtype
        flt = convert_image_dtype(x, dt.float32)
        weights = _constant(np.asarray([0.2989, 0.5870, 0.1140], np.float32), dt.float32, None, "rgb_weights", True)
        gray = M.reduce_sum(M.multiply(flt, weights), -1, keepdims=True)
        return convert_image_dtype(gray, orig, name=scope)


def grayscale_to_rgb(images, name=None):
    """The single channel repeated three times (TF: the last dim must be 1)."""
    with op_scope(name, "grayscale_to_rgb", [images]) as scope:
        x = _to_tensor(images)
        if x.shape.rank is not None and (x.shape.rank < 2 or x.shape[-1] not in (1, None)):
            raise ValueError(f"grayscale_to_rgb: the last dimension must be 1, got shape {x.shape}")
        from .array_ops import concat
        return concat([x, x, x], -1, name=scope)


# ================================================================ random crops and colour
def random_crop(value, size, seed=None, name=None):
    """A random `size` window of `value` (offsets uniform over the valid positions)."""
    from .random_ops import random_uniform
    with op_scope(name, "random_crop", [value, size]) as scope:
        x = _to_tensor(value)
        dims = x.shape.as_list()
        want, _ = shape_arg(size, "random_crop")
        if is_tensor(want) or len(want) != len(dims) or any(d is None for d in dims):
            raise ValueError(f"random_crop: size {size!r} must be static with one entry per dimension of "
                             f"{x.shape}")
        if any(w > d for w, d in zip(want, dims)):
            raise ValueError(f"random_crop: Need value.shape >= size, got {dims} and {list(want)}")
        limits = [d - w + 1 for d, w in zip(dims, want)]
        u = random_uniform([len(dims)], 0, 1.0, seed=seed)
        offsets = M.cast(M.floor(M.multiply(u, _constant(np.asarray(limits, np.float32), dt.float32, None,
                                                                   "limits", True))), dt.int32)
        out = x
        for axis, (w, lim) in enumerate(zip(want, limits)):
            if lim == 1:
                continue
            start = M.minimum(offsets[axis], lim - 1)
            index = M.add(start, _constant(np.arange(w, dtype=np.int32), dt.int32, None, "window", True))
            out = gather(out, index, axis=axis)
        return identity(out, name=scope)


def adjust_contrast(images, contrast_factor):
    """(x - mean) * factor + mean, the mean taken per image and channel over height and width."""
    with op_scope(None, "adjust_contrast", [images, contrast_factor]) as scope:
        x = _checked(images, "adjust_contrast")
        orig = x.dtype
        flt = convert_image_dtype(x, dt.float32) if not orig.is_floating else x
        a, b = _hw_axes(flt)
        mean = M.reduce_mean(flt, [a, b], keepdims=True)
        factor = M.cast(_to_tensor(contrast_factor), flt.dtype) if is_tensor(contrast_factor) else contrast_factor
        out = M.add(M.multiply(M.subtract(flt, mean), factor), mean)
        return convert_image_dtype(out, orig, saturate=True, name=scope)


def adjust_gamma(image, gamma=1, gain=1):
    """gain * x ** gamma on the [0, 1] scale of the image's dtype."""
    with op_scope(None, "adjust_gamma", [image]) as scope:
        x = _to_tensor(image)
        orig = x.dtype
        flt = convert_image_dtype(x, dt.float32) if not orig.is_floating else x
        out = M.multiply(M.pow(flt, _scalar_const(gamma, flt.dtype)), _scalar_const(gain, flt.dtype))
        return convert_image_dtype(out, orig, saturate=True, name=scope)


def random_brightness(image, max_delta, seed=None):
    from .random_ops import random_uniform
    if max_delta < 0:
        raise ValueError("max_delta must be non-negative.")
    return adjust_brightness(image, random_uniform([], -max_delta, max_delta, seed=seed))


def random_contrast(image, lower, upper, seed=None):
    from .random_ops import random_uniform
    if upper <= lower:
        raise ValueError("upper must be > lower.")
    if lower < 0:
        raise ValueError("lower must be non-negative.")
    return adjust_contrast(image, random_uniform([], lower, upper, seed=seed))
