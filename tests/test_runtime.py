"""Runtime: input validation, symbol binding, outputs, threads, artifacts (in a clean subprocess)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import zipfile

import numpy as np
import pytest

from fuseflow.compiler import dtypes as dt
from fuseflow.compiler import loopir as L
from fuseflow.compiler.codegen.llvm import generate
from fuseflow.compiler.shapes import SymDim
from fuseflow.runtime import ArtifactError, Executable, ExecutionError, load, save

f32, i32 = dt.float32, dt.int32
B_ = SymDim.symbol("b")


def _affine():
    """z[b, j] = x[b, j] * w[j] + k[0] with x: f32[b, 3], w: f32[3], k: i32[1] (cast)."""
    i, j = L.Var("i"), L.Var("j")
    bufs = {"x": L.Buffer("x", f32, (B_, 3), "input"), "w": L.Buffer("w", f32, (3,), "input"),
            "k": L.Buffer("k", i32, (1,), "input"), "z": L.Buffer("z", f32, (B_, 3), "output")}
    flat = i * 3 + j
    value = L.Binary("add", L.Binary("mul", L.Load("x", flat, f32), L.Load("w", j, f32)),
                     L.Cast(L.Load("k", L.Const(0, L.INDEX), i32), f32))
    body = [L.Loop("i", L.SizeOf(B_), [L.Loop("j", L.Const(3, L.INDEX), [L.Store("z", flat, value)])], "parallel")]
    return L.Program("affine", bufs, [L.Kernel("k", body, ["x", "w", "k"], ["z"])], ["x", "w", "k"], ["z"], ["b"])


@pytest.fixture(scope="module")
def compiled():
    return generate(_affine())


@pytest.fixture(scope="module")
def exe(compiled):
    return Executable(compiled.object, compiled.signature)


W = np.array([1.0, 2.0, 3.0], np.float32)
K = np.array([10], np.int32)


def test_call_and_symbolic_batch(exe):
    for b in (0, 1, 4):
        x = np.arange(3 * b, dtype=np.float32).reshape(b, 3)
        out = exe(x, W, K)
        assert isinstance(out, list) and len(out) == 1
        np.testing.assert_array_equal(out[0], x * W + 10)
    assert exe(x, W, K)[0] is not exe(x, W, K)[0]  # fresh outputs every call


def test_python_scalars_and_lists_convert_safely(exe):
    out = exe([[1, 2, 3]], [1.0, 1.0, 1.0], [2])[0]
    np.testing.assert_array_equal(out, [[3, 4, 5]])
    with pytest.raises(TypeError, match=r"input 2 \('k'\).*float64 values"):
        exe([[1, 2, 3]], W, [2.5])
    with pytest.raises(ValueError, match="do not fit in int32"):
        exe([[1, 2, 3]], W, [2**40])


def test_dtype_rank_and_shape_errors_name_the_input(exe):
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(TypeError, match=r"input 0 \('x'\): expected dtype float32, got float64"):
        exe(x.astype(np.float64), W, K)
    with pytest.raises(ValueError, match=r"input 0 \('x'\) must have rank 2 \(shape \[b, 3\]\), got shape \(3,\)"):
        exe(W, W, K)
    with pytest.raises(ValueError, match=r"input 1 \('w'\) must have shape \[3\], got \(4,\)"):
        exe(x, np.zeros(4, np.float32), K)
    with pytest.raises(TypeError, match="expected 3 inputs"):
        exe(x, W)


def test_symbols_must_bind_consistently():
    i = L.Var("i")
    bufs = {"x": L.Buffer("x", f32, (B_,), "input"), "y": L.Buffer("y", f32, (B_,), "input"),
            "z": L.Buffer("z", f32, (B_,), "output")}
    body = [L.Loop("i", L.SizeOf(B_), [L.Store("z", i, L.Binary("add", L.Load("x", i, f32), L.Load("y", i, f32)))],
                   "parallel")]
    prog = L.Program("add", bufs, [L.Kernel("k", body, ["x", "y"], ["z"])], ["x", "y"], ["z"], ["b"])
    res = generate(prog)
    exe = Executable(res.object, res.signature)
    with pytest.raises(ValueError, match=r"input 1 \('y'\).*size 'b', already bound to 3"):
        exe(np.zeros(3, np.float32), np.zeros(4, np.float32))


def test_derived_dims_bind_from_products():
    i = L.Var("i")
    two_b = SymDim("mul", (B_, 2))
    bufs = {"x": L.Buffer("x", f32, (two_b,), "input"), "z": L.Buffer("z", f32, (B_,), "output")}
    body = [L.Loop("i", L.SizeOf(B_), [L.Store("z", i, L.Load("x", i * 2 + 1, f32))], "parallel")]
    prog = L.Program("odd", bufs, [L.Kernel("k", body, ["x"], ["z"])], ["x"], ["z"], ["b"])
    res = generate(prog)
    exe = Executable(res.object, res.signature)
    np.testing.assert_array_equal(exe(np.arange(8, dtype=np.float32))[0], [1, 3, 5, 7])
    with pytest.raises(ValueError, match=r"dimension 0 must be \(b\*2\)"):
        exe(np.arange(7, dtype=np.float32))


def test_non_contiguous_and_readonly_inputs(exe):
    big = np.arange(24, dtype=np.float32).reshape(4, 6)
    x = big[:, ::2]                       # strided view
    w = np.broadcast_to(np.float32(2), (3,))  # read-only, zero strides
    np.testing.assert_array_equal(exe(x, w, K)[0], x * 2 + 10)


def test_two_python_threads_share_one_executable(exe):
    errors = []

    def work(seed):
        rng = np.random.default_rng(seed)
        try:
            for _ in range(200):
                b = int(rng.integers(1, 50))
                x = rng.integers(-1000, 1000, (b, 3)).astype(np.float32)  # exact arithmetic
                np.testing.assert_array_equal(exe(x, W, K)[0], x * W + 10)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_output_with_alias_updates_the_input_in_place():
    i = L.Var("i")
    bufs = {"v": L.Buffer("v", f32, (B_,), "input"), "v2": L.Buffer("v2", f32, (B_,), "output")}
    body = [L.Loop("i", L.SizeOf(B_), [L.Store("v2", i, L.Binary("mul", L.Load("v", i, f32), L.Const(2, f32)))],
                   "parallel")]
    prog = L.Program("double", bufs, [L.Kernel("k", body, ["v"], ["v2"])], ["v"], ["v2"], ["b"])
    prog.aliases = {"v2": "v"}
    res = generate(prog)
    exe = Executable(res.object, res.signature)
    v = np.ones(4, np.float32)
    out = exe(v)[0]
    assert out is v and v.tolist() == [2, 2, 2, 2]
    ro = np.ones(4, np.float32)
    ro.flags.writeable = False
    out = exe(ro)[0]  # a read-only buffer is never written: the result is a copy
    assert out is not ro and ro.tolist() == [1, 1, 1, 1] and out.tolist() == [2, 2, 2, 2]


def test_error_status_maps_to_exception():
    i = L.Var("i")
    bufs = {"x": L.Buffer("x", i32, (B_,), "input"), "z": L.Buffer("z", i32, (B_,), "output")}
    body = [L.Loop("i", L.SizeOf(B_), [L.ErrorIf(L.Binary("lt", L.Load("x", i, i32), L.Const(0, i32)), 3),
                                       L.Store("z", i, L.Load("x", i, i32))], "parallel")]
    prog = L.Program("check", bufs, [L.Kernel("k", body, ["x"], ["z"])], ["x"], ["z"], ["b"])
    prog.errors = {3: "gather: index out of range (model.py:7 'embed')"}
    res = generate(prog)
    exe = Executable(res.object, res.signature)
    with pytest.raises(ExecutionError, match=r"index out of range \(model.py:7"):
        exe(np.array([1, -1, 2], np.int32))


# ----------------------------------------------------------------------------- artifacts
_CHILD = r"""
import importlib.util, sys
import numpy as np
runtime_dir, path = sys.argv[1], sys.argv[2]
# Load the runtime package from its directory, the way a deployment that ships only the
# runtime would: nothing from the compiler or the frontend may come along.
spec = importlib.util.spec_from_file_location("ffrt", runtime_dir + "/__init__.py",
                                              submodule_search_locations=[runtime_dir])
