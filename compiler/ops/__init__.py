"""Importing this package registers every op (one module per family)."""
from . import elementwise, linalg, movement, reduce, source  # noqa: F401
from . import composite, conv, indexing, nn, random, shape_ops  # noqa: F401
from .registry import OpDef, OpError, ReduceSpec, all_ops, get_op, register  # noqa: F401
