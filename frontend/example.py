"""`tf.train.Example` and friends, with the protobuf wire format written by hand (no protobuf
dependency): Example, Features, Feature, BytesList, FloatList, Int64List, SequenceExample,
FeatureList, FeatureLists.

Messages behave like the generated protobuf classes for the common uses: keyword
construction, attribute access (`ex.features.feature["x"].int64_list.value`), map entries
created on first access, `SerializeToString`, `ParseFromString`/`FromString`, `CopyFrom`,
`WhichOneof("kind")`, equality and protobuf's text format for `str()`.

Wire format (tensorflow/core/example/{example,feature}.proto):
    Example { Features features = 1; }
    Features { map<string, Feature> feature = 1; }     (map entry: key = 1, value = 2)
    Feature { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
    BytesList { repeated bytes value = 1; }
    FloatList { repeated float value = 1 [packed]; }
    Int64List { repeated int64 value = 1 [packed]; }
    SequenceExample { Features context = 1; FeatureLists feature_lists = 2; }
    FeatureLists { map<string, FeatureList> feature_list = 1; }
    FeatureList { repeated Feature feature = 1; }
Parsing accepts packed and unpacked repeated numbers, and skips unknown fields.
"""
from __future__ import annotations

import struct

import numpy as np

from .tfevents import decode_message, f_bytes, varint


def _signed64(n: int) -> int:
    return n - (1 << 64) if n >= (1 << 63) else n


def _float32(x) -> float:
    return float(np.float32(x))


class _Message:
    """Common protobuf-like behaviour; subclasses define _encode/_decode/_text."""

    def SerializeToString(self, deterministic=None) -> bytes:  # noqa: N802 - protobuf spelling
        return self._encode()

    def ParseFromString(self, data) -> int:  # noqa: N802
        self.Clear()
        self._decode(bytes(data))
        return len(data)

    def MergeFromString(self, data) -> int:  # noqa: N802
        self._decode(bytes(data))
        return len(data)

    @classmethod
    def FromString(cls, data):  # noqa: N802
        msg = cls()
        msg._decode(bytes(data))
        return msg

    def CopyFrom(self, other):  # noqa: N802
        if type(other) is not type(self):
            raise TypeError(f"Parameter to CopyFrom() must be instance of same class: expected {type(self).__name__} "
                            f"got {type(other).__name__}.")
        self.ParseFromString(other.SerializeToString())

    def MergeFrom(self, other):  # noqa: N802
        self._decode(other.SerializeToString())

    def ByteSize(self) -> int:  # noqa: N802
        return len(self._encode())

    def __eq__(self, other):
        return type(other) is type(self) and self._encode() == other._encode()

    def __ne__(self, other):
        return not self == other

    __hash__ = None

    def __str__(self):
        return "".join(line + "\n" for line in self._text())

    def __repr__(self):
        return str(self)


def _block(name, lines):
    return [f"{name} {{"] + ["  " + ln for ln in lines] + ["}"]


def _quote(b: bytes) -> str:
    out = []
    for c in b:
        ch = chr(c)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif 32 <= c < 127:
            out.append(ch)
        else:
            out.append(f"\\{c:03o}")
    return '"' + "".join(out) + '"'


# ------------------------------------------------------------------------------ value lists
class BytesList(_Message):
    def __init__(self, value=None):
        self.value = [_as_bytes(v) for v in (value or [])]

    def Clear(self):  # noqa: N802
        self.value = []

    def _encode(self):
        return b"".join(f_bytes(1, _as_bytes(v)) for v in self.value)

    def _decode(self, data):
        for field, wire, val in decode_message(data):
            if field == 1 and wire == 2:
                self.value.append(bytes(val))

    def _text(self):
        return [f"value: {_quote(_as_bytes(v))}" for v in self.value]


def _as_bytes(v) -> bytes:
    if isinstance(v, str):
        return v.encode("utf-8")
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, np.bytes_):
        return bytes(v)
    raise TypeError(f"{v!r} has type {type(v).__name__}, but expected one of: bytes")


class FloatList(_Message):
    def __init__(self, value=None):
        self.value = [_float32(v) for v in (value if value is not None else [])]

    def Clear(self):  # noqa: N802
        self.value = []

    def _encode(self):
        if not self.value:
            return b""
        return f_bytes(1, struct.pack(f"<{len(self.value)}f", *[float(v) for v in self.value]))

    def _decode(self, data):
        for field, wire, val in decode_message(data):
            if field != 1:
                continue
            if wire == 2:
                self.value.extend(float(x) for x in np.frombuffer(bytes(val), "<f4"))
            elif wire == 5:
                self.value.append(struct.unpack("<f", val)[0])

    def _text(self):
        return [f"value: {_fmt_float(v)}" for v in self.value]


def _fmt_float(v: float) -> str:
    r = repr(_float32(v))
    return r[:-2] if r.endswith(".0") else r