rt = importlib.util.module_from_spec(spec)
sys.modules["ffrt"] = rt
spec.loader.exec_module(rt)
exe = rt.load(path)
out = exe(np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2, 3], np.float32), np.array([10], np.int32))[0]
assert out.tolist() == [[10, 12, 16], [13, 18, 25]], out
bad = [m for m in sys.modules if m == "networkx" or m.startswith("fuseflow")]
assert not bad, bad
print("ok")
"""


def test_artifact_round_trip_in_a_clean_process(compiled, tmp_path):
    path = save(tmp_path / "affine.ffa", compiled.object, compiled.signature)
    assert os.path.exists(path) and not [p for p in os.listdir(tmp_path) if p.startswith(".ffa-")]
    with zipfile.ZipFile(path) as z:
        assert {"format.json", "signature.json", "code.o"} <= set(z.namelist())
    import fuseflow.runtime as runtime_pkg
    runtime_dir = os.path.dirname(runtime_pkg.__file__)
    proc = subprocess.run([sys.executable, "-c", _CHILD, runtime_dir, str(path)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
    exe = load(path)
    np.testing.assert_array_equal(exe(np.ones((1, 3), np.float32), W, K)[0], [[11, 12, 13]])


def test_artifact_refuses_foreign_cpu_and_bad_files(compiled, tmp_path):
    sig = dict(compiled.signature)
    sig["cpu"] = ["futurecpu", compiled.signature["cpu"][1] + ",+avx9000"]
    path = save(tmp_path / "f.ffa", compiled.object, sig)
    with pytest.raises(ArtifactError, match="lacks avx9000"):
        load(path)
    junk = tmp_path / "junk.ffa"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ArtifactError, match="not a fuseflow .ffa artifact"):
        load(junk)
    newer = tmp_path / "newer.ffa"
    with zipfile.ZipFile(newer, "w") as z:
        z.writestr("format.json", json.dumps({"format_version": 99}))
        z.writestr("signature.json", "{}")
        z.writestr("code.o", b"")
    with pytest.raises(ArtifactError, match="format version 99"):
        load(newer)


def test_out_arrays_are_filled_in_place(exe):
    x = np.ones((2, 3), np.float32)
    dst = np.zeros((2, 3), np.float32)
    res = exe(x, W, K, out=[dst])
    assert res[0] is dst and dst.tolist() == [[11, 12, 13]] * 2
    with pytest.raises(ValueError, match=r"out\[0\] must be a writable C-contiguous float32\[2, 3\]"):
        exe(x, W, K, out=[np.zeros((3, 2), np.float32)])


def test_unaligned_input_is_copied(exe):
    raw = np.zeros(3 * 4 + 1, np.uint8)
    x = np.frombuffer(raw.data, dtype=np.float32, count=3, offset=1).reshape(1, 3)
    assert not x.flags.aligned
    np.testing.assert_array_equal(exe(x, W, K)[0], [[10, 10, 10]])


def test_repeated_arrays_take_the_validated_path_again_safely():
    """Passing the previous call's arrays again skips validation; what changed since must not be missed."""
    i = L.Var("i")
    bufs = {"v": L.Buffer("v", f32, (B_,), "input"), "v2": L.Buffer("v2", f32, (B_,), "output"),
            "s": L.Buffer("s", f32, (B_,), "output")}
    body = [L.Loop("i", L.SizeOf(B_), [L.Store("v2", i, L.Binary("mul", L.Load("v", i, f32), L.Const(2, f32))),
                                       L.Store("s", i, L.Load("v", i, f32))], "parallel")]
    prog = L.Program("double", bufs, [L.Kernel("k", body, ["v"], ["v2", "s"])], ["v"], ["v2", "s"], ["b"])
    prog.aliases = {"v2": "v"}
    res = generate(prog)
    exe = Executable(res.object, res.signature)
    v = np.ones(4, np.float32)
    first = exe(v)
    assert first[0] is v and first[1].tolist() == [1, 1, 1, 1]
    second = exe(v)                                   # same array: the repeated-call path
    assert second[0] is v and v.tolist() == [4] * 4 and second[1].tolist() == [2] * 4
    assert first[1].tolist() == [1] * 4               # a held output is never recycled
    v.flags.writeable = False                         # changed since the last call: copied, not written
    third = exe(v)
    assert third[0] is not v and v.tolist() == [4] * 4 and third[0].tolist() == [8] * 4
    dst = [None, np.zeros(4, np.float32)]
    w = np.ones(4, np.float32)
    exe(w, out=dst)
    assert dst[1].tolist() == [1] * 4
    after = exe(w)                                    # the out= array is no longer in the table
    assert after[1] is not dst[1] and after[1].tolist() == [2] * 4 and dst[1].tolist() == [1] * 4
    assert exe(np.ones(6, np.float32))[0].tolist() == [2] * 6   # another shape, another plan
    assert exe(w)[0].tolist() == [8] * 4


