"""Pooling (NHWC) and its gradients, as opaque kernels. attrs: ksize, strides, padding
('SAME' / 'VALID' / explicit), data_format='NHWC' (see window.py).

  max_pool(x)                      max over the window; padding is never part of a window
  avg_pool(x)                      mean over the window's valid elements (SAME divides by
                                   the number of in-image elements, as TF)
  max_pool_grad(orig_input, g)     routes each window's gradient to its first maximum in
                                   row-major window order (TF's CPU kernel: strict `>` scan)
  max_pool_grad_grad(orig_input, gg)   the gradient of max_pool_grad w.r.t. g
  avg_pool_grad(g)                 attrs orig_input_shape

Gradient kernels gather rather than scatter: each input pixel visits the windows that
contain it, so the parallel loop over input rows never has two threads writing one element.
"""
from __future__ import annotations

import numpy as np

from ..ir import TensorType
from ..loopir import INDEX, Assign, Binary, Cast, Const, Declare, If, Let, Load, Loop, Store, Var
from .conv import _in_range, _source_ok, _vars
from .index_util import idx, shape_str, static_eq
from .registry import OpDef, OpError, register
from .window import Window

POOL_ATTRS = ("ksize", "strides", "padding", "data_format")


def pool_attrs(attrs) -> dict:
    return {k: attrs[k] for k in POOL_ATTRS if k in attrs}


def _window(attrs, op) -> Window:
    if attrs.get("dilations") not in (None, 1, (1, 1), (1, 1, 1, 1)):
        raise OpError(f"{op}: dilated pooling is not supported")
    return Window(attrs, op)


def pool_shape(op, shape, attrs):
    win = _window(attrs, op)
    return (shape[0], win.out_dim(shape[1], 0), win.out_dim(shape[2], 1), shape[3])


def _pool_infer(op, numeric_ok):
    def infer(types, attrs):
        (t,) = types
        if t.rank != 4:
            raise OpError(f"{op}: input must be 4-D (NHWC), got {shape_str(t)}")
        if not (t.dtype.is_floating or (numeric_ok and t.dtype.is_numeric)):
            raise OpError(f"{op}: input must be {'numeric' if numeric_ok else 'floating-point'}, got {shape_str(t)}")
        return [TensorType(pool_shape(op, t.shape, attrs), t.dtype)]
    return infer


# ------------------------------------------------------------------------------ references
def _taps(win, h, w):
    """Yield (kh, kw, rows, cols, valid) for each window tap: the input positions (clipped)
    each output reads through that tap, and whether they are inside the image."""
    oh, ow = win.out_dim(h, 0), win.out_dim(w, 1)
    pt, pl = win.pad_before(h, 0), win.pad_before(w, 1)
    sh, sw = win.strides
    for kh in range(win.kernel[0]):
        for kw in range(win.kernel[1]):
            r = np.arange(oh) * sh + kh - pt
            c = np.arange(ow) * sw + kw - pl
            valid = ((r >= 0) & (r < h))[:, None] & ((c >= 0) & (c < w))[None, :]
            yield kh, kw, np.clip(r, 0, max(h - 1, 0)), np.clip(c, 0, max(w - 1, 0)), valid


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _argmax_scan(x, win):
    """TF's max-pool scan: per output, the value and (row, col) of the first strict maximum."""
    n, h, w, c = x.shape
    shape = (n, win.out_dim(h, 0), win.out_dim(w, 1), c)
    best = np.full(shape, _lowest(x.dtype), x.dtype)
    best_r = np.full(shape, -1, np.int64)
    best_c = np.full(shape, -1, np.int64)
    for kh, kw, r, col, valid in _taps(win, h, w):
        v = x[:, r][:, :, col]
        take = valid[None, :, :, None] & ((v > best) | (best_r < 0))
        best = np.where(take, v, best)
        best_r = np.where(take, r[None, :, None, None], best_r)
        best_c = np.where(take, col[None, None, :, None], best_c)
    return best, best_r, best_c


def _max_pool_ref(arrays, attrs):
    x = arrays[0]
    best, _, _ = _argmax_scan(x, _window(attrs, "max_pool"))
    return [best]


