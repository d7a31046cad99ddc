"""Shape and movement ops beyond broadcast/reshape/transpose: identity, stop_gradient,
expand_dims, squeeze, concat, stack, unstack, split, slice, strided_slice (+ its gradient),
pad, tile, reverse.

Index maps (kind `injective`) never materialize; expand_dims, squeeze, stack, unstack and
split are composites that decompose into reshape/concat/slice before autodiff, so their
gradients come from those primitives. Every index map clamps the operand index it loads
with, because the code generator evaluates both arms of a `Select`.

Strided slices are canonicalized when the graph is built (`canonical_strided_slice`, which
the frontend's `__getitem__` calls): ellipsis, masks and new axes are resolved into one
(begin, end, stride) triple per input axis plus the shrunk input axes and the output
positions of new axes. Begin/end stay relative (negative = from the end, None = to the
edge), so the same attrs apply to any actual shape, symbolic dims included.
"""
from __future__ import annotations

import numpy as np

from ..ir import TensorType
from ..loopir import INDEX, Binary, Const, Select
from ..shapes import Dim, SymDim, dim_add, format_shape, normalize_axis
from .common import same_dtype
from .index_util import (IN_RANGE, all_of, ceil_div, clamp_to_dim, dim_sub, idx, shape_str, static_eq)
from .registry import OpDef, OpError, register


def _shape(t) -> str:
    return shape_str(t)


# --------------------------------------------------------------------- identity, stop_gradient
def _identity_infer(types, attrs):
    return [types[0]]


register(OpDef("identity", "elementwise", _identity_infer, lambda arrays, attrs: [arrays[0].copy()], arity=1,
               scalar=lambda args, attrs, d: args[0],
               grad=lambda em, ins, outs, attrs, gs: [gs[0]],
               doc="Returns its operand."))

register(OpDef("stop_gradient", "elementwise", _identity_infer, lambda arrays, attrs: [arrays[0].copy()],
               arity=1, scalar=lambda args, attrs, d: args[0], differentiable=False,
               doc="Identity in the forward pass; blocks gradients."))


# ---------------------------------------------------------------------- expand_dims, squeeze
def _expand_shape(t, axis):
    rank = t.rank
    if not -rank - 1 <= axis <= rank:
        raise OpError(f"expand_dims: axis {axis} is out of range for {_shape(t)} (allowed [{-rank - 1}, {rank}])")
    a = axis if axis >= 0 else axis + rank + 1
    return tuple(t.shape[:a]) + (1,) + tuple(t.shape[a:])


register(OpDef(
    "expand_dims", "composite",
    lambda types, attrs: [TensorType(_expand_shape(types[0], int(attrs["axis"])), types[0].dtype)],
    lambda arrays, attrs: [np.expand_dims(arrays[0], int(attrs["axis"]))], arity=1,
    decompose=lambda em, ins, attrs: [em.reshape(ins[0], shape=_expand_shape(em.type(ins[0]), int(attrs["axis"])))],
    doc="Insert a size-1 axis. attrs: axis. Decomposes to reshape."))


def _squeeze_shape(t, axes):
    if axes is None or (isinstance(axes, tuple) and len(axes) == 0):
        return tuple(d for d in t.shape if d != 1)
    axes = (axes,) if isinstance(axes, int) else axes
    norm = set()
    for a in axes:
        if not -t.rank <= a < t.rank:
            raise OpError(f"squeeze: axis {a} is out of range for {_shape(t)}")
        a = a % t.rank
        if isinstance(t.shape[a], int) and t.shape[a] != 1:
            raise OpError(f"squeeze: cannot squeeze axis {a} of {_shape(t)}: its size is {t.shape[a]}, not 1")
        norm.add(a)
    return tuple(d for i, d in enumerate(t.shape) if i not in norm)


def _squeeze_ref(arrays, attrs):
    x = arrays[0]
    return [x.reshape(_squeeze_shape(TensorType(x.shape, None), attrs.get("axis")))]


register(OpDef(
    "squeeze", "composite",
    lambda types, attrs: [TensorType(_squeeze_shape(types[0], attrs.get("axis")), types[0].dtype)],
    _squeeze_ref, arity=1,
    decompose=lambda em, ins, attrs: [em.reshape(ins[0], shape=_squeeze_shape(em.type(ins[0]), attrs.get("axis")))],
    doc="Remove size-1 axes. attrs: axis (None = every static size-1 axis). Decomposes to reshape."))


