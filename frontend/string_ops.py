"""`tf.strings`: string ops, computed on the host on numpy object arrays of bytes.

Compiled programs hold numeric buffers only, so each string op is one host function
`fn(arrays, attrs) -> list of arrays`. Eagerly it runs at once; in graph mode it is recorded
as a frontend op (`string_<name>`) that a Session runs as a host op (frontend/host_ops.py)
between compiled segments. Ops whose result size depends on the data (`split` of a string)
return a dense 1-D tensor for a scalar input; TF's RaggedTensor results for higher ranks are
not supported.
"""
from __future__ import annotations

import re

import numpy as np

from fuseflow.compiler import dtypes as dt

from .array_ops import _to_tensor, in_graph, normalize_axes, op_scope
from .core import apply_op
from .host_ops import host_op
from .tensor import EagerTensor, TensorShape, is_tensor

_HOST_FNS: dict = {}


def _string_op(name: str):
    """Register `fn(arrays, attrs)` as the host op `string_<name>`."""
    def deco(fn):
        _HOST_FNS[name] = fn
        host_op(f"string_{name}")(lambda run, op, inputs: fn(list(inputs), op.attrs))
        return fn
    return deco


def _as_bytes(x) -> bytes:
    return x if isinstance(x, bytes) else str(x).encode("utf-8")


def _obj(arr) -> np.ndarray:
    out = np.empty(np.shape(arr), dtype=object)
    flat = np.asarray(arr, dtype=object).ravel()
    out.ravel()[:] = [_as_bytes(v) for v in flat] if flat.size else []
    return out


def _map(fn, arr, otype=object) -> np.ndarray:
    arr = np.asarray(arr, dtype=object)
    out = np.empty(arr.shape, dtype=otype)
    if arr.size:
        out.ravel()[:] = [fn(v) for v in arr.ravel()]
    return out


def _strings(x, op):
    t = _to_tensor(x)
    if not t.dtype.is_string:
        raise TypeError(f"{op}: expects a string tensor, got {t.dtype.name}")
    return t


def _run(name: str, inputs, attrs: dict, out_dtype: dt.DType, out_shape, scope):
    if not in_graph(inputs):
        outs = _HOST_FNS[name]([np.asarray(t._value) for t in inputs], attrs)
        return EagerTensor(outs[0], out_dtype)
    return apply_op(f"string_{name}", list(inputs), attrs, name=scope,
                    output_specs=[(out_dtype, TensorShape(out_shape))])


def _broadcast_shape(tensors):
    from .array_ops import broadcast_static_shape
    shape = TensorShape([])
    for t in tensors:
        shape = broadcast_static_shape(shape, t.shape)
    return None if shape.rank is None else shape.as_list()


# ================================================================================= ops
@_string_op("join")
def _join(arrays, attrs):
    sep = _as_bytes(attrs["separator"])
    b = np.broadcast_arrays(*[np.asarray(a, dtype=object) for a in arrays])
    out = np.empty(b[0].shape, dtype=object)
    for idx in np.ndindex(out.shape):
        out[idx] = sep.join(_as_bytes(x[idx]) for x in b)
    return [out]


def join(inputs, separator="", name=None):
    """Elementwise concatenation of string tensors (broadcast) with `separator` between them."""
    with op_scope(name, "StringJoin", list(inputs)) as scope:
        ts = [_strings(x, "StringJoin") for x in inputs]
        return _run("join", ts, {"separator": _as_bytes(separator)}, dt.string, _broadcast_shape(ts), scope)


string_join = join


def _concat_pair(x, y, name=None):
    """`tf.add` on strings: concatenation."""
    return join([x, y], name=name or "Add")


@_string_op("length")
def _length(arrays, attrs):
    if attrs["unit"] == "UTF8_CHAR":
        return [_map(lambda s: len(_as_bytes(s).decode("utf-8")), arrays[0], np.int32)]
    return [_map(lambda s: len(_as_bytes(s)), arrays[0], np.int32)]


def length(input, unit="BYTE", name=None):
    if unit not in ("BYTE", "UTF8_CHAR"):
        raise ValueError(f"StringLength: unit must be 'BYTE' or 'UTF8_CHAR', got {unit!r}")
    with op_scope(name, "StringLength", [input]) as scope:
        t = _strings(input, "StringLength")
        return _run("length", [t], {"unit": unit}, dt.int32, t.shape, scope)


def string_length(input, name=None, unit="BYTE"):
    return length(input, unit, name)


@_string_op("lower")
def _lower(arrays, attrs):
    return [_map(lambda s: _as_bytes(s).decode("utf-8").lower().encode("utf-8"), arrays[0])]


@_string_op("upper")
def _upper(arrays, attrs):
    return [_map(lambda s: _as_bytes(s).decode("utf-8").upper().encode("utf-8"), arrays[0])]


def lower(input, encoding="", name=None):
    with op_scope(name, "StringLower", [input]) as scope:
        t = _strings(input, "StringLower")
        return _run("lower", [t], {}, dt.string, t.shape, scope)


