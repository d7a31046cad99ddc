"""2-D convolutions (NHWC input, HWIO filter) and their gradients, as opaque kernels.

Ops (attrs strides, padding, dilations, data_format='NHWC'; see window.py):
  conv2d(input, filter)                              -> [N, OH, OW, O]
  conv2d_backprop_input(filter, out_backprop)        attrs input_sizes  (= conv2d_transpose)
  conv2d_backprop_filter(input, out_backprop)        attrs filter_sizes
  depthwise_conv2d(input, filter[KH,KW,C,M])         -> [N, OH, OW, C*M]
  depthwise_conv2d_backprop_input / _backprop_filter (same operand conventions)

Every op is linear in each operand, so each one's gradients are the other two ops of its
family. Kernels: the outermost parallel loop runs over rows of the result (output rows for
the forward and input gradient, filter taps for the filter gradient), so threads never
write the same element; the innermost loop runs over contiguous output channels.
Out-of-image taps (padding) are skipped with `If`, never loaded.
"""
from __future__ import annotations

import numpy as np

from ..ir import TensorType
from ..shapes import dim_mul
from ..loopir import INDEX, Binary, Const, Declare, Assign, If, Let, Load, Loop, Store, Var
from .common import same_dtype
from .index_util import all_of, idx, shape_str, static_eq
from .registry import OpDef, OpError, register
from .window import Window

WINDOW_ATTRS = ("strides", "padding", "dilations", "data_format")


def window_attrs(attrs) -> dict:
    return {k: attrs[k] for k in WINDOW_ATTRS if k in attrs}


def _check_rank4(op, t, what):
    if t.rank != 4:
        raise OpError(f"{op}: {what} must be 4-D ({'NHWC' if what != 'filter' else 'HWIO'}), got {shape_str(t)}")
    if not t.dtype.is_floating:
        raise OpError(f"{op}: {what} must be floating-point, got {shape_str(t)}")


def conv_output_shape(op, x_shape, w_shape, attrs, depthwise):
    """Output shape of conv2d / depthwise_conv2d for input and filter shapes."""
    win = Window(attrs, op, w_shape[:2])
    n, h, w, c = x_shape
    kh, kw, wc, o = w_shape
    if not static_eq(c, wc):
        raise OpError(f"{op}: input depth {c} does not match the filter's input depth {wc} (input "
                      f"{list(x_shape)}, filter {list(w_shape)})")
    out_c = dim_mul(c, o) if depthwise else o
    return (n, win.out_dim(h, 0), win.out_dim(w, 1), out_c)


def _forward_infer(op, depthwise):
    def infer(types, attrs):
        x, w = types
        _check_rank4(op, x, "input")
        _check_rank4(op, w, "filter")
        same_dtype(op, types)
        return [TensorType(conv_output_shape(op, x.shape, w.shape, attrs, depthwise), x.dtype)]
    return infer


def _backprop_input_infer(op, forward, depthwise):
    def infer(types, attrs):
        w, dy = types
        _check_rank4(op, w, "filter")
        _check_rank4(op, dy, "out_backprop")
        same_dtype(op, types)
        sizes = tuple(attrs["input_sizes"])
        if len(sizes) != 4:
            raise OpError(f"{op}: input_sizes must have 4 entries (NHWC), got {list(sizes)}")
        want = conv_output_shape(forward, sizes, w.shape, attrs, depthwise)
        if not all(static_eq(a, b) for a, b in zip(want, dy.shape)):
            raise OpError(f"{op}: out_backprop {shape_str(dy)} does not match the {forward} output "
                          f"{list(want)} for input_sizes {list(sizes)} and filter {shape_str(w)}")
        return [TensorType(sizes, w.dtype)]
    return infer