# ----------------------------------------------------------------------------------- concat
def _concat_infer(types, attrs):
    if not types:
        raise OpError("concat: needs at least one operand")
    d = same_dtype("concat", types)
    rank = types[0].rank
    if rank == 0:
        raise OpError(f"concat: cannot concatenate scalars ({', '.join(_shape(t) for t in types)})")
    axis = normalize_axis(int(attrs["axis"]), rank, "concat")
    total: Dim = 0
    for t in types:
        if t.rank != rank:
            raise OpError(f"concat: operands have different ranks: {', '.join(_shape(t) for t in types)}")
        for i, (a, b) in enumerate(zip(t.shape, types[0].shape)):
            if i != axis and not static_eq(a, b):
                raise OpError(f"concat: dimension {i} differs ({a} vs {b}) along non-concat axis; operands "
                              f"{', '.join(_shape(t) for t in types)}, axis {axis}")
        total = dim_add(total, t.shape[axis])
    shape = list(types[0].shape)
    shape[axis] = total
    return [TensorType(tuple(shape), d)]


def _offsets(sizes):
    offs: list = [0]
    for s in sizes:
        offs.append(dim_add(offs[-1], s))
    return offs


def _concat_index(ctx, out_index):
    rank = ctx.out_type.rank
    axis = normalize_axis(int(ctx.attrs["axis"]), rank, "concat")
    sizes = [t.shape[axis] for t in ctx.in_types]
    offs = _offsets(sizes)
    pieces = [p for p, s in enumerate(sizes) if s != 0]
    if not pieces:
        return Const(0, ctx.out_type.dtype)
    k = out_index[axis]

    def piece(p):
        local = clamp_to_dim(k - idx(offs[p]), sizes[p]) if len(pieces) > 1 else k
        return ctx.input(p, out_index[:axis] + [local] + out_index[axis + 1:])

    expr = piece(pieces[-1])
    for p in reversed(pieces[:-1]):
        expr = Select(Binary("lt", k, idx(offs[p + 1])), piece(p), expr)
    return expr


def _concat_grad(em, inputs, outputs, attrs, grads):
    g = grads[0]
    shape = em.type(g).shape
    axis = normalize_axis(int(attrs["axis"]), len(shape), "concat")
    sizes = [em.type(v).shape[axis] for v in inputs]
    offs = _offsets(sizes)
    res = []
    for p, s in enumerate(sizes):
        begin = tuple(offs[p] if i == axis else 0 for i in range(len(shape)))
        size = tuple(s if i == axis else d for i, d in enumerate(em.type(inputs[p]).shape))
        res.append(em.slice(g, begin=begin, size=size))
    return res


register(OpDef("concat", "injective", _concat_infer,
               lambda arrays, attrs: [np.concatenate(arrays, axis=int(attrs["axis"]))],
               index=_concat_index, grad=_concat_grad,
               doc="Concatenate along `axis` (variadic). Index map: nested selects over the pieces.", extra=IN_RANGE))


# --------------------------------------------------------------------------- stack, unstack
def _stack_infer(types, attrs):
    if not types:
        raise OpError("stack: needs at least one operand")
    d = same_dtype("stack", types)
    for t in types:
        if t.rank != types[0].rank or not all(static_eq(a, b) for a, b in zip(t.shape, types[0].shape)):
            raise OpError(f"stack: operands must have equal shapes, got {', '.join(_shape(t) for t in types)}")
    rank = types[0].rank
    axis = int(attrs["axis"])
    if not -rank - 1 <= axis <= rank:
        raise OpError(f"stack: axis {axis} is out of range for operands of rank {rank}")
    a = axis % (rank + 1)
    return [TensorType(tuple(types[0].shape[:a]) + (len(types),) + tuple(types[0].shape[a:]), d)]


def _stack_decompose(em, inputs, attrs):
    rank = em.type(inputs[0]).rank
    a = int(attrs["axis"]) % (rank + 1)
    shape = em.type(inputs[0]).shape
    expanded = [em.reshape(v, shape=tuple(shape[:a]) + (1,) + tuple(shape[a:])) for v in inputs]
    return [expanded[0] if len(expanded) == 1 else em.concat(*expanded, axis=a)]


