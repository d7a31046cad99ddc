"""`tf.keras.preprocessing` (Keras 3 keeps only a few helpers here)."""
import types

from .utils import pad_sequences

sequence = types.SimpleNamespace(pad_sequences=pad_sequences)