def _counts(win, h, w):
    cnt = 0
    for *_, valid in _taps(win, h, w):
        cnt = cnt + valid.astype(np.int64)
    return cnt


def _avg_pool_ref(arrays, attrs):
    x = arrays[0]
    win = _window(attrs, "avg_pool")
    n, h, w, c = x.shape
    total = np.zeros(pool_shape("avg_pool", x.shape, attrs), x.dtype)
    for kh, kw, r, col, valid in _taps(win, h, w):
        total += np.where(valid[None, :, :, None], x[:, r][:, :, col], 0)
    return [(total / _counts(win, h, w)[None, :, :, None].astype(x.dtype)).astype(x.dtype)]


def _max_pool_grad_ref(arrays, attrs):
    x, g = arrays
    _, br, bc = _argmax_scan(x, _window(attrs, "max_pool_grad"))
    dx = np.zeros_like(x)
    n_idx, _, _, c_idx = np.indices(g.shape)
    ok = br >= 0
    np.add.at(dx, (n_idx[ok], br[ok], bc[ok], c_idx[ok]), g[ok])
    return [dx]


def _max_pool_grad_grad_ref(arrays, attrs):
    x, gg = arrays
    _, br, bc = _argmax_scan(x, _window(attrs, "max_pool_grad_grad"))
    n_idx, _, _, c_idx = np.indices(br.shape)
    out = gg[n_idx, np.maximum(br, 0), np.maximum(bc, 0), c_idx]
    return [np.where(br >= 0, out, 0).astype(gg.dtype)]


def _avg_pool_grad_ref(arrays, attrs):
    g = arrays[0]
    shape = tuple(int(d) for d in attrs["orig_input_shape"])
    win = _window(attrs, "avg_pool_grad")
    n, h, w, c = shape
    scaled = g / _counts(win, h, w)[None, :, :, None].astype(g.dtype)
    dx = np.zeros(shape, g.dtype)
    for kh, kw, r, col, valid in _taps(win, h, w):
        contrib = np.where(valid[None, :, :, None], scaled, 0)
        for i, ri in enumerate(r):
            np.add.at(dx, (slice(None), ri, col, slice(None)), contrib[:, i])
    return [dx]


# --------------------------------------------------------------------------------- kernels
class _PoolGeo:
    def __init__(self, attrs, op, x_shape, y_shape):
        self.win = _window(attrs, op)
        self.N, self.H, self.W, self.C = (idx(d) for d in x_shape)
        self.OH, self.OW = idx(y_shape[1]), idx(y_shape[2])
        self.KH, self.KW = (Const(k, INDEX) for k in self.win.kernel)
        self.sh, self.sw = (Const(s, INDEX) for s in self.win.strides)
        self.pt = self.win.pad_before_expr(x_shape[1], 0)
        self.pl = self.win.pad_before_expr(x_shape[2], 1)


def _max_pool_kernel(kctx):
    x_t, y_t = kctx.in_types[0], kctx.out_types[0]
    xb, yb = kctx.inputs[0], kctx.outputs[0]
    G = _PoolGeo(kctx.attrs, "max_pool", x_t.shape, y_t.shape)
    d = y_t.dtype
    q, ow, c, kh, kw, ih, iw, base = _vars(kctx, "q", "ow", "c", "kh", "kw", "ih", "iw", "ybase")
    n, oh = Binary("floordiv", q, G.OH), Binary("mod", q, G.OH)
    lowest = Const(-float("inf") if d.is_floating else int(d.min), d)
    at = base + c
    update = Store(yb, at, Binary("max", Load(yb, at, d), Load(xb, ((n * G.H + ih) * G.W + iw) * G.C + c, d)))
    taps = Loop(kh.name, G.KH, [Let(ih.name, oh * G.sh + kh - G.pt), If(_in_range(ih, G.H), [
        Loop(kw.name, G.KW, [Let(iw.name, ow * G.sw + kw - G.pl), If(_in_range(iw, G.W), [
            Loop(c.name, G.C, [update])])])])])
    body = Loop(ow.name, G.OW, [Let(base.name, (q * G.OW + ow) * G.C),
                                Loop(c.name, G.C, [Store(yb, at, lowest)]), taps])
    return [Loop(q.name, G.N * G.OH, [body], "parallel")]