register(OpDef("stack", "composite", _stack_infer,
               lambda arrays, attrs: [np.stack(arrays, axis=int(attrs["axis"]))], decompose=_stack_decompose,
               doc="Stack equal-shaped operands along a new axis. attrs: axis. Decomposes to reshape+concat."))


def _unstack_infer(types, attrs):
    (t,) = types
    axis = normalize_axis(int(attrs["axis"]), t.rank, "unstack")
    n = t.shape[axis]
    if not isinstance(n, int):
        raise OpError(f"unstack: the size of axis {axis} of {_shape(t)} must be known")
    if attrs.get("num") is not None and int(attrs["num"]) != n:
        raise OpError(f"unstack: num={attrs['num']} does not match the size {n} of axis {axis} of {_shape(t)}")
    out = tuple(d for i, d in enumerate(t.shape) if i != axis)
    return [TensorType(out, t.dtype)] * n


def _unstack_decompose(em, inputs, attrs):
    (x,) = inputs
    t = em.type(x)
    axis = normalize_axis(int(attrs["axis"]), t.rank, "unstack")
    out_shape = tuple(d for i, d in enumerate(t.shape) if i != axis)
    res = []
    for k in range(t.shape[axis]):
        begin = tuple(k if i == axis else 0 for i in range(t.rank))
        size = tuple(1 if i == axis else d for i, d in enumerate(t.shape))
        res.append(em.reshape(em.slice(x, begin=begin, size=size), shape=out_shape))
    return res


register(OpDef("unstack", "composite", _unstack_infer,
               lambda arrays, attrs: [np.take(arrays[0], k, axis=int(attrs["axis"]))
                                      for k in range(arrays[0].shape[int(attrs["axis"])])],
               arity=1, decompose=_unstack_decompose,
               doc="Split along `axis` into its slices (one output each). attrs: axis, num (optional)."))