def _backprop_filter_infer(op, forward, depthwise):
    def infer(types, attrs):
        x, dy = types
        _check_rank4(op, x, "input")
        _check_rank4(op, dy, "out_backprop")
        same_dtype(op, types)
        sizes = tuple(attrs["filter_sizes"])
        if len(sizes) != 4:
            raise OpError(f"{op}: filter_sizes must have 4 entries (HWIO), got {list(sizes)}")
        want = conv_output_shape(forward, x.shape, sizes, attrs, depthwise)
        if not all(static_eq(a, b) for a, b in zip(want, dy.shape)):
            raise OpError(f"{op}: out_backprop {shape_str(dy)} does not match the {forward} output "
                          f"{list(want)} for input {shape_str(x)} and filter_sizes {list(sizes)}")
        return [TensorType(sizes, x.dtype)]
    return infer


# ------------------------------------------------------------------------------ references
def _geometry(x_shape, w_shape, attrs, op):
    win = Window(attrs, op, w_shape[:2])
    h, w = x_shape[1], x_shape[2]
    oh, ow = win.out_dim(h, 0), win.out_dim(w, 1)
    pt, pl = win.pad_before(h, 0), win.pad_before(w, 1)
    pb = max((oh - 1) * win.strides[0] + win.effective(0) - h - pt, 0)
    pr = max((ow - 1) * win.strides[1] + win.effective(1) - w - pl, 0)
    return win, oh, ow, (pt, pb), (pl, pr)


def _taps(win, oh, ow):
    """(kh, kw, row slice, col slice) of the padded input each filter tap reads."""
    sh, sw = win.strides
    dh, dw = win.dilations
    for kh in range(win.kernel[0]):
        for kw in range(win.kernel[1]):
            yield (kh, kw, slice(kh * dh, kh * dh + (oh - 1) * sh + 1, sh),
                   slice(kw * dw, kw * dw + (ow - 1) * sw + 1, sw))


def conv_reference(x, w, attrs, depthwise=False, op="conv2d"):
    n, h, wd, c = x.shape
    win, oh, ow, (pt, pb), (pl, pr) = _geometry(x.shape, w.shape, attrs, op)
    m = w.shape[3]
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    y = np.zeros((n, oh, ow, c * m if depthwise else m), x.dtype)
    if min(y.shape) == 0:
        return y
    for kh, kw, rs, cs in _taps(win, oh, ow):
        patch = xp[:, rs, cs, :]
        if depthwise:
            y += (patch[..., :, None] * w[kh, kw]).reshape(y.shape)
        else:
            y += np.tensordot(patch, w[kh, kw], axes=([3], [0]))
    return y


def conv_backprop_input_reference(w, dy, sizes, attrs, depthwise=False, op="conv2d"):
    n, h, wd, c = sizes
    win, oh, ow, (pt, pb), (pl, pr) = _geometry(sizes, w.shape, attrs, op)
    dxp = np.zeros((n, h + pt + pb, wd + pl + pr, c), dy.dtype)
    m = w.shape[3]
    if dy.size:
        for kh, kw, rs, cs in _taps(win, oh, ow):
            if depthwise:
                dxp[:, rs, cs, :] += np.sum(dy.reshape(n, oh, ow, c, m) * w[kh, kw], axis=-1)
            else:
                dxp[:, rs, cs, :] += np.tensordot(dy, w[kh, kw], axes=([3], [1]))
    return np.ascontiguousarray(dxp[:, pt:pt + h, pl:pl + wd, :])


def conv_backprop_filter_reference(x, dy, sizes, attrs, depthwise=False, op="conv2d"):
    n, h, wd, c = x.shape
    win, oh, ow, (pt, pb), (pl, pr) = _geometry(x.shape, sizes, attrs, op)
    m = sizes[3]
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    dw = np.zeros(tuple(sizes), x.dtype)
    if dy.size:
        for kh, kw, rs, cs in _taps(win, oh, ow):
            patch = xp[:, rs, cs, :]
            if depthwise:
                dw[kh, kw] = np.sum(patch[..., :, None] * dy.reshape(n, oh, ow, c, m), axis=(0, 1, 2))
            else:
                dw[kh, kw] = np.tensordot(patch, dy, axes=([0, 1, 2], [0, 1, 2]))
    return dw