def upper(input, encoding="", name=None):
    with op_scope(name, "StringUpper", [input]) as scope:
        t = _strings(input, "StringUpper")
        return _run("upper", [t], {}, dt.string, t.shape, scope)


@_string_op("strip")
def _strip(arrays, attrs):
    return [_map(lambda s: _as_bytes(s).strip(), arrays[0])]


def strip(input, name=None):
    with op_scope(name, "StringStrip", [input]) as scope:
        t = _strings(input, "StringStrip")
        return _run("strip", [t], {}, dt.string, t.shape, scope)


@_string_op("split")
def _split(arrays, attrs):
    s = _as_bytes(np.asarray(arrays[0], dtype=object)[()])
    sep, maxsplit = attrs["sep"], attrs["maxsplit"]
    parts = s.split(sep, maxsplit) if maxsplit >= 0 else s.split(sep)
    out = np.empty(len(parts), dtype=object)
    out[:] = parts
    return [out]


def split(input, sep=None, maxsplit=-1, name=None):
    """Splits a scalar string on `sep` (runs of whitespace when None or '') into a 1-D string tensor."""
    with op_scope(name, "StringSplit", [input]) as scope:
        t = _strings(input, "StringSplit")
        if t.shape.rank != 0:
            raise NotImplementedError(
                f"tf.strings.split of a rank-{t.shape.rank} tensor returns a RaggedTensor, which fuseflow does "
                f"not support; split scalar strings (e.g. in a loop) instead")
        sep = _as_bytes(sep) if sep is not None else b""
        return _run("split", [t], {"sep": sep or None, "maxsplit": int(maxsplit)},
                    dt.string, [None], scope)


@_string_op("unicode_split")
def _unicode_split(arrays, attrs):
    s = _as_bytes(np.asarray(arrays[0], dtype=object)[()])
    if attrs["bytes"]:
        parts = [s[i:i + 1] for i in range(len(s))]
    else:
        parts = [ch.encode(attrs["encoding"]) for ch in s.decode(attrs["encoding"])]
    out = np.empty(len(parts), dtype=object)
    out[:] = parts
    return [out]


def _split_chars(op, input, encoding, bytes_mode, name):
    with op_scope(name, op, [input]) as scope:
        t = _strings(input, op)
        if t.shape.rank != 0:
            raise NotImplementedError(f"tf.strings.{op} of a rank-{t.shape.rank} tensor returns a RaggedTensor, "
                                      f"which fuseflow does not support; split scalar strings instead")
        enc = {"UTF-8": "utf-8", "UTF-16-BE": "utf-16-be", "UTF-32-BE": "utf-32-be"}.get(str(encoding).upper())
        if enc is None:
            raise ValueError(f"tf.strings.{op}: unsupported encoding {encoding!r}")
        return _run("unicode_split", [t], {"encoding": enc, "bytes": bytes_mode}, dt.string, [None], scope)


def unicode_split(input, input_encoding, errors="replace", replacement_char=65533, name=None):
    """The characters of a scalar string, each as an encoded string (1-D)."""
    return _split_chars("unicode_split", input, input_encoding, False, name)


def bytes_split(input, name=None):
    """The bytes of a scalar string (1-D)."""
    return _split_chars("bytes_split", input, "UTF-8", True, name)


@_string_op("reduce_join")
def _reduce_join(arrays, attrs):
    x = np.asarray(arrays[0], dtype=object)
    axes, keep, sep = attrs["axes"], attrs["keepdims"], _as_bytes(attrs["separator"])
    moved = np.moveaxis(x, axes, list(range(x.ndim - len(axes), x.ndim))) if axes else x[..., None]
    lead = moved.shape[:moved.ndim - (len(axes) if axes else 1)]
    flat = moved.reshape(lead + (-1,))
    out = np.empty(lead, dtype=object)
    for idx in np.ndindex(lead):
        out[idx] = sep.join(_as_bytes(v) for v in flat[idx])
    if keep:
        out = out.reshape([1 if i in axes else d for i, d in enumerate(x.shape)])
    return [out]


def reduce_join(inputs, axis=None, keepdims=False, separator="", name=None):
    with op_scope(name, "ReduceJoin", [inputs]) as scope:
        t = _strings(inputs, "ReduceJoin")
        if t.shape.rank is None:
            raise ValueError("ReduceJoin: the input's rank must be known")
        axes = normalize_axes(axis, t.shape.rank, "ReduceJoin")
        dims = t.shape.as_list()
        shape = [1 if i in axes else d for i, d in enumerate(dims)] if keepdims else \
            [d for i, d in enumerate(dims) if i not in axes]
        return _run("reduce_join", [t], {"axes": axes, "keepdims": bool(keepdims),
                                         "separator": _as_bytes(separator)}, dt.string, shape, scope)


@_string_op("to_number")
def _to_number(arrays, attrs):
    d = attrs["out_type"]

    def conv(s):
        text = _as_bytes(s).decode("utf-8").strip()
        try:
            return int(text) if d.is_integer else float(text)
        except ValueError:
            raise ValueError(f"StringToNumberOp could not correctly convert string: {text}") from None
    return [_map(conv, arrays[0], d.np)]