class Int64List(_Message):
    def __init__(self, value=None):
        self.value = [_as_int(v) for v in (value if value is not None else [])]

    def Clear(self):  # noqa: N802
        self.value = []

    def _encode(self):
        if not self.value:
            return b""
        return f_bytes(1, b"".join(varint(int(v)) for v in self.value))

    def _decode(self, data):
        from .tfevents import _read_varint
        for field, wire, val in decode_message(data):
            if field != 1:
                continue
            if wire == 2:
                pos, raw = 0, bytes(val)
                while pos < len(raw):
                    n, pos = _read_varint(raw, pos)
                    self.value.append(_signed64(n))
            elif wire == 0:
                self.value.append(_signed64(val))

    def _text(self):
        return [f"value: {int(v)}" for v in self.value]


def _as_int(v) -> int:
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, np.integer)):
        n = int(v)
        if not -(1 << 63) <= n < (1 << 63):
            raise ValueError(f"Value out of range: {n}")
        return n
    raise TypeError(f"{v!r} has type {type(v).__name__}, but expected one of: int")


# ------------------------------------------------------------------------------ Feature
_KINDS = ("bytes_list", "float_list", "int64_list")
_KIND_CLASS = {"bytes_list": BytesList, "float_list": FloatList, "int64_list": Int64List}


class Feature(_Message):
    """One of bytes_list / float_list / int64_list (the `kind` oneof)."""

    def __init__(self, bytes_list=None, float_list=None, int64_list=None):
        self._lists = {}
        self._kind = None
        given = [(k, v) for k, v in (("bytes_list", bytes_list), ("float_list", float_list),
                                     ("int64_list", int64_list)) if v is not None]
        if len(given) > 1:
            raise ValueError("Feature: only one of bytes_list, float_list, int64_list may be set")
        for k, v in given:
            self._set(k, v)

    def _set(self, kind, value):
        if not isinstance(value, _KIND_CLASS[kind]):
            raise TypeError(f"Feature.{kind} must be a {_KIND_CLASS[kind].__name__}, got {type(value).__name__}")
        self._lists = {kind: value}
        self._kind = kind

    def _get(self, kind):
        lst = self._lists.get(kind)
        if lst is None:
            lst = self._lists[kind] = _KIND_CLASS[kind]()
        return lst

    bytes_list = property(lambda self: self._get("bytes_list"), lambda self, v: self._set("bytes_list", v))
    float_list = property(lambda self: self._get("float_list"), lambda self, v: self._set("float_list", v))
    int64_list = property(lambda self: self._get("int64_list"), lambda self, v: self._set("int64_list", v))

    def WhichOneof(self, group):  # noqa: N802
        if group != "kind":
            raise ValueError(f'Protocol message has no oneof "{group}" field.')
        if self._kind is not None:
            return self._kind
        for k in _KINDS:          # set implicitly by appending to a list
            if k in self._lists and self._lists[k].value:
                return k
        return None

    def HasField(self, name):  # noqa: N802
        return self.WhichOneof("kind") == name

    def Clear(self):  # noqa: N802
        self._lists = {}
        self._kind = None

    def _encode(self):
        kind = self.WhichOneof("kind")
        if kind is None:
            return b""
        return f_bytes(_KINDS.index(kind) + 1, self._lists[kind]._encode())

    def _decode(self, data):
        for field, wire, val in decode_message(data):
            if wire == 2 and 1 <= field <= 3:
                kind = _KINDS[field - 1]
                lst = self._lists.get(kind) if self._kind == kind else None
                if lst is None:
                    lst = _KIND_CLASS[kind]()
                lst._decode(bytes(val))
                self._lists = {kind: lst}
                self._kind = kind

    def _text(self):
        kind = self.WhichOneof("kind")
        return [] if kind is None else _block(kind, self._lists[kind]._text())


class _MessageMap(dict):
    """A protobuf map field: missing keys are created on access, as in protobuf."""

    def __init__(self, value_cls, items=None):
        super().__init__()
        self._value_cls = value_cls
        for k, v in (items or {}).items():
            self[k] = v

    def __setitem__(self, key, value):
        if not isinstance(value, self._value_cls):
            raise TypeError(f"map values must be {self._value_cls.__name__}, got {type(value).__name__}")
        super().__setitem__(_as_str(key), value)

    def __missing__(self, key):
        value = self._value_cls()
        super().__setitem__(_as_str(key), value)
        return value

    def get_or_create(self, key):
        return self[key]


def _as_str(k) -> str:
    return k.decode("utf-8") if isinstance(k, bytes) else str(k)


def _encode_map(field, mapping) -> bytes:
    out = []
    for k, v in mapping.items():
        entry = f_bytes(1, k.encode("utf-8")) + f_bytes(2, v._encode())
        out.append(f_bytes(field, entry))
    return b"".join(out)


