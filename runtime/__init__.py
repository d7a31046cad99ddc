"""fuseflow runtime: runs compiled graphs (JIT or saved .ffa artifacts).

Imports only numpy, ctypes, llvmlite.binding and the stdlib, never the compiler.
"""
from .artifact import ArtifactError, load, save
from .executable import Executable, ExecutionError

__all__ = ["Executable", "ExecutionError", "ArtifactError", "load", "save"]
