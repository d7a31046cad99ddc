"""`tf.compat.v1.layers` and `tf.compat.v1.nn.rnn_cell`: in TF 2.21 these namespaces load their
contents from Keras 2 (tf_keras); with Keras 3 every name in them is an AttributeError
"`dense` is not available with Keras 3.". fuseflow reproduces that, so TF1 code that probes
them sees what it would see under TF 2.21."""
from __future__ import annotations


class KerasLegacyNamespace:
    def __init__(self, path):
        self._path = path

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"`{name}` is not available with Keras 3.")

    def __repr__(self):
        return f"<namespace {self._path} (not available with Keras 3)>"


layers = KerasLegacyNamespace("tf.compat.v1.layers")
rnn_cell = KerasLegacyNamespace("tf.compat.v1.nn.rnn_cell")
