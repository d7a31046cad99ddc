"""TensorBoard event files without a protobuf dependency.

An event file is a TFRecord stream: each record is
`uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)` (little endian),
and each record's data is one serialized `tensorflow.Event` message. The few messages we
write (Event, Summary, Summary.Value, SummaryMetadata, TensorProto, TensorShapeProto,
HistogramProto) are encoded by hand with the protobuf wire format: a key varint
`(field << 3) | wire_type`, then a varint (type 0), 8 bytes (type 1), a length-delimited
payload (type 2) or 4 bytes (type 5).
"""
from __future__ import annotations

import struct

import numpy as np

# ------------------------------------------------------------------------------ crc32c


def _crc32c_table() -> list:
    poly = 0x82F63B78  # Castagnoli polynomial, bit-reversed
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord's CRC masking (so a CRC of data that itself contains CRCs stays well mixed)."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord(data: bytes) -> bytes:
    """One TFRecord frame around `data`."""
    header = struct.pack("<Q", len(data))
    return (header + struct.pack("<I", masked_crc32c(header)) + data
            + struct.pack("<I", masked_crc32c(data)))


def read_tfrecords(raw: bytes) -> list:
    """Split a TFRecord stream into record payloads, checking both CRCs of every record."""
    out, pos = [], 0
    while pos < len(raw):
        if pos + 12 > len(raw):
            raise ValueError(f"truncated TFRecord header at byte {pos}")
        header = raw[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (hcrc,) = struct.unpack("<I", raw[pos + 8:pos + 12])
        if hcrc != masked_crc32c(header):
            raise ValueError(f"corrupt TFRecord length CRC at byte {pos}")
        data = raw[pos + 12:pos + 12 + length]
        (dcrc,) = struct.unpack("<I", raw[pos + 12 + length:pos + 16 + length])
        if len(data) != length or dcrc != masked_crc32c(data):
            raise ValueError(f"corrupt TFRecord data at byte {pos}")
        out.append(data)
        pos += 16 + length
    return out


# ------------------------------------------------------------------------------ protobuf wire format


def varint(n: int) -> bytes:
    if n < 0:
        n &= (1 << 64) - 1  # negative int32/int64 are 10-byte two's complement varints
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return varint((field << 3) | wire)


def f_varint(field: int, n: int) -> bytes:
    return _key(field, 0) + varint(int(n))


def f_double(field: int, x: float) -> bytes:
    return _key(field, 1) + struct.pack("<d", float(x))


def f_float(field: int, x: float) -> bytes:
    return _key(field, 5) + struct.pack("<f", float(x))


def f_bytes(field: int, data) -> bytes:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return _key(field, 2) + varint(len(data)) + bytes(data)


def f_packed_doubles(field: int, xs) -> bytes:
    return f_bytes(field, struct.pack(f"<{len(xs)}d", *[float(x) for x in xs]))


def decode_message(data: bytes) -> list:
    """[(field, wire_type, value)] of one message (value: int, bytes, or raw 4/8 bytes)."""
    out, pos = [], 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            val, pos = _read_varint(data, pos)
        elif wire == 1:
            val, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = _read_varint(data, pos)
            val, pos = data[pos:pos + n], pos + n
        elif wire == 5:
            val, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((field, wire, val))
    return out


def _read_varint(data: bytes, pos: int):
    shift = result = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


# ------------------------------------------------------------------------------ TensorFlow messages

# tensorflow.DataType enum values
_DT_ENUM = {
    "float32": 1, "float64": 2, "int32": 3, "uint8": 4, "int16": 5, "int8": 6, "string": 7,
    "complex64": 8, "int64": 9, "bool": 10, "bfloat16": 14, "uint16": 17, "complex128": 18,
    "float16": 19, "uint32": 22, "uint64": 23,
}

DATA_CLASS_SCALAR = 1
DATA_CLASS_TENSOR = 2
DATA_CLASS_BLOB_SEQUENCE = 3


def tensor_proto(arr: np.ndarray) -> bytes:
    """TensorProto: dtype, shape and the values (tensor_content, or string_val for strings)."""
    arr = np.asarray(arr)
    if arr.dtype == object or arr.dtype.kind in "SU":
        dtype_name = "string"
    else:
        dtype_name = arr.dtype.name
    if dtype_name not in _DT_ENUM:
        raise TypeError(f"summary: cannot encode a tensor of dtype {arr.dtype} in an event file")
    shape = b"".join(f_bytes(2, f_varint(1, d)) for d in arr.shape)
    out = f_varint(1, _DT_ENUM[dtype_name]) + f_bytes(2, shape)
    if dtype_name == "string":
        for s in arr.reshape(-1).tolist():
            out += f_bytes(8, s if isinstance(s, (bytes, str)) else str(s))
    else:
        out += f_bytes(4, np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes())
    return out


def summary_metadata(plugin_name: str = "", content: bytes = b"", display_name: str = "",
                     description: str = "", data_class: int = 0) -> bytes:
    out = b""
    if plugin_name:
        out += f_bytes(1, f_bytes(1, plugin_name) + (f_bytes(2, content) if content else b""))
    if display_name:
        out += f_bytes(2, display_name)
    if description:
        out += f_bytes(3, description)
    if data_class:
        out += f_varint(4, data_class)
    return out


def histogram_proto(values: np.ndarray, buckets: int = 30) -> bytes:
    """HistogramProto (TF1's histogram summary): min/max/num/sum/sum_squares + bucket edges/counts."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0:
        return b""
    lo, hi = float(v.min()), float(v.max())
    if lo == hi:
        edges, counts = [hi], [float(v.size)]
    else:
        counts_arr, edges_arr = np.histogram(v, bins=buckets, range=(lo, hi))
        edges, counts = edges_arr[1:].tolist(), counts_arr.astype(np.float64).tolist()
    return (f_double(1, lo) + f_double(2, hi) + f_double(3, v.size) + f_double(4, v.sum())
            + f_double(5, float(np.square(v).sum())) + f_packed_doubles(6, edges) + f_packed_doubles(7, counts))


def summary_value(tag: str, *, simple_value=None, tensor: bytes = None, histo: bytes = None,
                  image: bytes = None, metadata: bytes = None) -> bytes:
    """One Summary.Value (tag + exactly one payload)."""
    out = f_bytes(1, tag)
    if simple_value is not None:
        out += f_float(2, simple_value)
    if image is not None:
        out += f_bytes(4, image)
    if histo is not None:
        out += f_bytes(5, histo)
    if tensor is not None:
        out += f_bytes(8, tensor)
    if metadata is not None:
        out += f_bytes(9, metadata)
    return out


def summary(values) -> bytes:
    """A Summary message from serialized Summary.Value messages."""
    return b"".join(f_bytes(1, v) for v in values)


def image_proto(height: int, width: int, channels: int, png: bytes) -> bytes:
    return f_varint(1, height) + f_varint(2, width) + f_varint(3, channels) + f_bytes(4, png)


def event(wall_time: float, step: int = 0, *, file_version: str = None, summary_bytes: bytes = None,
          graph_def: bytes = None) -> bytes:
    out = f_double(1, wall_time)
    if step:
        out += f_varint(2, step)
    if file_version is not None:
        out += f_bytes(3, file_version)
    if graph_def is not None:
        out += f_bytes(4, graph_def)
    if summary_bytes is not None:
        out += f_bytes(5, summary_bytes)
    return out


def encode_png(img: np.ndarray) -> bytes:
    """A minimal PNG (8-bit gray / gray+alpha / RGB / RGBA, no filtering) for image summaries."""
    import zlib
    img = np.asarray(img, dtype=np.uint8)
    h, w, c = img.shape
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(h))

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
