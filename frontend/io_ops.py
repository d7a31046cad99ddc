"""Parsing and file ops of TF1 input pipelines: `parse_single_example` / `parse_example` with
`FixedLenFeature` / `FixedLenSequenceFeature`, `decode_raw`, `read_file`, `write_file`,
`matching_files`, `train.match_filenames_once`.

Like queues, these run on the host (host_ops.py) inside Session.run: they turn serialized
strings into numeric arrays, which compiled programs then consume like fed values. In eager
mode they run at once on EagerTensors.
"""
from __future__ import annotations

import glob as _glob
import os

import numpy as np

from fuseflow.compiler import dtypes as dt

from . import graph as graph_mod
from .errors import InvalidArgumentError, NotFoundError
from .example import Example
from .host_ops import RunContext, host_op, run_host_op
from .tensor import EagerTensor, Tensor, TensorShape

_PARSE_DTYPES = (dt.float32, dt.int64, dt.string)


class FixedLenFeature:
    """A feature with a fixed number of values, parsed to a tensor of `shape`."""

    def __init__(self, shape, dtype, default_value=None):
        self.shape = tuple(TensorShape(shape).as_list()) if not isinstance(shape, (list, tuple)) else tuple(shape)
        self.dtype = dt.as_dtype(dtype)
        self.default_value = default_value
        if self.dtype not in _PARSE_DTYPES:
            raise ValueError(f"Unsupported FixedLenFeature dtype {self.dtype.name} (float32, int64 or string)")

    def __repr__(self):
        return f"FixedLenFeature(shape={list(self.shape)}, dtype=tf.{self.dtype.name}, default_value={self.default_value!r})"


class FixedLenSequenceFeature:
    """A feature with any number of values, each of `shape` (result: [n] + shape)."""

    def __init__(self, shape, dtype, allow_missing=False, default_value=None):
        self.shape = tuple(shape)
        self.dtype = dt.as_dtype(dtype)
        self.allow_missing = allow_missing
        self.default_value = default_value
        if self.dtype not in _PARSE_DTYPES:
            raise ValueError(f"Unsupported FixedLenSequenceFeature dtype {self.dtype.name}")


class VarLenFeature:
    """Sparse features: fuseflow has no SparseTensor, so parsing them raises a clear error."""

    def __init__(self, dtype):
        self.dtype = dt.as_dtype(dtype)


def _graph():
    return graph_mod.get_default_graph() if graph_mod.graph_is_active() else None


def _run_eager(op_type, inputs, attrs, n_out):
    """Run a host op at once (eager mode) through the same implementation."""
    class _Op:
        pass
    op = _Op()
    op.ir_op, op.attrs, op.name, op.inputs, op.outputs, op.id = op_type, attrs, op_type, [], [None] * n_out, -1
    outs = run_host_op(RunContext(_EagerSession()), op, [np.asarray(i._value if isinstance(i, EagerTensor) else i)
                                                           for i in inputs])
    return [EagerTensor(o) if not (isinstance(o, np.ndarray) and o.dtype == object)
            else EagerTensor(o, dt.string) for o in outs]


class _EagerSession:
    _store = None

    def _resource(self, key, factory):
        return factory()


def _host_op(op_type, inputs, attrs, specs, name):
    from .core import convert_to_tensor
    inputs = [convert_to_tensor(i) for i in inputs]
    g = _graph()
    if g is None and not any(isinstance(i, Tensor) for i in inputs):
        return _run_eager(op_type, inputs, attrs, len(specs))
    g = g or inputs[0].graph
    loc = graph_mod.user_location(g.get_name_scope())
    return g.create_op(op_type, inputs, attrs, specs, name=name, loc=loc).outputs


# ------------------------------------------------------------------------------ parsing
def _feature_values(feature, dtype, key):
    kind = feature.WhichOneof("kind")
    want = {dt.float32: "float_list", dt.int64: "int64_list", dt.string: "bytes_list"}[dtype]
    if kind is None:
        return []
    if kind != want:
        raise InvalidArgumentError(None, None, f"Name: <unknown>, Feature: {key}. Data types don't match. Data "
                                               f"type: {kind.split('_')[0]} but expected type: {dtype.name}")
    return list(getattr(feature, want).value)