def _window_count(G, oh, ow):
    """Number of in-image elements in window (oh, ow) (pooling has no dilation)."""
    zero = Const(0, INDEX)
    r0 = oh * G.sh - G.pt
    c0 = ow * G.sw - G.pl
    rows = Binary("min", r0 + G.KH, G.H) - Binary("max", r0, zero)
    cols = Binary("min", c0 + G.KW, G.W) - Binary("max", c0, zero)
    return rows * cols


def _avg_pool_kernel(kctx):
    x_t, y_t = kctx.in_types[0], kctx.out_types[0]
    xb, yb = kctx.inputs[0], kctx.outputs[0]
    G = _PoolGeo(kctx.attrs, "avg_pool", x_t.shape, y_t.shape)
    d = y_t.dtype
    q, ow, c, kh, kw, ih, iw, base, cnt = _vars(kctx, "q", "ow", "c", "kh", "kw", "ih", "iw", "ybase", "cnt")
    n, oh = Binary("floordiv", q, G.OH), Binary("mod", q, G.OH)
    at = base + c
    update = Store(yb, at, Binary("add", Load(yb, at, d), Load(xb, ((n * G.H + ih) * G.W + iw) * G.C + c, d)))
    taps = Loop(kh.name, G.KH, [Let(ih.name, oh * G.sh + kh - G.pt), If(_in_range(ih, G.H), [
        Loop(kw.name, G.KW, [Let(iw.name, ow * G.sw + kw - G.pl), If(_in_range(iw, G.W), [
            Loop(c.name, G.C, [update])])])])])
    scale = Loop(c.name, G.C, [Store(yb, at, Binary("div", Load(yb, at, d), Cast(Var(cnt.name), d)))])
    body = Loop(ow.name, G.OW, [Let(base.name, (q * G.OW + ow) * G.C), Let(cnt.name, _window_count(G, oh, ow)),
                                Loop(c.name, G.C, [Store(yb, at, Const(0, d))]), taps, scale])
    return [Loop(q.name, G.N * G.OH, [body], "parallel")]


def _argmax_stmts(kctx, G, xb, d, n, oh, ow, c):
    """Statements leaving in (best_r, best_c) the first strict maximum of window (oh, ow)
    for channel c (-1 if the window has no in-image element)."""
    a, b, r, s, v = _vars(kctx, "a", "b", "r", "s", "v")
    best, br, bc = kctx.fresh("best"), kctx.fresh("br"), kctx.fresh("bc")
    value = Var(v.name, d)
    take = Binary("or", Binary("gt", value, Var(best, d)), Binary("lt", Var(br, INDEX), Const(0, INDEX)))
    scan = Loop(a.name, G.KH, [Let(r.name, oh * G.sh + a - G.pt), If(_in_range(r, G.H), [
        Loop(b.name, G.KW, [Let(s.name, ow * G.sw + b - G.pl), If(_in_range(s, G.W), [
            Let(v.name, Load(xb, ((n * G.H + r) * G.W + s) * G.C + c, d)),
            If(take, [Assign(best, value), Assign(br, r), Assign(bc, s)])])])])])
    init = [Declare(best, Const(0, d)), Declare(br, Const(-1, INDEX)), Declare(bc, Const(-1, INDEX))]
    return init + [scan], Var(br, INDEX), Var(bc, INDEX)


