"""`tf.Tensor` for user code: `isinstance(x, tf.Tensor)` holds for symbolic and eager tensors,
as in TF2 where EagerTensor subclasses Tensor."""
from __future__ import annotations

from ..tensor import EagerTensor
from ..tensor import Tensor as _GraphTensor


class _TensorMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, (_GraphTensor, EagerTensor))

    def __subclasscheck__(cls, sub):
        return cls is sub or issubclass(sub, (_GraphTensor, EagerTensor))


class Tensor(metaclass=_TensorMeta):
    """The type of every fuseflow tensor (symbolic `fuseflow.tensor.Tensor` or `EagerTensor`)."""

    def __new__(cls, *args, **kwargs):
        raise TypeError("tf.Tensor objects are created by ops (tf.constant, tf.convert_to_tensor, ...)")
