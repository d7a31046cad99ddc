"""TFRecord files: `tf.io.TFRecordWriter` / `tf.python_io.TFRecordWriter`, `tf_record_iterator`,
`TFRecordOptions` (none / GZIP / ZLIB compression).

A record is `uint64 length | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)`,
little endian (the framing and CRC live in tfevents.py, shared with the summary writer).
Reading checks both CRCs and raises DataLossError on corruption, as TF does.
"""
from __future__ import annotations

import gzip
import io
import os
import struct
import zlib

from .errors import DataLossError, NotFoundError
from .tfevents import masked_crc32c, tfrecord


class TFRecordCompressionType:
    NONE = 0
    ZLIB = 1
    GZIP = 2


class TFRecordOptions:
    """Compression for TFRecord files ("", "ZLIB" or "GZIP", or a TFRecordCompressionType)."""

    compression_type_map = {TFRecordCompressionType.ZLIB: "ZLIB", TFRecordCompressionType.GZIP: "GZIP",
                            TFRecordCompressionType.NONE: ""}

    def __init__(self, compression_type=None, flush_mode=None, input_buffer_size=None, output_buffer_size=None,
                 window_bits=None, compression_level=None, compression_method=None, mem_level=None,
                 compression_strategy=None):
        if isinstance(compression_type, TFRecordOptions):
            compression_type = compression_type.compression_type
        if compression_type in self.compression_type_map:
            compression_type = self.compression_type_map[compression_type]
        self.compression_type = (compression_type or "").upper()
        if self.compression_type not in ("", "ZLIB", "GZIP"):
            raise ValueError(f"Unsupported TFRecord compression type {compression_type!r}")
        self.compression_level = compression_level

    @classmethod
    def get_compression_type_string(cls, options):
        if options is None:
            return ""
        if isinstance(options, TFRecordOptions):
            return options.compression_type
        return TFRecordOptions(options).compression_type


def _compression(options) -> str:
    return TFRecordOptions.get_compression_type_string(options)


class TFRecordWriter:
    """Writes records (bytes) to a TFRecord file; a context manager."""

    def __init__(self, path, options=None):
        self._path = os.fspath(path)
        self._kind = _compression(options)
        try:
            raw = open(self._path, "wb")
        except OSError as e:
            raise NotFoundError(None, None, f"{self._path}; {e.strerror}") from None
        if self._kind == "GZIP":
            self._file = gzip.GzipFile(fileobj=raw, mode="wb")
            self._raw = raw
        elif self._kind == "ZLIB":
            self._file = raw
            self._raw = raw
            self._zlib = zlib.compressobj()
        else:
            self._file = raw
            self._raw = raw
        self._closed = False

    def write(self, record):
        if self._closed:
            raise ValueError("TFRecordWriter is closed")
        if isinstance(record, str):
            record = record.encode("utf-8")
        frame = tfrecord(bytes(record))
        if self._kind == "ZLIB":
            frame = self._zlib.compress(frame)
        self._file.write(frame)

    def flush(self):
        if self._kind == "ZLIB":
            self._file.write(self._zlib.flush(zlib.Z_SYNC_FLUSH))
        self._file.flush()

    def close(self):
        if self._closed:
            return
        if self._kind == "ZLIB":
            self._file.write(self._zlib.flush())
        self._file.close()
        if self._raw is not self._file:
            self._raw.close()
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _open_for_read(path, options):
    kind = _compression(options)
    try:
        raw = open(path, "rb")
    except OSError as e:
        raise NotFoundError(None, None, f"{path}; {e.strerror}") from None
    if kind == "GZIP":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if kind == "ZLIB":
        with raw:
            return io.BytesIO(zlib.decompress(raw.read()))
    return raw


def iter_records(path, options=None, with_offsets=False):
    """Yield each record's data (or (byte offset, data)), checking both CRCs."""
    path = os.fspath(path)
    f = _open_for_read(path, options)
    with f:
        offset = 0
        while True:
            header = f.read(12)
            if not header:
                return
            if len(header) < 12:
                raise DataLossError(None, None, f"truncated record at {offset} in {path}")
            length_bytes = header[:8]
            (length,) = struct.unpack("<Q", length_bytes)
            (hcrc,) = struct.unpack("<I", header[8:12])
            if hcrc != masked_crc32c(length_bytes):
                raise DataLossError(None, None, f"corrupted record at {offset} in {path} (length crc mismatch)")
            data = f.read(length)
            footer = f.read(4)
            if len(data) < length or len(footer) < 4:
                raise DataLossError(None, None, f"truncated record at {offset} in {path}")
            if struct.unpack("<I", footer)[0] != masked_crc32c(data):
                raise DataLossError(None, None, f"corrupted record at {offset} in {path} (data crc mismatch)")
            yield (offset, data) if with_offsets else data
            offset += 16 + length


def tf_record_iterator(path, options=None):
    """`tf.python_io.tf_record_iterator`: the records of a TFRecord file, in order."""
    return iter_records(path, options)


class _PythonIO:
    """The `tf.python_io` namespace."""
    TFRecordWriter = TFRecordWriter
    TFRecordOptions = TFRecordOptions
    TFRecordCompressionType = TFRecordCompressionType
    tf_record_iterator = staticmethod(tf_record_iterator)


python_io = _PythonIO