def _decode_map_entry(data, value_cls):
    key, value = "", value_cls()
    for field, wire, val in decode_message(data):
        if field == 1 and wire == 2:
            key = bytes(val).decode("utf-8")
        elif field == 2 and wire == 2:
            value._decode(bytes(val))
    return key, value


def _map_text(name, mapping):
    lines = []
    for k, v in mapping.items():
        lines += _block(name, [f"key: {_quote(k.encode('utf-8'))}"] + _block("value", v._text()))
    return lines


class Features(_Message):
    def __init__(self, feature=None):
        self.feature = _MessageMap(Feature, feature)

    def __setattr__(self, name, value):
        if name == "feature" and not isinstance(value, _MessageMap):
            value = _MessageMap(Feature, value)
        object.__setattr__(self, name, value)

    def Clear(self):  # noqa: N802
        self.feature = _MessageMap(Feature)

    def _encode(self):
        return _encode_map(1, self.feature)

    def _decode(self, data):
        for field, wire, val in decode_message(data):
            if field == 1 and wire == 2:
                k, v = _decode_map_entry(bytes(val), Feature)
                dict.__setitem__(self.feature, k, v)

    def _text(self):
        return _map_text("feature", self.feature)


class Example(_Message):
    def __init__(self, features=None):
        self._features = features

    @property
    def features(self) -> Features:
        if self._features is None:
            self._features = Features()
        return self._features

    @features.setter
    def features(self, value):
        self._features = value

    def HasField(self, name):  # noqa: N802
        return name == "features" and self._features is not None

    def Clear(self):  # noqa: N802
        self._features = None

    def _encode(self):
        return b"" if self._features is None else f_bytes(1, self._features._encode())

    def _decode(self, data):
        for field, wire, val in decode_message(data):
            if field == 1 and wire == 2:
                self.features._decode(bytes(val))

    def _text(self):
        return [] if self._features is None else _block("features", self._features._text())


class FeatureList(_Message):
    def __init__(self, feature=None):
        self.feature = list(feature or [])

    def Clear(self):  # noqa: N802
        self.feature = []

    def add(self, **kwargs) -> Feature:
        f = Feature(**kwargs)
        self.feature.append(f)
        return f

    def _encode(self):
        return b"".join(f_bytes(1, f._encode()) for f in self.feature)

    def _decode(self, data):
        for field, wire, val in decode_message(data):
            if field == 1 and wire == 2:
                f = Feature()
                f._decode(bytes(val))
                self.feature.append(f)

    def _text(self):
        lines = []
        for f in self.feature:
            lines += _block("feature", f._text())
        return lines


class FeatureLists(_Message):
    def __init__(self, feature_list=None):
        self.feature_list = _MessageMap(FeatureList, feature_list)

    def Clear(self):  # noqa: N802
        self.feature_list = _MessageMap(FeatureList)

    def _encode(self):
        return _encode_map(1, self.feature_list)

    def _decode(self, data):
        for field, wire, val in decode_message(data):
            if field == 1 and wire == 2:
                k, v = _decode_map_entry(bytes(val), FeatureList)
                dict.__setitem__(self.feature_list, k, v)

    def _text(self):
        return _map_text("feature_list", self.feature_list)


class SequenceExample(_Message):
    def __init__(self, context=None, feature_lists=None):
        self._context = context
        self._feature_lists = feature_lists

    @property
    def context(self) -> Features:
        if self._context is None:
            self._context = Features()
        return self._context

    @context.setter
    def context(self, value):
        self._context = value

    @property
    def feature_lists(self) -> FeatureLists:
        if self._feature_lists is None:
            self._feature_lists = FeatureLists()
        return self._feature_lists

    @feature_lists.setter
    def feature_lists(self, value):
        self._feature_lists = value

    def Clear(self):  # noqa: N802
        self._context = None
        self._feature_lists = None

    def _encode(self):
        out = b""
        if self._context is not None:
            out += f_bytes(1, self._context._encode())
        if self._feature_lists is not None:
            out += f_bytes(2, self._feature_lists._encode())
        return out

    def _decode(self, data):
        for field, wire, val in decode_message(data):
            if field == 1 and wire == 2:
                self.context._decode(bytes(val))
            elif field == 2 and wire == 2:
                self.feature_lists._decode(bytes(val))

    def _text(self):
        lines = []
        if self._context is not None:
            lines += _block("context", self._context._text())
        if self._feature_lists is not None:
            lines += _block("feature_lists", self._feature_lists._text())
        return lines


TRAIN_EXPORTS = {
    "Example": Example, "Features": Features, "Feature": Feature, "BytesList": BytesList, "FloatList": FloatList,
    "Int64List": Int64List, "SequenceExample": SequenceExample, "FeatureList": FeatureList,
    "FeatureLists": FeatureLists,
}
