"""`tf.strings` (host-computed string ops)."""
from ..string_ops import (as_string, format, join, length, lower, reduce_join, regex_full_match, regex_replace,
                          split, strip, substr, to_number, upper)
from ..string_ops import bytes_split, unicode_split  # noqa: E402