def to_number(string_tensor, out_type=dt.float32, name=None):
    out_type = dt.as_dtype(out_type)
    with op_scope(name, "StringToNumber", [string_tensor]) as scope:
        t = _strings(string_tensor, "StringToNumber")
        return _run("to_number", [t], {"out_type": out_type}, out_type, t.shape, scope)


string_to_number = to_number


@_string_op("as_string")
def _as_string(arrays, attrs):
    x = np.asarray(arrays[0])
    p = attrs["precision"]
    if x.dtype.kind == "f":
        fmt = (lambda v: f"{v:.{p}f}") if p >= 0 else (lambda v: f"{v:f}")
    elif x.dtype.kind == "b":
        fmt = lambda v: "true" if v else "false"
    else:
        fmt = lambda v: str(v)
    return [_map(lambda v: fmt(v).encode("utf-8"), x.astype(object) if x.dtype.kind != "b" else x)]


def as_string(input, precision=-1, scientific=False, shortest=False, width=-1, fill="", name=None):
    with op_scope(name, "AsString", [input]) as scope:
        t = _to_tensor(input)
        if t.dtype.is_string:
            raise TypeError("AsString: input is already a string tensor")
        return _run("as_string", [t], {"precision": int(precision)}, dt.string, t.shape, scope)


@_string_op("substr")
def _substr(arrays, attrs):
    pos, n = attrs["pos"], attrs["len"]

    def cut(s):
        b = _as_bytes(s)
        start = pos if pos >= 0 else len(b) + pos
        if not 0 <= start <= len(b):
            raise ValueError(f"Substr: pos {pos} out of range for string b'{b.decode('utf-8', 'replace')}'")
        return b[start:start + n]
    return [_map(cut, arrays[0])]


def substr(input, pos, len, unit="BYTE", name=None):
    if unit != "BYTE":
        raise NotImplementedError("tf.strings.substr: fuseflow supports unit='BYTE' only")
    with op_scope(name, "Substr", [input]) as scope:
        t = _strings(input, "Substr")
        return _run("substr", [t], {"pos": int(pos), "len": int(len)}, dt.string, t.shape, scope)


@_string_op("regex_replace")
def _regex_replace(arrays, attrs):
    pat = re.compile(attrs["pattern"])
    count = 0 if attrs["replace_global"] else 1
    rewrite = re.sub(rb"\\(\d)", rb"\\g<\1>", attrs["rewrite"])
    return [_map(lambda s: pat.sub(rewrite, _as_bytes(s), count=count), arrays[0])]


def regex_replace(input, pattern, rewrite, replace_global=True, name=None):
    with op_scope(name, "StaticRegexReplace", [input]) as scope:
        t = _strings(input, "StaticRegexReplace")
        return _run("regex_replace", [t], {"pattern": _as_bytes(pattern), "rewrite": _as_bytes(rewrite),
                                           "replace_global": bool(replace_global)}, dt.string, t.shape, scope)


@_string_op("regex_full_match")
def _regex_full_match(arrays, attrs):
    pat = re.compile(attrs["pattern"])
    return [_map(lambda s: pat.fullmatch(_as_bytes(s)) is not None, arrays[0], np.bool_)]


def regex_full_match(input, pattern, name=None):
    with op_scope(name, "StaticRegexFullMatch", [input]) as scope:
        t = _strings(input, "StaticRegexFullMatch")
        return _run("regex_full_match", [t], {"pattern": _as_bytes(pattern)}, dt.bool_, t.shape, scope)


@_string_op("compare")
def _compare(arrays, attrs):
    a, b = np.broadcast_arrays(*[np.asarray(x, dtype=object) for x in arrays])
    out = np.empty(a.shape, dtype=np.bool_)
    for idx in np.ndindex(a.shape):
        eq = _as_bytes(a[idx]) == _as_bytes(b[idx])
        out[idx] = eq if attrs["op"] == "equal" else not eq
    return [out]


def _compare_strings(op_type, x, y, name=None):
    """tf.equal / tf.not_equal on string tensors."""
    if op_type not in ("equal", "not_equal"):
        raise TypeError(f"{op_type}: strings support only equal and not_equal")
    ts = [x, y]
    return _run("compare", ts, {"op": op_type}, dt.bool_, _broadcast_shape(ts), name)


def format(template, inputs, placeholder="{}", summarize=3, name=None):
    """Formats tensors into a scalar string (eager values printed as numpy does)."""
    if in_graph(list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]):
        from .needs_eager import NeedsEagerExecution
        raise NeedsEagerExecution("tf.strings.format", "tf.strings.format is supported in eager mode only")
    items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    parts = template.split(placeholder)
    if len(parts) != len(items) + 1:
        raise ValueError(f"tf.strings.format: {len(parts) - 1} placeholders but {len(items)} inputs")
    from .api.printing import _format      # tf.print and tf.strings.format share TF's tensor text
    text = parts[0]
    for item, rest in zip(items, parts[1:]):
        v = _to_tensor(item)._value if is_tensor(item) else np.asarray(item)
        text += _format(np.asarray(v), summarize) + rest
    return EagerTensor(np.asarray(text.encode("utf-8"), dtype=object), dt.string)
