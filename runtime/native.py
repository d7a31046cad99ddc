"""Loading native object code into the process (MCJIT) and the host CPU's identity.

Only llvmlite.binding, ctypes and the stdlib: saved artifacts run without the compiler.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import threading

import llvmlite.binding as llvm

_LOCK = threading.Lock()
# C library functions generated code may call (barrier backoff, matmul packing buffers, the
# rare libm fallbacks).
_LIBC_SYMBOLS = ("sched_yield", "aligned_alloc", "free", "malloc")
_LIBM_SYMBOLS = ("fmod", "fmodf", "pow", "powf", "sin", "cos", "atan2", "exp", "log", "expf", "logf",
                 "sinf", "cosf", "atan2f")


@functools.lru_cache(maxsize=None)
def _initialize() -> None:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    _register_c_symbols()


def _register_c_symbols() -> None:
    """MCJIT resolves external calls through llvmlite's symbol table; fill in the few libc/libm
    functions our code may call so resolution does not depend on how Python was linked."""
    libs = [ctypes.CDLL(None)]
    name = ctypes.util.find_library("m")
    if name:
        try:
            libs.append(ctypes.CDLL(name))
        except OSError:
            pass
    for sym in _LIBC_SYMBOLS + _LIBM_SYMBOLS:
        for lib in libs:
            fn = getattr(lib, sym, None)
            if fn is not None:
                llvm.add_symbol(sym, ctypes.cast(fn, ctypes.c_void_p).value)
                break


@functools.lru_cache(maxsize=None)
def host_cpu() -> tuple:
    _initialize()
    return llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()


def _target_machine():
    """A fresh target machine: an MCJIT engine takes ownership of (and frees) the one it gets."""
    _initialize()
    cpu, features = host_cpu()
    return llvm.Target.from_default_triple().create_target_machine(cpu=cpu, features=features,
                                                                   reloc="pic", codemodel="default")


def missing_features(features: str) -> list:
    """Features the object was compiled for ("+avx512f,...") that this CPU lacks."""
    have = {f[1:] for f in host_cpu()[1].split(",") if f.startswith("+")}
    need = {f[1:] for f in features.split(",") if f.startswith("+")}
    return sorted(need - have)


class NativeCode:
    """An object file linked into the process. Keep this object alive while its functions may
    be called: the engine owns the code pages."""

    def __init__(self, object_bytes: bytes):
        _initialize()
        with _LOCK:
            tm = _target_machine()
            module = llvm.parse_assembly("")
            module.triple = tm.triple
            self._engine = llvm.create_mcjit_compiler(module, tm)
            self._object = llvm.ObjectFileRef.from_data(bytes(object_bytes))
            self._engine.add_object_file(self._object)
            self._engine.finalize_object()

    def address(self, name: str) -> int:
        addr = self._engine.get_function_address(name)
        if not addr:
            raise RuntimeError(f"native code has no function named {name!r}")
        return addr