def _to_array(values, dtype, shape):
    if dtype.is_string:
        arr = np.empty(len(values), dtype=object)
        arr[:] = [bytes(v) for v in values]
    else:
        arr = np.asarray(values, dtype=dtype.np)
    return arr.reshape(shape)


def _parse_one(serialized: bytes, keys, specs):
    ex = Example.FromString(serialized)
    feats = ex.features.feature
    out = []
    for key, spec in zip(keys, specs):
        present = dict.__contains__(feats, key)
        values = _feature_values(feats[key], spec.dtype, key) if present else None
        if isinstance(spec, FixedLenFeature):
            n = int(np.prod(spec.shape, dtype=np.int64))
            if values is None:
                if spec.default_value is None:
                    raise InvalidArgumentError(None, None, f"Name: <unknown>, Feature: {key} (data type: "
                                                           f"{spec.dtype.name}) is required but could not be found.")
                default = np.asarray(spec.default_value, dtype=object if spec.dtype.is_string else spec.dtype.np)
                out.append(np.broadcast_to(default, spec.shape).copy())
                continue
            if len(values) != n:
                raise InvalidArgumentError(None, None, f"Name: <unknown>, Key: {key}, Index: 0.  Number of "
                                                       f"{spec.dtype.name} values != expected.  Values size: "
                                                       f"{len(values)} but output shape: {list(spec.shape)}")
            out.append(_to_array(values, spec.dtype, spec.shape))
        else:
            if values is None:
                if not spec.allow_missing:
                    raise InvalidArgumentError(None, None, f"Name: <unknown>, Feature: {key} is required but could "
                                                           f"not be found.")
                values = []
            per = int(np.prod(spec.shape, dtype=np.int64)) if spec.shape else 1
            if per and len(values) % per:
                raise InvalidArgumentError(None, None, f"Key: {key}. Number of values {len(values)} is not a "
                                                       f"multiple of the element size {per}")
            out.append(_to_array(values, spec.dtype, (len(values) // max(per, 1),) + spec.shape))
    return out


def _check_specs(features):
    keys = sorted(features)
    specs = [features[k] for k in keys]
    for k, s in zip(keys, specs):
        if isinstance(s, VarLenFeature):
            continue
        if not isinstance(s, (FixedLenFeature, FixedLenSequenceFeature)):
            raise ValueError(f"parse_example: unsupported feature spec for '{k}': {s!r}")
    return keys, specs


def _serialized_bytes(arr):
    v = arr.item() if isinstance(arr, np.ndarray) and arr.ndim == 0 else arr
    if isinstance(v, str):
        v = v.encode("utf-8")
    return bytes(v)


@host_op("parse_single_example")
def _parse_single(run, op, inputs):
    return _parse_one(_serialized_bytes(inputs[0]), op.attrs["keys"], op.attrs["specs"])


@host_op("parse_example")
def _parse_batch(run, op, inputs):
    keys, specs = op.attrs["keys"], op.attrs["specs"]
    rows = [_parse_one(_serialized_bytes(s), keys, specs) for s in np.ravel(inputs[0])]
    out = []
    for j, spec in enumerate(specs):
        parts = [r[j] for r in rows]
        if isinstance(spec, FixedLenSequenceFeature):
            longest = max((p.shape[0] for p in parts), default=0)
            fill = spec.default_value if spec.default_value is not None else (b"" if spec.dtype.is_string else 0)
            padded = []
            for p in parts:
                pad = np.full((longest - p.shape[0],) + spec.shape, fill,
                              dtype=object if spec.dtype.is_string else spec.dtype.np)
                padded.append(np.concatenate([p, pad]) if longest > p.shape[0] else p)
            parts = padded
        if parts:
            out.append(np.stack(parts))
        else:
            out.append(np.zeros((0,) + tuple(spec.shape), dtype=object if spec.dtype.is_string else spec.dtype.np))
    return out


def _var_len_as_sequence(specs):
    """A VarLenFeature is parsed as its values (a FixedLenSequenceFeature of scalars that may be missing)."""
    return [FixedLenSequenceFeature([], s.dtype, allow_missing=True) if isinstance(s, VarLenFeature) else s
            for s in specs]


def parse_single_example(serialized, features, name=None, example_names=None):
    """Parse one serialized tf.train.Example into a dict of tensors (one per feature spec);
    VarLenFeatures give SparseTensors (indices [[0], [1], ...], dense_shape [n])."""
    keys, specs = _check_specs(features)
    var_len = {k for k, s in zip(keys, specs) if isinstance(s, VarLenFeature)}
    if var_len:
        from .sparse_v1 import var_len_sparse
        out = parse_single_example(serialized, dict(zip(keys, _var_len_as_sequence(specs))), name, example_names)
        return {k: var_len_sparse(v) if k in var_len else v for k, v in out.items()}
    out_specs = [(s.dtype, TensorShape(list(s.shape) if isinstance(s, FixedLenFeature) else [None] + list(s.shape)))
                 for s in specs]
    outs = _host_op("parse_single_example", [serialized], {"keys": tuple(keys), "specs": tuple(specs)}, out_specs,
                    name or "ParseSingleExample")
    return dict(zip(keys, outs))


def parse_example(serialized, features, name=None, example_names=None):
    """Parse a 1-D batch of serialized Examples into a dict of batched tensors."""
    keys, specs = _check_specs(features)
    for k, s in zip(keys, specs):
        if isinstance(s, VarLenFeature):
            raise NotImplementedError(f"fuseflow's tf.parse_example does not support VarLenFeature ('{k}'); parse "
                                      f"examples one at a time with parse_single_example")
    out_specs = [(s.dtype, TensorShape([None] + (list(s.shape) if isinstance(s, FixedLenFeature)
                                                 else [None] + list(s.shape)))) for s in specs]
    outs = _host_op("parse_example", [serialized], {"keys": tuple(keys), "specs": tuple(specs)}, out_specs,
                    name or "ParseExample")
    return dict(zip(keys, outs))


# ------------------------------------------------------------------------------ decode_raw
@host_op("decode_raw")
def _decode_raw(run, op, inputs):
    dtype, little = op.attrs["out_type"], op.attrs["little_endian"]
    fixed = op.attrs.get("fixed_length")
    arr = inputs[0]
    flat = [_serialized_bytes(v) for v in np.ravel(arr)] if arr.ndim else [_serialized_bytes(arr)]
    np_dtype = dtype.np.newbyteorder("<" if little else ">") if dtype.itemsize > 1 else dtype.np
    rows = []
    for b in flat:
        if fixed is not None:
            b = b[:fixed].ljust(fixed, b"\0")
        if len(b) % dtype.itemsize:
            raise InvalidArgumentError(None, op, f"Input to DecodeRaw has length {len(b)} that is not a multiple of "
                                                 f"{dtype.itemsize}, the size of {dtype.name}")
        rows.append(np.frombuffer(b, dtype=np_dtype).astype(dtype.np))
    if len({r.shape[0] for r in rows}) > 1:
        raise InvalidArgumentError(None, op, "DecodeRaw requires input strings to all be the same size, but element 0 "
                                             f"has size {rows[0].shape[0] * dtype.itemsize} != "
                                             f"{max(r.shape[0] for r in rows) * dtype.itemsize}")
    n = rows[0].shape[0] if rows else 0
    return [np.stack(rows).reshape(arr.shape + (n,)) if rows else np.zeros(arr.shape + (0,), dtype.np)]


def decode_raw(input_bytes=None, out_type=None, little_endian=True, fixed_length=None, name=None, bytes=None):
    """Reinterpret the bytes of each string as a vector of `out_type` (shape: input.shape + [n])."""
    if input_bytes is None:
        input_bytes = bytes
    out_type = dt.as_dtype(out_type)
    if not out_type.native:
        raise ValueError(f"decode_raw: out_type must be numeric, got {out_type.name}")
    from .core import convert_to_tensor
    t = convert_to_tensor(input_bytes, dtype=dt.string)
    n = None if fixed_length is None else int(fixed_length) // out_type.itemsize
    shape = TensorShape(None) if t.shape.rank is None else TensorShape(t.shape.as_list() + [n])
    attrs = {"out_type": out_type, "little_endian": bool(little_endian),
             "fixed_length": None if fixed_length is None else int(fixed_length)}
    return _host_op("decode_raw", [t], attrs, [(out_type, shape)], name or "DecodeRaw")[0]


def decode_raw_v1(bytes, out_type, little_endian=True, name=None):  # noqa: A002 - TF's name
    return decode_raw(bytes, out_type, little_endian=little_endian, name=name)


# ------------------------------------------------------------------------------ files
@host_op("read_file")
def _read_file(run, op, inputs):
    path = _serialized_bytes(inputs[0]).decode("utf-8")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise NotFoundError(None, op, f"{path}; {e.strerror}") from None
    out = np.empty((), dtype=object)
    out[()] = data
    return [out]


def read_file(filename, name=None):
    return _host_op("read_file", [filename], {}, [(dt.string, TensorShape([]))], name or "ReadFile")[0]


@host_op("write_file")
def _write_file(run, op, inputs):
    path = _serialized_bytes(inputs[0]).decode("utf-8")
    with open(path, "wb") as f:
        f.write(_serialized_bytes(inputs[1]))
    return []


def write_file(filename, contents, name=None):
    from .core import convert_to_tensor
    g = _graph()
    ins = [convert_to_tensor(filename, dtype=dt.string), convert_to_tensor(contents, dtype=dt.string)]
    if g is None:
        _run_eager("write_file", ins, {}, 0)
        return None
    loc = graph_mod.user_location(g.get_name_scope())
    return g.create_op("write_file", ins, {}, [], name=name or "WriteFile", loc=loc)


@host_op("matching_files")
def _matching_files(run, op, inputs):
    patterns = [_serialized_bytes(p).decode("utf-8") for p in np.ravel(inputs[0])] if inputs[0].ndim else \
        [_serialized_bytes(inputs[0]).decode("utf-8")]
    names = sorted({m for p in patterns for m in _glob.glob(p)})
    return [np.asarray([n.encode("utf-8") for n in names], dtype=object).reshape(-1)]


def matching_files(pattern, name=None):
    return _host_op("matching_files", [pattern], {}, [(dt.string, TensorShape([None]))], name or "MatchingFiles")[0]


def match_filenames_once(pattern, name=None):
    """A local variable holding the files matching `pattern` (needs local_variables_initializer)."""
    from .variables import VariableV1
    g = graph_mod.get_default_graph()
    with g.name_scope(name or "matching_filenames") as scope:
        return VariableV1(name=scope, initial_value=lambda: matching_files(pattern), trainable=False,
                          validate_shape=False,
                          collections=["local_variables"])


def gfile_exists(path) -> bool:
    return os.path.exists(path)



# ------------------------------------------------------------------------------ decode_csv
_CSV_TYPES = ("int32", "int64", "float32", "float64", "string")


def _csv_fields(record: str, delim: str, use_quote: bool, op, index):
    """Split one CSV record as TF's DecodeCSV does (double quotes group a field, "" is a quote)."""
    if not use_quote:
        return record.split(delim)
    fields, cur, i, n = [], [], 0, len(record)
    while True:
        if i < n and record[i] == '"':
            i += 1
            while True:
                if i >= n:
                    raise InvalidArgumentError(None, op, f"Quoted field has to end with quote followed by delim or "
                                                         f"end of record {index}")
                if record[i] == '"':
                    if i + 1 < n and record[i + 1] == '"':
                        cur.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                cur.append(record[i])
                i += 1
            if i < n and record[i] != delim:
                raise InvalidArgumentError(None, op, f"Quoted field has to end with quote followed by delim or end "
                                                     f"of record {index}")
        else:
            while i < n and record[i] != delim:
                cur.append(record[i])
                i += 1
        fields.append("".join(cur))
        cur = []
        if i >= n:
            return fields
        i += 1      # the delimiter


@host_op("decode_csv")
def _decode_csv(run, op, inputs):
    records = np.asarray(inputs[0], dtype=object)
    defaults = inputs[1:]
    types = op.attrs["types"]
    delim, use_quote, na = op.attrs["field_delim"], op.attrs["use_quote_delim"], op.attrs["na_value"]
    select = op.attrs["select_cols"]
    flat = records.reshape(-1)
    cols = [[] for _ in types]
    for r, rec in enumerate(flat):
        text = rec.decode("utf-8") if isinstance(rec, bytes) else str(rec)
        fields = _csv_fields(text, delim, use_quote, op, r)
        if select is not None:
            if max(select) >= len(fields):
                raise InvalidArgumentError(None, op, f"Expect {max(select) + 1} fields but have {len(fields)} in "
                                                     f"record {r}")
            fields = [fields[c] for c in select]
        if len(fields) != len(types):
            raise InvalidArgumentError(None, op, f"Expect {len(types)} fields but have {len(fields)} in record {r}")
        for c, (field, tname) in enumerate(zip(fields, types)):
            if field == "" or (na and field == na):
                default = np.asarray(defaults[c]).reshape(-1)
                if default.size == 0:
                    raise InvalidArgumentError(None, op, f"Field {c} is required but missing in record {r}!")
                cols[c].append(default[0])
                continue
            if tname == "string":
                cols[c].append(field.encode("utf-8"))
                continue
            try:
                value = int(field) if tname.startswith("int") else float(field)
            except ValueError:
                raise InvalidArgumentError(None, op, f"Field {c} in record {r} is not a valid {tname}: "
                                                     f"{field}") from None
            if tname == "int32" and not -2 ** 31 <= value < 2 ** 31:
                raise InvalidArgumentError(None, op, f"Field {c} in record {r} is not a valid int32: {field}")
            cols[c].append(value)
    out = []
    for col, tname in zip(cols, types):
        if tname == "string":
            arr = np.empty(len(col), dtype=object)
            arr[:] = col
        else:
            arr = np.asarray(col, dtype=dt.as_dtype(tname).np)
        out.append(arr.reshape(records.shape))
    return out


def decode_csv(records, record_defaults, field_delim=",", use_quote_delim=True, name=None, na_value="",
               select_cols=None):
    """Parse CSV records (a string tensor) into one tensor per column, shaped like `records`.
    Each record_defaults entry gives the column's dtype and the value of an empty field
    (an empty entry makes the column required)."""
    from .core import convert_to_tensor
    recs = convert_to_tensor(records, dtype=dt.string)
    defaults, types = [], []
    for i, d in enumerate(record_defaults):
        t = convert_to_tensor(d)
        if t.dtype.name not in _CSV_TYPES:
            raise TypeError(f"decode_csv: record_defaults[{i}] has dtype {t.dtype.name}; expected one of "
                            f"{', '.join(_CSV_TYPES)}")
        if t.shape.rank is not None and t.shape.rank > 1:
            raise ValueError(f"decode_csv: record_defaults[{i}] must be a scalar or a list of at most one value")
        defaults.append(t)
        types.append(t.dtype.name)
    if select_cols is not None:
        select_cols = [int(c) for c in select_cols]
        if any(b <= a for a, b in zip(select_cols, select_cols[1:])):
            raise ValueError("select_cols is not strictly increasing.")
        if len(select_cols) != len(types):
            raise ValueError("Length of select_cols and record_defaults do not match.")
    if len(field_delim) != 1:
        raise ValueError("field_delim should be only 1 char")
    attrs = {"types": tuple(types), "field_delim": field_delim, "use_quote_delim": bool(use_quote_delim),
             "na_value": na_value, "select_cols": None if select_cols is None else tuple(select_cols)}
    specs = [(dt.as_dtype(tn), recs.shape) for tn in types]
    return list(_host_op("decode_csv", [recs] + defaults, attrs, specs, name or "DecodeCSV"))