def test_output_sets_alternate_when_the_last_results_are_kept(exe):
    """`state = run(state)`-style loops hold the previous call's outputs while calling again:
    the set before that is free and is reused (no allocation); held outputs are never written."""
    x = np.ones((2, 3), np.float32)

    def address(a):
        return a.__array_interface__["data"][0]

    kept = exe(x, W, K)
    first = address(kept[0])
    kept = exe(x, W, K)
    second = address(kept[0])
    assert second != first
    kept = exe(x, W, K)
    assert address(kept[0]) == first                    # the first set, free again
    old = kept
    kept = exe(x + 1, W, K)                             # the second set; `old` still held
    assert address(kept[0]) == second
    held_twice = exe(x + 2, W, K)                       # both sets held: a fresh one
    assert address(held_twice[0]) not in (first, second)
    np.testing.assert_array_equal(old[0], [[11, 12, 13]] * 2)
    np.testing.assert_array_equal(kept[0], [[12, 14, 16]] * 2)
    np.testing.assert_array_equal(held_twice[0], [[13, 16, 19]] * 2)


def test_a_new_output_set_takes_over_the_unheld_arrays_of_the_old_one():
    i = L.Var("i")
    bufs = {"v": L.Buffer("v", f32, (4,), "input"), "a": L.Buffer("a", f32, (4,), "output"),
            "b": L.Buffer("b", f32, (4,), "output")}
    body = [L.Loop("i", L.Const(4, L.INDEX), [L.Store("a", i, L.Load("v", i, f32)),
                                              L.Store("b", i, L.Binary("mul", L.Load("v", i, f32),
                                                                       L.Const(2, f32)))], "parallel")]
    prog = L.Program("two", bufs, [L.Kernel("k", body, ["v"], ["a", "b"])], ["v"], ["a", "b"], [])
    res = generate(prog)
    exe = Executable(res.object, res.signature)
    v = np.ones(4, np.float32)

    def address(x):
        return x.__array_interface__["data"][0]

    first_a, first_b = exe(v)                    # set 1, both held
    b_address = address(first_b)
    del first_b                                  # only set 1's `a` stays held
    second = exe(v)                              # set 1 is not free: set 2
    third = exe(v)                               # sets 1 and 2 held: a new set takes over set 1's free `b`
    assert address(third[1]) == b_address and address(third[0]) != address(first_a)
    np.testing.assert_array_equal(first_a, [1] * 4)
    np.testing.assert_array_equal(third[1], [2] * 4)
    assert second[0] is not third[0]