# --------------------------------------------------------------------------------- kernels
class _Geo:
    """Index expressions for one kernel: dims, strides, dilations and padding as Exprs."""

    def __init__(self, attrs, op, x_shape, w_shape, y_shape):
        self.win = Window(attrs, op, w_shape[:2])
        self.N, self.H, self.W, self.C = (idx(d) for d in x_shape)
        self.KH, self.KW = (Const(int(k), INDEX) for k in w_shape[:2])
        self.M = idx(w_shape[3])                       # filter output channels (multiplier if depthwise)
        self.OH, self.OW, self.OC = idx(y_shape[1]), idx(y_shape[2]), idx(y_shape[3])
        self.sh, self.sw = (Const(s, INDEX) for s in self.win.strides)
        self.dh, self.dw = (Const(d, INDEX) for d in self.win.dilations)
        self.pt = self.win.pad_before_expr(x_shape[1], 0)
        self.pl = self.win.pad_before_expr(x_shape[2], 1)


def _in_range(e, hi):
    return Binary("and", Binary("ge", e, Const(0, INDEX)), Binary("lt", e, hi))


def _source_ok(t, stride, out_extent):
    """t = out*stride for some 0 <= out < extent?  Returns (condition, out)."""
    zero = Const(0, INDEX)
    if isinstance(stride, Const) and stride.value == 1:
        return _in_range(t, out_extent), t
    out = Binary("floordiv", t, stride)
    return all_of([Binary("ge", t, zero), Binary("eq", Binary("mod", t, stride), zero),
                   Binary("lt", out, out_extent)]), out


def _vars(kctx, *names):
    return [Var(kctx.fresh(n)) for n in names]


def conv_forward_kernel(kctx, op, depthwise):
    (x_t, w_t), y_t = kctx.in_types, kctx.out_types[0]
    xb, wb = kctx.inputs
    yb = kctx.outputs[0]
    G = _Geo(kctx.attrs, op, x_t.shape, w_t.shape, y_t.shape)
    d = y_t.dtype
    q, ow, o, kh, kw, c = _vars(kctx, "q", "ow", "o", "kh", "kw", "c")
    ybase, ih, iw, xv = _vars(kctx, "ybase", "ih", "iw", "xv")
    n, oh = Binary("floordiv", q, G.OH), Binary("mod", q, G.OH)
    ych = (c * G.M + o) if depthwise else o
    weight = Load(wb, ((kh * G.KW + kw) * G.C + c) * G.M + o, d)
    update = Store(yb, ybase + ych, Binary("add", Load(yb, ybase + ych, d), Binary("mul", Var(xv.name, d), weight)))
    per_channel = [Let(xv.name, Load(xb, ((n * G.H + ih) * G.W + iw) * G.C + c, d)),
                   Loop(o.name, G.M, [update])]
    taps = Loop(kh.name, G.KH, [
        Let(ih.name, oh * G.sh + kh * G.dh - G.pt),
        If(_in_range(ih, G.H), [Loop(kw.name, G.KW, [
            Let(iw.name, ow * G.sw + kw * G.dw - G.pl),
            If(_in_range(iw, G.W), [Loop(c.name, G.C, per_channel)])])])])
    zero = Loop(o.name, G.OC, [Store(yb, ybase + o, Const(0, d))])
    body = [Loop(ow.name, G.OW, [Let(ybase.name, (q * G.OW + ow) * G.OC), zero, taps])]
    return [Loop(q.name, G.N * G.OH, body, "parallel")]


