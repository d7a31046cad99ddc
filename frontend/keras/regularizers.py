"""`tf.keras.regularizers`: weight penalties added to the model's loss (Keras 3 definitions)."""
from __future__ import annotations

import fuseflow as tf


class Regularizer:
    def __call__(self, x):
        return tf.constant(0.0)

    def get_config(self) -> dict:
        return {}


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        x = tf.convert_to_tensor(x)
        total = None
        if self.l1:
            total = self.l1 * tf.reduce_sum(tf.abs(x))
        if self.l2:
            term = self.l2 * tf.reduce_sum(tf.square(x))
            total = term if total is None else total + term
        return total if total is not None else tf.constant(0.0, dtype=x.dtype)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)


l1 = L1
l2 = L2
l1_l2 = L1L2


def get(identifier):
    if identifier is None or isinstance(identifier, Regularizer) or callable(identifier):
        return identifier
    if isinstance(identifier, str):
        table = {"l1": L1, "l2": L2, "l1_l2": L1L2}
        if identifier.lower() in table:
            return table[identifier.lower()]()
    raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}")
