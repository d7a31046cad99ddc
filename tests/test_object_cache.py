"""The persistent object cache (compiler/codegen/object_cache.py): a second compile of the same
module text loads the stored object; damaged entries are ignored; the cache can be disabled and
an unusable directory never breaks a compile."""
from __future__ import annotations

import glob
import os

import numpy as np
import pytest

from fuseflow.compiler import dtypes as dt
from fuseflow.compiler.codegen import object_cache
from fuseflow.compiler.driver import compile_graph
from compile_helpers import graph_with_params


def _program():
    g, em, (x,) = graph_with_params(((4,), dt.float32))
    g.graph["outputs"] = [em.tanh(em.mul(x, em.scalar_like(2.0, x)))]
    return g


def _entries(directory):
    return glob.glob(os.path.join(str(directory), "*", "*.o"))


def test_second_compile_loads_the_stored_object(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSEFLOW_CACHE_DIR", str(tmp_path))
    x = np.linspace(-1, 1, 4).astype(np.float32)
    first = compile_graph(_program())
    assert not first.codegen._compiled.from_cache and len(_entries(tmp_path)) == 1
    second = compile_graph(_program())
    assert second.codegen._compiled.from_cache
    np.testing.assert_array_equal(second(x)[0], first(x)[0])
    assert second.executable.signature["entry"] in second.stage("asm")      # recompiled on demand
    assert second.stage("llvm_opt") == first.stage("llvm_opt")


def test_a_damaged_entry_is_ignored_and_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSEFLOW_CACHE_DIR", str(tmp_path))
    compile_graph(_program())
    (entry,) = _entries(tmp_path)
    data = open(entry, "rb").read()
    with open(entry, "wb") as f:
        f.write(data[:-16])                      # truncated: its checksum no longer matches
    again = compile_graph(_program())
    assert not again.codegen._compiled.from_cache
    assert open(entry, "rb").read() == data      # stored anew
    np.testing.assert_allclose(again(np.ones(4, np.float32))[0], np.tanh(2.0), rtol=1e-6)


@pytest.mark.parametrize("setting", ["off", "0", ""])
def test_the_cache_can_be_disabled(tmp_path, monkeypatch, setting):
    monkeypatch.setenv("FUSEFLOW_CACHE_DIR", setting)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert object_cache.cache_dir() is None
    compile_graph(_program())
    assert not list(tmp_path.iterdir())


def test_an_unusable_directory_does_not_break_compiling(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("FUSEFLOW_CACHE_DIR", str(blocker / "cache"))
    compiled = compile_graph(_program())
    np.testing.assert_allclose(compiled(np.zeros(4, np.float32))[0], 0.0)


def test_the_key_covers_text_optimization_and_target():
    base = object_cache.entry_key("define void @f() { ret void }", True, "znver5", "+avx512f")
    assert base != object_cache.entry_key("define void @g() { ret void }", True, "znver5", "+avx512f")
    assert base != object_cache.entry_key("define void @f() { ret void }", False, "znver5", "+avx512f")
    assert base != object_cache.entry_key("define void @f() { ret void }", True, "skylake", "+avx512f")
    assert base != object_cache.entry_key("define void @f() { ret void }", True, "znver5", "-avx512f")


def test_least_recently_used_entries_are_evicted_past_the_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSEFLOW_CACHE_DIR", str(tmp_path))
    keys = [object_cache.entry_key(f"module {i}", True, "cpu", "") for i in range(8)]
    for i, k in enumerate(keys):
        object_cache.store(k, bytes(1000))
        os.utime(object_cache._path(str(tmp_path), k), (1000 + i, 1000 + i))
    assert object_cache.load(keys[0]) is not None            # used now: the most recent
    object_cache.evict(str(tmp_path), limit=4 * 1100)
    left = {k for k in keys if os.path.exists(object_cache._path(str(tmp_path), k))}
    assert keys[0] in left and keys[1] not in left and keys[7] in left
    assert sum(os.path.getsize(object_cache._path(str(tmp_path), k)) for k in left) <= 3 * 1100