def conv_backprop_input_kernel(kctx, op, depthwise):
    (w_t, dy_t), dx_t = kctx.in_types, kctx.out_types[0]
    wb, gb = kctx.inputs
    dxb = kctx.outputs[0]
    G = _Geo(kctx.attrs, op, dx_t.shape, w_t.shape, dy_t.shape)
    d = dx_t.dtype
    q, iw, c, kh, kw, o = _vars(kctx, "q", "iw", "c", "kh", "kw", "o")
    th, tw, oh_v, ow_v, gbase = _vars(kctx, "th", "tw", "oh", "ow", "gbase")
    acc = kctx.fresh("acc")
    n, ih = Binary("floordiv", q, G.H), Binary("mod", q, G.H)
    ok_h, oh = _source_ok(th, G.sh, G.OH)
    ok_w, ow = _source_ok(tw, G.sw, G.OW)
    gch = (c * G.M + o) if depthwise else o
    inner = Loop(o.name, G.M, [Assign(acc, Binary("add", Var(acc, d), Binary(
        "mul", Load(gb, gbase + gch, d), Load(wb, ((kh * G.KW + kw) * G.C + c) * G.M + o, d))))], "reduce")
    taps = Loop(kh.name, G.KH, [
        Let(th.name, ih + G.pt - kh * G.dh),
        If(ok_h, [Let(oh_v.name, oh), Loop(kw.name, G.KW, [
            Let(tw.name, iw + G.pl - kw * G.dw),
            If(ok_w, [Let(ow_v.name, ow), Let(gbase.name, ((n * G.OH + oh_v) * G.OW + ow_v) * G.OC), inner])])])])
    per_pixel = Loop(c.name, G.C, [Declare(acc, Const(0, d)), taps,
                                    Store(dxb, (q * G.W + iw) * G.C + c, Var(acc, d))])
    return [Loop(q.name, G.N * G.H, [Loop(iw.name, G.W, [per_pixel])], "parallel")]


FILTER_GRAD_ROWS = 8   # channels accumulated together by the filter gradient


def conv_backprop_filter_kernel(kctx, op, depthwise):
    """Parallel over (filter tap, block of R input channels). For each input pixel the tap
    reads, R rows of the tap's [C, M] slice accumulate x[..., c] * dy[..., :] in one loop over
    the contiguous output channels (R stores per dy load: dy is re-read C/R times, not C)."""
    (x_t, dy_t), dw_t = kctx.in_types, kctx.out_types[0]
    xb, gb = kctx.inputs
    dwb = kctx.outputs[0]
    G = _Geo(kctx.attrs, op, x_t.shape, dw_t.shape, dy_t.shape)
    d = dw_t.dtype
    c_dim = x_t.shape[3]
    rows = next(r for r in (FILTER_GRAD_ROWS, 4, 2, 1) if isinstance(c_dim, int) and c_dim % r == 0) \
        if isinstance(c_dim, int) else 1
    R = Const(rows, INDEX)
    q, o, n, oh, ow = _vars(kctx, "q", "o", "n", "oh", "ow")
    ih, iw, gbase, gv = _vars(kctx, "ih", "iw", "gbase", "gv")
    blocks = Binary("floordiv", G.C, R) if rows > 1 else G.C
    tap = Binary("floordiv", q, blocks)
    c0 = Binary("mod", q, blocks) * R if rows > 1 else Binary("mod", q, blocks)
    kh, kw = Binary("floordiv", tap, G.KW), Binary("mod", tap, G.KW)
    xs = _vars(kctx, *["xv"] * rows)
    at = [(tap * G.C + c0 + Const(j, INDEX)) * G.M + o for j in range(rows)]
    if depthwise:   # each channel reads its own dy channels: one load per row
        updates = [Store(dwb, at[j], Binary("add", Load(dwb, at[j], d), Binary(
            "mul", Var(xs[j].name, d), Load(gb, gbase + (c0 + Const(j, INDEX)) * G.M + o, d)))) for j in range(rows)]
    else:
        updates = [Let(gv.name, Load(gb, gbase + o, d))] + [
            Store(dwb, at[j], Binary("add", Load(dwb, at[j], d), Binary("mul", Var(xs[j].name, d), Var(gv.name, d))))
            for j in range(rows)]
    loads = [Let(xs[j].name, Load(xb, ((n * G.H + ih) * G.W + iw) * G.C + c0 + Const(j, INDEX), d))
             for j in range(rows)]
    cols = Loop(ow.name, G.OW, [
        Let(iw.name, ow * G.sw + kw * G.dw - G.pl),
        If(_in_range(iw, G.W), [Let(gbase.name, ((n * G.OH + oh) * G.OW + ow) * G.OC)] + loads +
           [Loop(o.name, G.M, updates)])])
    pixels = Loop(n.name, G.N, [Loop(oh.name, G.OH, [
        Let(ih.name, oh * G.sh + kh * G.dh - G.pt),
        If(_in_range(ih, G.H), [cols])])])
    zero = Loop(o.name, G.M, [Store(dwb, a, Const(0, d)) for a in at])
    return [Loop(q.name, G.KH * G.KW * blocks, [zero, pixels], "parallel")]