# ------------------------------------------------------------------------------------ split
def split_sizes(t, attrs):
    axis = normalize_axis(int(attrs["axis"]), t.rank, "split")
    d = t.shape[axis]
    if attrs.get("sizes") is not None:
        sizes = [int(s) for s in attrs["sizes"]]
        if sizes.count(-1) > 1:
            raise OpError(f"split: at most one size may be -1, got {sizes}")
        known = sum(s for s in sizes if s != -1)
        if -1 in sizes:
            sizes[sizes.index(-1)] = dim_sub(d, known)
        elif not static_eq(d, known):
            raise OpError(f"split: sizes {sizes} sum to {known}, but axis {axis} of {_shape(t)} has size {d}")
        if isinstance(d, int) and any(isinstance(s, int) and s < 0 for s in sizes):
            raise OpError(f"split: sizes {list(attrs['sizes'])} do not fit axis {axis} of {_shape(t)}")
        return axis, sizes
    n = int(attrs["num"])
    if n <= 0:
        raise OpError(f"split: num must be positive, got {n}")
    if isinstance(d, int):
        if d % n:
            raise OpError(f"split: axis {axis} of {_shape(t)} (size {d}) is not divisible by num={n}")
        return axis, [d // n] * n
    from ..shapes import dim_floordiv
    return axis, [dim_floordiv(d, n)] * n


def _split_infer(types, attrs):
    (t,) = types
    axis, sizes = split_sizes(t, attrs)
    return [TensorType(tuple(s if i == axis else d for i, d in enumerate(t.shape)), t.dtype) for s in sizes]


def _split_ref(arrays, attrs):
    x = arrays[0]
    axis, sizes = split_sizes(TensorType(x.shape, None), attrs)
    offs = np.cumsum([0] + sizes)
    return [np.take(x, np.arange(offs[i], offs[i + 1]), axis=axis) for i in range(len(sizes))]


def _split_decompose(em, inputs, attrs):
    (x,) = inputs
    t = em.type(x)
    axis, sizes = split_sizes(t, attrs)
    total = _sum_dims(sizes)
    resolved = attrs.get("sizes") is not None and -1 in [int(s) for s in attrs["sizes"]]
    if isinstance(t.shape[axis], SymDim) and not resolved and total != t.shape[axis]:
        # The parts were sized without knowing the axis: a reshape to their total makes the
        # runtime check the element counts (slices alone would drop the surplus silently).
        x = em.reshape(x, shape=tuple(total if i == axis else d for i, d in enumerate(t.shape)))
    offs = _offsets(sizes)
    return [em.slice(x, begin=tuple(offs[p] if i == axis else 0 for i in range(t.rank)),
                     size=tuple(s if i == axis else d for i, d in enumerate(t.shape)))
            for p, s in enumerate(sizes)]


def _sum_dims(dims):
    total = 0
    for d in dims:
        total = dim_add(total, d)
    return total


register(OpDef("split", "composite", _split_infer, _split_ref, arity=1, decompose=_split_decompose,
               doc="Split along `axis` into `num` equal parts or parts of `sizes` (one -1 allowed)."))


# ------------------------------------------------------------------------------------ slice
def slice_sizes(t, attrs):
    """(begins, sizes, symbolic_checks) with size -1 resolved; raises for static out-of-range."""
    begin, size = tuple(attrs["begin"]), tuple(attrs["size"])
    if len(begin) != t.rank or len(size) != t.rank:
        raise OpError(f"slice: begin {list(begin)} and size {list(size)} must have one entry per axis of "
                      f"{_shape(t)}")
    sizes, checks = [], []
    for a, (d, b, s) in enumerate(zip(t.shape, begin, size)):
        if isinstance(s, int) and s == -1:
            s = dim_sub(d, b)
        elif isinstance(d, SymDim):
            checks.append(a)
        if isinstance(d, int) and isinstance(b, int) and isinstance(s, int):
            if b < 0 or s < 0 or b + s > d:
                raise OpError(f"slice: begin {list(begin)} and size {list(size)} are out of range for "
                              f"{_shape(t)} (axis {a})")
        sizes.append(s)
    return begin, tuple(sizes), checks


def _slice_infer(types, attrs):
    (t,) = types
    _, sizes, _ = slice_sizes(t, attrs)
    return [TensorType(sizes, t.dtype)]


def _slice_ref(arrays, attrs):
    x = arrays[0]
    begin, sizes, _ = slice_sizes(TensorType(x.shape, None), attrs)
    return [x[tuple(slice(b, b + s) for b, s in zip(begin, sizes))].copy()]


def _slice_index(ctx, out_index):
    t = ctx.in_types[0]
    begin, sizes, checks = slice_sizes(t, ctx.attrs)
    src = []
    for a, (i, b) in enumerate(zip(out_index, begin)):
        j = i + idx(b) if b != 0 else i
        if a in checks:  # symbolic dim: the slice was assumed in range, verify and clamp
            ctx.check(Binary("ge", j, idx(t.shape[a])), f"slice begin {list(begin)} size {list(sizes)} is out "
                                                        f"of range for axis {a} of {format_shape(t.shape)}")
            j = clamp_to_dim(j, t.shape[a])
        src.append(j)
    return ctx.input(0, src)


def _slice_grad(em, inputs, outputs, attrs, grads):
    t = em.type(inputs[0])
    begin, sizes, _ = slice_sizes(t, attrs)
    pads = tuple((b, dim_sub(dim_sub(d, b), s)) for d, b, s in zip(t.shape, begin, sizes))
    return [em.pad(grads[0], paddings=pads, mode="constant", constant_value=0)]


register(OpDef("slice", "injective", _slice_infer, _slice_ref, arity=1, index=_slice_index, grad=_slice_grad,
               doc="x[begin : begin+size] per axis. attrs: begin, size (-1 = to the end).", extra=IN_RANGE))


# ---------------------------------------------------------------------------- strided_slice
def canonical_strided_slice(shape, begin, end, strides=None, begin_mask=0, end_mask=0, ellipsis_mask=0,
                            new_axis_mask=0, shrink_axis_mask=0) -> dict:
    """TF's StridedSlice spec -> the canonical attrs of the `strided_slice` op.

    `shape` only needs the right length (dims may be None). Returns a dict with one
    (begin, end, stride) per input axis (begin/end None = to the edge in the stride's
    direction), `shrink_axes` (input axes indexed by an integer and removed) and `new_axes`
    (output positions of inserted size-1 axes)."""
    rank = len(shape)
    n = len(begin)
    strides = [1] * n if strides is None else list(strides)
    if len(end) != n or len(strides) != n:
        raise OpError(f"strided_slice: begin, end and strides must have the same length, got "
                      f"{len(begin)}, {len(end)}, {len(strides)}")
    bit = lambda mask, i: bool((int(mask) >> i) & 1)
    ellipses = [i for i in range(n) if bit(ellipsis_mask, i)]
    if len(ellipses) > 1:
        raise OpError("strided_slice: multiple ellipses in a slice spec are not allowed")
    consuming = sum(1 for i in range(n) if not bit(ellipsis_mask, i) and not bit(new_axis_mask, i))
    if consuming > rank:
        raise OpError(f"strided_slice: the slice spec indexes {consuming} axes but the tensor has rank {rank} "
                      f"(shape {format_shape(['?' if d is None else d for d in shape])})")
    B, E, S, shrink, new_axes = [], [], [], [], []
    out_pos = 0

    def full():
        nonlocal out_pos
        B.append(None), E.append(None), S.append(1)
        out_pos += 1

    for i in range(n):
        if bit(ellipsis_mask, i):
            for _ in range(rank - consuming):
                full()
        elif bit(new_axis_mask, i):
            new_axes.append(out_pos)
            out_pos += 1
        else:
            s = int(strides[i])
            if s == 0:
                raise OpError(f"strided_slice: stride {i} is zero")
            b = None if bit(begin_mask, i) else int(begin[i])
            e = None if bit(end_mask, i) else int(end[i])
            if bit(shrink_axis_mask, i):
                if s < 0:
                    raise OpError("strided_slice: only stride 1 is allowed on an indexed (shrunk) axis")
                shrink.append(len(B))
                B.append(b), E.append(None), S.append(1)
            else:
                B.append(b), E.append(e), S.append(s)
                out_pos += 1
    while len(B) < rank:
        full()
    return {"begin": tuple(B), "end": tuple(E), "strides": tuple(S), "shrink_axes": tuple(shrink),
            "new_axes": tuple(new_axes)}


def resolve_strided_axis(d: Dim, b, e, s: int, shrink: bool, axis: int, t=None):
    """(start, size, assumed) of one input axis. `assumed` marks symbolic dims where the
    slice is taken to be in range (TF would clamp): lowerings verify and clamp those reads."""
    where = f"axis {axis}" + (f" of {_shape(t)}" if t is not None else "")
    if shrink:
        b = 0 if b is None else b
        if isinstance(d, int):
            start = b + d if b < 0 else b
            if not 0 <= start < d:
                raise OpError(f"strided_slice: index {b} is out of bounds for {where} (size {d})")
            return start, 1, False
        return (dim_add(d, b) if b < 0 else b), 1, True
    if isinstance(d, int):
        start, stop, step = slice(b, e, s).indices(d)
        return start, len(range(start, stop, step)), False
    if s > 0:
        start = 0 if b is None else (dim_add(d, b) if b < 0 else b)
        stop = d if e is None else (dim_add(d, e) if e < 0 else e)
        span = dim_sub(stop, start)
    else:
        start = dim_add(d, -1) if b is None else (dim_add(d, b) if b < 0 else b)
        stop = -1 if e is None else (dim_add(d, e) if e < 0 else e)
        span = dim_sub(start, stop)
    try:
        size = ceil_div(span, abs(s))
    except OpError:
        raise OpError(f"strided_slice: cannot size the slice {b}:{e}:{s} of symbolic {where}") from None
    if isinstance(size, int) and size <= 0:
        # begin and end both counted from the start and in the wrong order: empty for any size
        # (TF's clamping keeps their order), was a negative output dim
        return start, 0, False
    assumed = not (b is None and e is None)
    return start, size, assumed


def strided_layout(shape, attrs, t=None):
    """Per input axis (start, size, stride, assumed), and the output shape."""
    begin, end, strides = attrs["begin"], attrs["end"], attrs["strides"]
    shrink = set(attrs["shrink_axes"])
    if not (len(begin) == len(end) == len(strides) == len(shape)):
        raise OpError(f"strided_slice: canonical attrs cover {len(begin)} axes but the operand has rank "
                      f"{len(shape)}")
    axes = [resolve_strided_axis(d, b, e, int(s), k in shrink, k, t) + (int(s),)
            for k, (d, b, e, s) in enumerate(zip(shape, begin, end, strides))]
    axes = [(start, size, s, assumed) for start, size, assumed, s in axes]
    out = [size for k, (start, size, s, a) in enumerate(axes) if k not in shrink]
    for p in sorted(attrs["new_axes"]):
        if p > len(out):
            raise OpError(f"strided_slice: new axis position {p} is past the end of the output")
        out.insert(p, 1)
    return axes, tuple(out)


def _ss_infer(types, attrs):
    (t,) = types
    _, out = strided_layout(t.shape, attrs, t)
    return [TensorType(out, t.dtype)]


def _ss_ref(arrays, attrs):
    x = arrays[0]
    axes, out = strided_layout(x.shape, attrs)
    for k, (start, size, s, _) in enumerate(axes):
        x = np.take(x, start + s * np.arange(size, dtype=np.int64), axis=k)
    return [x.reshape(out).copy()]


def _without_new_axes(out_index, attrs):
    new = set(attrs["new_axes"])
    return [i for p, i in enumerate(out_index) if p not in new]


def _ss_index(ctx, out_index):
    t = ctx.in_types[0]
    axes, _ = strided_layout(t.shape, ctx.attrs, t)
    shrink = set(ctx.attrs["shrink_axes"])
    rest = iter(_without_new_axes(out_index, ctx.attrs))
    src = []
    for k, (start, size, s, assumed) in enumerate(axes):
        j = idx(start) if k in shrink else _axpy(next(rest), s, start)
        if assumed:
            ctx.check(Binary("or", Binary("lt", j, Const(0, INDEX)), Binary("ge", j, idx(t.shape[k]))),
                      f"strided_slice index out of range for axis {k} of {format_shape(t.shape)}")
            j = clamp_to_dim(j, t.shape[k])
        src.append(j)
    return ctx.input(0, src)


def _axpy(i, s, start):
    e = i if s == 1 else i * Const(s, INDEX)
    return e if start == 0 else e + idx(start)


def _ss_attrs(attrs):
    return {k: attrs[k] for k in ("begin", "end", "strides", "shrink_axes", "new_axes")}


register(OpDef("strided_slice", "injective", _ss_infer, _ss_ref, arity=1, index=_ss_index,
               grad=lambda em, ins, outs, attrs, gs: [em.strided_slice_grad(
                   gs[0], shape=tuple(em.type(ins[0]).shape), **_ss_attrs(attrs))],
               doc="x[b:e:s, ...] in canonical form (see canonical_strided_slice). attrs: begin, end, "
                   "strides, shrink_axes, new_axes.", extra=IN_RANGE))


def _ssg_infer(types, attrs):
    (g,) = types
    shape = tuple(attrs["shape"])
    _, out = strided_layout(shape, attrs)
    if len(out) != g.rank or not all(static_eq(a, b) for a, b in zip(out, g.shape)):
        raise OpError(f"strided_slice_grad: gradient {_shape(g)} does not match the slice shape "
                      f"{format_shape(out)} of {format_shape(shape)}")
    return [TensorType(shape, g.dtype)]


def _ssg_ref(arrays, attrs):
    g = arrays[0]
    shape = tuple(attrs["shape"])
    axes, _ = strided_layout(shape, attrs)
    res = np.zeros(shape, g.dtype)
    # One index array per input axis (a shrunk axis has one entry); g has the same elements.
    sel = [start + s * np.arange(size, dtype=np.int64) for start, size, s, _ in axes]
    if g.size:
        res[np.ix_(*sel)] = g.reshape([len(a) for a in sel])
    return [res]


def _ssg_index(ctx, out_index):
    shape = tuple(ctx.attrs["shape"])
    axes, _ = strided_layout(shape, ctx.attrs)
    shrink = set(ctx.attrs["shrink_axes"])
    dtype = ctx.out_type.dtype
    if any(isinstance(size, int) and size == 0 for _, size, _, _ in axes):
        return Const(0, dtype)
    conds, g_index = [], []
    for k, (j, (start, size, s, _)) in enumerate(zip(out_index, axes)):
        if k in shrink:
            conds.append(Binary("eq", j, idx(start)))
            continue
        t = j - idx(start) if s > 0 else idx(start) - j
        step = abs(s)
        q = t if step == 1 else Binary("floordiv", t, Const(step, INDEX))
        conds.append(Binary("ge", t, Const(0, INDEX)))
        if step != 1:
            conds.append(Binary("eq", Binary("mod", t, Const(step, INDEX)), Const(0, INDEX)))
        conds.append(Binary("lt", q, idx(size)))
        g_index.append(clamp_to_dim(q, size))
    for p in sorted(ctx.attrs["new_axes"]):
        g_index.insert(p, Const(0, INDEX))
    value = ctx.input(0, g_index)
    cond = all_of(conds)
    return value if cond is None else Select(cond, value, Const(0, dtype))


register(OpDef("strided_slice_grad", "injective", _ssg_infer, _ssg_ref, arity=1, index=_ssg_index,
               grad=lambda em, ins, outs, attrs, gs: [em.strided_slice(gs[0], **_ss_attrs(attrs))],
               doc="Scatter a strided slice's gradient into zeros of the input `shape` (index map).", extra=IN_RANGE))


# -------------------------------------------------------------------------------------- pad
PAD_MODES = ("constant", "reflect", "symmetric")


def pad_mode(attrs) -> str:
    mode = str(attrs.get("mode", "constant")).lower()
    if mode not in PAD_MODES:
        raise OpError(f"pad: mode must be one of CONSTANT, REFLECT, SYMMETRIC, got {attrs.get('mode')!r}")
    return mode


def _pad_infer(types, attrs):
    (t,) = types
    pads = tuple(attrs["paddings"])
    mode = pad_mode(attrs)
    if len(pads) != t.rank or any(len(p) != 2 for p in pads):
        raise OpError(f"pad: paddings {[list(p) for p in pads]} must be one (before, after) pair per axis of "
                      f"{_shape(t)}")
    out = []
    for a, (d, (lo, hi)) in enumerate(zip(t.shape, pads)):
        if any(isinstance(p, int) and p < 0 for p in (lo, hi)):
            raise OpError(f"pad: paddings must be non-negative, got {[list(p) for p in pads]}")
        if mode != "constant" and isinstance(d, int):
            limit = d - 1 if mode == "reflect" else d
            if any(isinstance(p, int) and p > limit for p in (lo, hi)):
                raise OpError(f"pad: {mode.upper()} paddings must be at most {limit} on axis {a} of {_shape(t)}, "
                              f"got {[list(p) for p in pads]}")
        out.append(dim_add(dim_add(d, lo), hi))
    return [TensorType(tuple(out), t.dtype)]


def _pad_ref(arrays, attrs):
    x = arrays[0]
    mode = pad_mode(attrs)
    pads = [tuple(int(v) for v in p) for p in attrs["paddings"]]
    if mode == "constant":
        return [np.pad(x, pads, mode="constant", constant_values=np.asarray(attrs.get("constant_value", 0),
                                                                          x.dtype))]
    return [np.pad(x, pads, mode=mode)]


def _pad_index(ctx, out_index):
    t = ctx.in_types[0]
    mode = pad_mode(ctx.attrs)
    dtype = ctx.out_type.dtype
    conds, src = [], []
    for i, d, (lo, hi) in zip(out_index, t.shape, ctx.attrs["paddings"]):
        j = i - idx(lo) if lo != 0 else i
        if mode == "constant":
            if isinstance(d, int) and d == 0:
                return Const(ctx.attrs.get("constant_value", 0), dtype)
            if lo != 0:
                conds.append(Binary("ge", j, Const(0, INDEX)))
            if hi != 0:
                conds.append(Binary("lt", j, idx(d)))
            src.append(clamp_to_dim(j, d) if (lo != 0 or hi != 0) else j)
            continue
        zero, dd = Const(0, INDEX), idx(d)
        if mode == "reflect":
            j = Select(Binary("lt", j, zero), zero - j, j) if lo != 0 else j
            j = Select(Binary("ge", j, dd), dd + dd - Const(2, INDEX) - j, j) if hi != 0 else j
        else:
            j = Select(Binary("lt", j, zero), zero - j - Const(1, INDEX), j) if lo != 0 else j
            j = Select(Binary("ge", j, dd), dd + dd - Const(1, INDEX) - j, j) if hi != 0 else j
        src.append(clamp_to_dim(j, d) if (lo != 0 or hi != 0) else j)
    value = ctx.input(0, src)
    cond = all_of(conds)
    if cond is None:
        return value
    return Select(cond, value, Const(ctx.attrs.get("constant_value", 0), dtype))


def _pad_grad(em, inputs, outputs, attrs, grads):
    t = em.type(inputs[0])
    mode = pad_mode(attrs)
    pads = tuple(attrs["paddings"])
    g = grads[0]
    if mode == "constant":
        return [em.slice(g, begin=tuple(lo for lo, _ in pads), size=tuple(t.shape))]
    # reflect/symmetric: fold each padded border back onto the input positions it copied.
    for a, (d, (lo, hi)) in enumerate(zip(t.shape, pads)):
        if lo == 0 and hi == 0:
            continue
        gs = em.type(g).shape
        cut = lambda start, size: em.slice(g, begin=tuple(start if i == a else 0 for i in range(len(gs))),
                                           size=tuple(size if i == a else s for i, s in enumerate(gs)))
        part = cut(lo, d)
        shift = 1 if mode == "reflect" else 0
        zeros = tuple((0, 0) for _ in gs)
        if lo:
            left = em.reverse(cut(0, lo), axes=(a,))
            p = list(zeros)
            p[a] = (shift, dim_sub(dim_sub(d, lo), shift))
            part = em.add(part, em.pad(left, paddings=tuple(p), mode="constant", constant_value=0))
        if hi:
            right = em.reverse(cut(dim_add(lo, d), hi), axes=(a,))
            p = list(zeros)
            p[a] = (dim_sub(dim_sub(d, hi), shift), shift)
            part = em.add(part, em.pad(right, paddings=tuple(p), mode="constant", constant_value=0))
        g = part
    return [g]


register(OpDef("pad", "injective", _pad_infer, _pad_ref, arity=1, index=_pad_index, grad=_pad_grad,
               doc="Pad each axis. attrs: paddings ((before, after) per axis), mode (CONSTANT/REFLECT/"
                   "SYMMETRIC), constant_value.", extra=IN_RANGE))


# ------------------------------------------------------------------------------------- tile
def _tile_infer(types, attrs):
    (t,) = types
    mult = tuple(int(m) for m in attrs["multiples"])
    if len(mult) != t.rank or any(m < 0 for m in mult):
        raise OpError(f"tile: multiples {list(mult)} must be one non-negative int per axis of {_shape(t)}")
    from ..shapes import dim_mul
    return [TensorType(tuple(dim_mul(d, m) for d, m in zip(t.shape, mult)), t.dtype)]


def _tile_index(ctx, out_index):
    t = ctx.in_types[0]
    src = []
    for i, d, m in zip(out_index, t.shape, ctx.attrs["multiples"]):
        if d == 1:
            src.append(Const(0, INDEX))
        elif int(m) == 1:
            src.append(i)
        else:
            src.append(Binary("mod", i, idx(d)))
    return ctx.input(0, src)


def _tile_grad(em, inputs, outputs, attrs, grads):
    t = em.type(inputs[0])
    mult = [int(m) for m in attrs["multiples"]]
    if all(m == 1 for m in mult):
        return [grads[0]]
    split = []
    for m, d in zip(mult, t.shape):
        split += [m, d]
    g = em.reshape(grads[0], shape=tuple(split))
    g = em.reduce_sum(g, axes=tuple(range(0, 2 * t.rank, 2)), keepdims=False)
    return [g]


register(OpDef("tile", "injective", _tile_infer,
               lambda arrays, attrs: [np.tile(arrays[0], [int(m) for m in attrs["multiples"]])], arity=1,
               index=_tile_index, grad=_tile_grad, doc="Repeat along each axis. attrs: multiples.", extra=IN_RANGE))


# ---------------------------------------------------------------------------------- reverse
def _reverse_axes(t, attrs):
    axes = attrs["axes"]
    axes = (axes,) if isinstance(axes, int) else tuple(axes)
    norm = [normalize_axis(int(a), t.rank, "reverse") for a in axes]
    if len(set(norm)) != len(norm):
        raise OpError(f"reverse: axis listed twice in {list(axes)} for {_shape(t)}")
    return tuple(sorted(norm))


def _reverse_index(ctx, out_index):
    t = ctx.in_types[0]
    axes = _reverse_axes(t, ctx.attrs)
    return ctx.input(0, [idx(d) - Const(1, INDEX) - i if a in axes else i
                         for a, (i, d) in enumerate(zip(out_index, t.shape))])


def _reverse_infer(types, attrs):
    _reverse_axes(types[0], attrs)
    return [types[0]]


register(OpDef("reverse", "injective", _reverse_infer,
               lambda arrays, attrs: [np.flip(arrays[0], _reverse_axes(TensorType(arrays[0].shape, None),
                                                                        attrs)).copy()],
               arity=1, index=_reverse_index,
               grad=lambda em, ins, outs, attrs, gs: [em.reverse(gs[0], axes=attrs["axes"])],
               doc="Reverse the order of elements along `axes`.", extra=IN_RANGE))
