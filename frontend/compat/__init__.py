"""`fuseflow.compat`: `fuseflow.compat.v1` is TensorFlow 1.x's API (`import fuseflow.compat.v1 as tf`)."""


def __getattr__(name):
    if name == "v1":
        from . import v1
        return v1
    if name == "v2":
        import fuseflow
        return fuseflow
    raise AttributeError(f"module 'fuseflow.compat' has no attribute '{name}'")


def as_bytes(bytes_or_text, encoding="utf-8"):
    if isinstance(bytes_or_text, bytearray):
        return bytes(bytes_or_text)
    if isinstance(bytes_or_text, str):
        return bytes_or_text.encode(encoding)
    if isinstance(bytes_or_text, bytes):
        return bytes_or_text
    raise TypeError(f"Expected binary or unicode string, got {bytes_or_text!r}")


def as_text(bytes_or_text, encoding="utf-8"):
    if isinstance(bytes_or_text, str):
        return bytes_or_text
    if isinstance(bytes_or_text, (bytes, bytearray)):
        return bytes(bytes_or_text).decode(encoding)
    raise TypeError(f"Expected binary or unicode string, got {bytes_or_text!r}")


as_str = as_text


def as_str_any(value, encoding="utf-8"):
    return as_str(value, encoding) if isinstance(value, (bytes, bytearray)) else str(value)