# ----------------------------------------------------------------------------- registration
def _register_family(prefix, depthwise):
    fwd, bpi, bpf = prefix, f"{prefix}_backprop_input", f"{prefix}_backprop_filter"

    def fwd_grad(em, inputs, outputs, attrs, grads):
        x, w = inputs
        wa = window_attrs(attrs)
        return [em.emit(bpi, w, grads[0], input_sizes=tuple(em.type(x).shape), **wa),
                em.emit(bpf, x, grads[0], filter_sizes=tuple(em.type(w).shape), **wa)]

    def bpi_grad(em, inputs, outputs, attrs, grads):
        w, dy = inputs
        wa = window_attrs(attrs)
        return [em.emit(bpf, grads[0], dy, filter_sizes=tuple(em.type(w).shape), **wa),
                em.emit(fwd, grads[0], w, **wa)]

    def bpf_grad(em, inputs, outputs, attrs, grads):
        x, dy = inputs
        wa = window_attrs(attrs)
        return [em.emit(bpi, grads[0], dy, input_sizes=tuple(em.type(x).shape), **wa),
                em.emit(fwd, x, grads[0], **wa)]

    kind = "depthwise " if depthwise else ""
    register(OpDef(fwd, "opaque", _forward_infer(fwd, depthwise),
                   lambda arrays, attrs: [conv_reference(*arrays, attrs, depthwise, fwd)], arity=2,
                   lower_kernel=lambda kctx: conv_forward_kernel(kctx, fwd, depthwise), grad=fwd_grad, cheap=False,
                   doc=f"2-D {kind}convolution, NHWC input. attrs: strides, padding, dilations, data_format."))
    register(OpDef(bpi, "opaque", _backprop_input_infer(bpi, fwd, depthwise),
                   lambda arrays, attrs: [conv_backprop_input_reference(
                       *arrays, tuple(int(s) for s in attrs["input_sizes"]), attrs, depthwise, fwd)], arity=2,
                   lower_kernel=lambda kctx: conv_backprop_input_kernel(kctx, fwd, depthwise), grad=bpi_grad,
                   cheap=False, doc=f"Gradient of {fwd} w.r.t. its input (the transposed convolution). "
                                    f"Operands: filter, out_backprop. attrs: input_sizes + window attrs."))
    register(OpDef(bpf, "opaque", _backprop_filter_infer(bpf, fwd, depthwise),
                   lambda arrays, attrs: [conv_backprop_filter_reference(
                       *arrays, tuple(int(s) for s in attrs["filter_sizes"]), attrs, depthwise, fwd)], arity=2,
                   lower_kernel=lambda kctx: conv_backprop_filter_kernel(kctx, fwd, depthwise), grad=bpf_grad,
                   cheap=False, doc=f"Gradient of {fwd} w.r.t. its filter. Operands: input, out_backprop. "
                                    f"attrs: filter_sizes + window attrs."))


_register_family("conv2d", depthwise=False)
_register_family("depthwise_conv2d", depthwise=True)
