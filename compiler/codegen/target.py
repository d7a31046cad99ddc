"""The host target machine and the LLVM passes: text IR in, optimized module and object out.

One target machine per process (creating it costs milliseconds and every compile needs it).
Objects are position independent so the same bytes serve the in-process JIT and saved .ffa
artifacts.
"""
from __future__ import annotations

import functools
import threading

import llvmlite.binding as llvm

from . import object_cache

# The pass manager and target machine are not documented as thread safe: serialize compiles.
_LOCK = threading.Lock()

_MACHINE_OPTIONS = dict(opt=3, reloc="pic", codemodel="default")
_PIPELINE = dict(speed_level=3, loop_vectorization=True, slp_vectorization=True)
# Everything besides the IR text that decides the object: part of the persistent cache's key.
CODEGEN_CONFIGURATION = repr(sorted(_MACHINE_OPTIONS.items()) + sorted(_PIPELINE.items()))


@functools.lru_cache(maxsize=None)
def _initialize() -> None:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()


@functools.lru_cache(maxsize=None)
def host_cpu() -> tuple:
    """(cpu name, flattened feature string) of this machine."""
    _initialize()
    return llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()


@functools.lru_cache(maxsize=None)
def target_machine():
    _initialize()
    cpu, features = host_cpu()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(cpu=cpu, features=features, **_MACHINE_OPTIONS)



def module_header() -> str:
    tm = target_machine()
    return f'target triple = "{tm.triple}"\ntarget datalayout = "{tm.target_data}"\n'


class CompiledModule:
    """The object code of a module. Its optimized IR and assembly text are produced on demand;
    when the object came from the persistent cache (object_cache.py), that first compiles the
    text again."""

    def __init__(self, text: str, optimize: bool, *, module=None, obj: bytes = None):
        self._text = text
        self._optimize = optimize
        self._module = module
        self.object = obj if obj is not None else target_machine().emit_object(module)
        self.from_cache = obj is not None
        self._asm = None
        self._ir = None

    @property
    def module(self):
        if self._module is None:
            with _LOCK:
                self._module = _optimized_module(self._text, self._optimize)
        return self._module

    @property
    def optimized_ir(self) -> str:
        if self._ir is None:
            self._ir = str(self.module)
        return self._ir

    @property
    def asm(self) -> str:
        if self._asm is None:
            module = self.module
            with _LOCK:
                self._asm = target_machine().emit_assembly(module)
        return self._asm


def _optimized_module(text: str, optimize: bool):
    """Parse and verify `text` (bad IR would trip LLVM assertions later), run O3. Holds _LOCK."""
    try:
        module = llvm.parse_assembly(text)
        module.verify()
    except RuntimeError as e:
        raise CodegenError(f"generated LLVM IR is invalid: {e}") from None
    if optimize:
        tm = target_machine()
        pto = llvm.create_pipeline_tuning_options(speed_level=_PIPELINE["speed_level"])
        pto.loop_vectorization = _PIPELINE["loop_vectorization"]
        pto.slp_vectorization = _PIPELINE["slp_vectorization"]
        pb = llvm.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(module, pb)
    return module


def compile_ir(text: str, *, optimize: bool = True) -> CompiledModule:
    """Object code for `text`: from the persistent cache, or parsed, verified, optimized and
    emitted (then stored in the cache)."""
    _initialize()
    cpu, features = host_cpu()
    key = object_cache.entry_key(text, optimize, cpu, features + CODEGEN_CONFIGURATION)
    cached = object_cache.load(key)
    if cached is not None:
        return CompiledModule(text, optimize, obj=cached)
    with _LOCK:
        compiled = CompiledModule(text, optimize, module=_optimized_module(text, optimize))
    object_cache.store(key, compiled.object)
    return compiled


class CodegenError(RuntimeError):
    """The code generator met something it cannot lower, or produced invalid IR (a compiler bug)."""