def _max_pool_grad_kernel(kctx):
    x_t, g_t = kctx.in_types
    xb, gb = kctx.inputs
    dxb = kctx.outputs[0]
    G = _PoolGeo(kctx.attrs, "max_pool_grad", x_t.shape, g_t.shape)
    d = x_t.dtype
    q, iw, c, kh, kw, th, tw, oh_v, ow_v = _vars(kctx, "q", "iw", "c", "kh", "kw", "th", "tw", "oh", "ow")
    acc = kctx.fresh("acc")
    n, ih = Binary("floordiv", q, G.H), Binary("mod", q, G.H)
    ok_h, oh = _source_ok(th, G.sh, G.OH)
    ok_w, ow = _source_ok(tw, G.sw, G.OW)
    scan, br, bc = _argmax_stmts(kctx, G, xb, d, n, oh_v, ow_v, c)
    hit = Binary("and", Binary("eq", br, ih), Binary("eq", bc, iw))
    add = Assign(acc, Binary("add", Var(acc, d), Load(gb, ((n * G.OH + oh_v) * G.OW + ow_v) * G.C + c, d)))
    windows = Loop(kh.name, G.KH, [Let(th.name, ih + G.pt - kh), If(ok_h, [Let(oh_v.name, oh), Loop(kw.name, G.KW, [
        Let(tw.name, iw + G.pl - kw), If(ok_w, [Let(ow_v.name, ow)] + scan + [If(hit, [add])])])])])
    per_pixel = Loop(c.name, G.C, [Declare(acc, Const(0, d)), windows,
                                    Store(dxb, (q * G.W + iw) * G.C + c, Var(acc, d))])
    return [Loop(q.name, G.N * G.H, [Loop(iw.name, G.W, [per_pixel])], "parallel")]


def _max_pool_grad_grad_kernel(kctx):
    x_t, gg_t = kctx.in_types
    xb, ggb = kctx.inputs
    yb = kctx.outputs[0]
    y_t = kctx.out_types[0]
    G = _PoolGeo(kctx.attrs, "max_pool_grad_grad", x_t.shape, y_t.shape)
    d = y_t.dtype
    q, ow, c = _vars(kctx, "q", "ow", "c")
    n, oh = Binary("floordiv", q, G.OH), Binary("mod", q, G.OH)
    scan, br, bc = _argmax_stmts(kctx, G, xb, x_t.dtype, n, oh, ow, c)
    found = Binary("ge", br, Const(0, INDEX))
    out_at = (q * G.OW + ow) * G.C + c
    store = If(found, [Store(yb, out_at, Load(ggb, ((n * G.H + br) * G.W + bc) * G.C + c, d))],
               [Store(yb, out_at, Const(0, d))])
    return [Loop(q.name, G.N * G.OH, [Loop(ow.name, G.OW, [Loop(c.name, G.C, scan + [store])])], "parallel")]


def _avg_pool_grad_kernel(kctx):
    g_t, dx_t = kctx.in_types[0], kctx.out_types[0]
    gb, dxb = kctx.inputs[0], kctx.outputs[0]
    G = _PoolGeo(kctx.attrs, "avg_pool_grad", dx_t.shape, g_t.shape)
    d = dx_t.dtype
    q, iw, c, kh, kw, th, tw, oh_v, ow_v = _vars(kctx, "q", "iw", "c", "kh", "kw", "th", "tw", "oh", "ow")
    acc = kctx.fresh("acc")
    n, ih = Binary("floordiv", q, G.H), Binary("mod", q, G.H)
    ok_h, oh = _source_ok(th, G.sh, G.OH)
    ok_w, ow = _source_ok(tw, G.sw, G.OW)
    share = Binary("div", Load(gb, ((n * G.OH + oh_v) * G.OW + ow_v) * G.C + c, d),
                   Cast(_window_count(G, oh_v, ow_v), d))
    add = Assign(acc, Binary("add", Var(acc, d), share))
    windows = Loop(kh.name, G.KH, [Let(th.name, ih + G.pt - kh), If(ok_h, [Let(oh_v.name, oh), Loop(kw.name, G.KW, [
        Let(tw.name, iw + G.pl - kw), If(ok_w, [Let(ow_v.name, ow), add])])])])
    per_pixel = Loop(c.name, G.C, [Declare(acc, Const(0, d)), windows,
                                    Store(dxb, (q * G.W + iw) * G.C + c, Var(acc, d))])
    return [Loop(q.name, G.N * G.H, [Loop(iw.name, G.W, [per_pixel])], "parallel")]


