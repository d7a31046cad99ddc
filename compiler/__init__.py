"""fuseflow.compiler: graph IR, op registry, passes, fusion, loop IR and LLVM code generation."""
from . import ops  # noqa: F401  (registers every op)
from .ir import Graph, SourceLoc, TensorType, Value, verify  # noqa: F401
from .interpreter import interpret  # noqa: F401