# ---------------------------------------------------------------------------- registration
def _grad_infer(op):
    def infer(types, attrs):
        x, g = types
        if x.rank != 4 or g.rank != 4 or x.dtype != g.dtype:
            raise OpError(f"{op}: expects 4-D NHWC operands of one dtype, got {shape_str(x)} and {shape_str(g)}")
        want = pool_shape(op, x.shape, attrs)
        if not all(static_eq(a, b) for a, b in zip(want, g.shape)):
            raise OpError(f"{op}: gradient {shape_str(g)} does not match the pooled shape {list(want)} of "
                          f"{shape_str(x)}")
        return [x]
    return infer


def _grad_grad_infer(types, attrs):
    x, gg = types
    op = "max_pool_grad_grad"
    same = x.rank == gg.rank and all(static_eq(a, b) for a, b in zip(x.shape, gg.shape))
    if x.rank != 4 or x.dtype != gg.dtype or not same:
        raise OpError(f"{op}: expects two NHWC operands of one type, got {shape_str(x)} and {shape_str(gg)}")
    return [TensorType(pool_shape(op, x.shape, attrs), x.dtype)]


def _avg_grad_infer(types, attrs):
    (g,) = types
    shape = tuple(attrs["orig_input_shape"])
    if len(shape) != 4 or g.rank != 4:
        raise OpError(f"avg_pool_grad: expects a 4-D gradient and orig_input_shape, got {shape_str(g)} and "
                      f"{list(shape)}")
    want = pool_shape("avg_pool_grad", shape, attrs)
    if not all(static_eq(a, b) for a, b in zip(want, g.shape)):
        raise OpError(f"avg_pool_grad: gradient {shape_str(g)} does not match the pooled shape {list(want)} of "
                      f"{list(shape)}")
    return [TensorType(shape, g.dtype)]


register(OpDef("max_pool", "opaque", _pool_infer("max_pool", True), _max_pool_ref, arity=1,
               lower_kernel=_max_pool_kernel, cheap=False,
               grad=lambda em, ins, outs, attrs, gs: [em.max_pool_grad(ins[0], gs[0], **pool_attrs(attrs))],
               doc="Max over each window (NHWC). attrs: ksize, strides, padding, data_format."))
register(OpDef("avg_pool", "opaque", _pool_infer("avg_pool", False), _avg_pool_ref, arity=1,
               lower_kernel=_avg_pool_kernel, cheap=False,
               grad=lambda em, ins, outs, attrs, gs: [em.avg_pool_grad(
                   gs[0], orig_input_shape=tuple(em.type(ins[0]).shape), **pool_attrs(attrs))],
               doc="Mean over each window's in-image elements (NHWC). attrs: ksize, strides, padding."))
register(OpDef("max_pool_grad", "opaque", _grad_infer("max_pool_grad"), _max_pool_grad_ref, arity=2,
               lower_kernel=_max_pool_grad_kernel, cheap=False,
               grad=lambda em, ins, outs, attrs, gs: [None, em.max_pool_grad_grad(ins[0], gs[0], **pool_attrs(attrs))],
               doc="Gradient of max_pool: each window's gradient goes to its first maximum. Operands: "
                   "orig_input, grad."))
register(OpDef("max_pool_grad_grad", "opaque", _grad_grad_infer, _max_pool_grad_grad_ref, arity=2,
               lower_kernel=_max_pool_grad_grad_kernel, cheap=False,
               grad=lambda em, ins, outs, attrs, gs: [None, em.max_pool_grad(ins[0], gs[0], **pool_attrs(attrs))],
               doc="Gradient of max_pool_grad w.r.t. its grad: reads gg at each window's first maximum."))
register(OpDef("avg_pool_grad", "opaque", _avg_grad_infer, _avg_pool_grad_ref, arity=1,
               lower_kernel=_avg_pool_grad_kernel, cheap=False,
               grad=lambda em, ins, outs, attrs, gs: [em.avg_pool(gs[0], **pool_attrs(attrs))],
               doc="Gradient of avg_pool. attrs: orig_input_shape + pooling attrs."))
