"""Kernel-count and boundary tests for fusion (tinygrad's check_schedule idea): what fuses
into one kernel, what must not, and that each boundary says why."""
import numpy as np
import pytest

from fuseflow.compiler import dtypes as dt
from fuseflow.compiler.builder import Emitter
from fuseflow.compiler.fusion import fuse
from fuseflow.compiler.ir import Graph
from fuseflow.compiler.loopir import Load, MatmulTemplate, format_program
from fuseflow.compiler.lowering import lower
from fuseflow.compiler.passes.pipeline import simplify_to_fixed_point
from fuseflow.compiler.shapes import SymDim


def make(*shapes, dtype=dt.float32):
    g = Graph()
    em = Emitter(g)
    params = []
    for i, s in enumerate(shapes):
        p = em.parameter(index=i, shape=tuple(s), dtype=dtype)
        g.graph["inputs"].append(p.node)
        params.append(p)
    return g, em, params


def schedule(g, outputs):
    g.graph["outputs"] = list(outputs)
    g = fuse(simplify_to_fixed_point(g))
    return g, lower(g)


def check_kernels(g, outputs, expected):
    g, prog = schedule(g, outputs)
    assert len(prog.kernels) == expected, format_program(prog)
    return g, prog


def test_elementwise_chain_is_one_kernel():
    g, em, (x,) = make((1024, 64))
    y = em.mul(em.sigmoid(x), em.tanh(em.add(em.mul(x, em.constant(np.float32(1.5))), em.constant(np.float32(0.25)))))
    _, prog = check_kernels(g, [y], 1)
    # no intermediate buffers: only the input and the output
    assert {b.role for b in prog.buffers.values()} == {"input", "output"}


def test_broadcast_is_an_index_map_not_a_buffer():
    g, em, (x, b) = make((8, 16), (16,))
    y = em.relu(em.add(x, em.broadcast_to(b, shape=(8, 16))))
    _, prog = check_kernels(g, [y], 1)
    assert not [bf for bf in prog.buffers.values() if bf.role == "temp"]


def test_reduction_with_prologue_and_epilogue():
    g, em, (x,) = make((32, 100))
    s = em.reduce_sum(em.exp(x), axes=(1,), keepdims=False)
    y = em.log(s)
    check_kernels(g, [y], 1)


def test_reduction_broadcast_back_over_leading_axis_starts_a_new_kernel():
    g, em, (x,) = make((32, 100))
    m = em.reduce_max(x, axes=(0,), keepdims=True)
    y = em.sub(x, m)
    fg, prog = check_kernels(g, [y], 2)
    assert "broadcasts the result" in prog.kernels[0].reason


def test_softmax_is_one_row_kernel():
    g, em, (x,) = make((32, 100))
    m = em.reduce_max(x, axes=(1,), keepdims=True)
    e = em.exp(em.sub(x, m))
    y = em.div(e, em.reduce_sum(e, axes=(1,), keepdims=True))
    fg, prog = check_kernels(g, [y], 1)
    assert "row kernel" in prog.kernels[0].reason
    assert not [b for b in prog.buffers.values() if b.role == "temp"]


def test_row_kernel_stores_row_statistics_and_full_results():
    g, em, (x,) = make((8, 6, 5))
    mean = em.reduce_mean(x, axes=(2,), keepdims=True)
    centered = em.sub(x, mean)
    var = em.reduce_mean(em.square(centered), axes=(2,), keepdims=True)
    y = em.mul(centered, em.rsqrt(em.add(var, em.scalar_like(1e-5, var))))
    fg, prog = check_kernels(g, [y, var], 1)


def test_matmul_epilogue_fuses_bias_and_activation():
    g, em, (x, w, b) = make((64, 48), (48, 32), (32,))
    y = em.relu(em.add(em.matmul(x, w, transpose_a=False, transpose_b=False), b))
    _, prog = check_kernels(g, [y], 1)
    (mm,) = prog.kernels[0].body
    assert isinstance(mm, MatmulTemplate) and mm.epilogue is not None


def test_tiny_matmul_is_plain_loops_with_its_epilogue():
    g, em, (x, w, b) = make((5, 4), (4, 4), (4,))
    y = em.tanh(em.add(em.matmul(x, w, transpose_a=False, transpose_b=False), b))
    _, prog = check_kernels(g, [y], 1)
    assert not any(isinstance(s, MatmulTemplate) for s in _walk(prog.kernels[0].body))


def test_matmul_operand_producer_is_materialized():
    g, em, (x, w) = make((4, 3), (3, 5))
    y = em.matmul(em.exp(x), w, transpose_a=False, transpose_b=False)
    fg, prog = check_kernels(g, [y], 2)
    assert "must be in memory" in prog.kernels[0].reason


def test_transpose_into_matmul_becomes_a_flag():
    g, em, (x, w) = make((3, 4), (3, 5))
    y = em.matmul(em.transpose(x, perm=(1, 0)), w, transpose_a=False, transpose_b=False)
    fg, prog = check_kernels(g, [y], 1)
    (mm,) = [n for n in fg if fg.op(n) == "matmul"]
    assert fg.attrs(mm)["transpose_a"] is True
    assert not [n for n in fg if fg.op(n) == "transpose"]


def test_expensive_producer_is_not_recomputed_through_broadcast():
    g, em, (x,) = make((64,))
    e = em.exp(x)
    y = em.add(em.broadcast_to(e, shape=(64, 64)), em.constant(np.float32(1)))
    fg, prog = check_kernels(g, [y], 2)
    assert "recomputed by a broadcast" in prog.kernels[0].reason


def test_value_used_by_two_kernels_is_stored_once():
    g, em, (x,) = make((16, 16))
    e = em.exp(x)
    a = em.reduce_sum(e, axes=(0,), keepdims=False)
    b = em.reduce_sum(e, axes=(1,), keepdims=False)
    fg, prog = check_kernels(g, [a, b], 3)


def test_cse_and_constant_folding_shrink_the_graph():
    g, em, (x,) = make((4,))
    c = em.add(em.constant(np.float32(2)), em.constant(np.float32(3)))
    y1 = em.mul(x, c)
    y2 = em.mul(x, c)
    g.graph["outputs"] = [em.add(y1, y2)]
    g = simplify_to_fixed_point(g)
    ops = sorted(g.nodes[n]["op"] for n in g)
    assert ops == ["add", "constant", "mul", "parameter"]


def test_symbolic_batch_dim_flows_to_loops():
    b = SymDim.symbol("b")
    g, em, (x,) = make((b, 3))
    y = em.reduce_mean(em.square(x), axes=(1,), keepdims=False)
    fg, prog = check_kernels(g, [y], 1)
    assert prog.symbols == ["b"]
    assert "dim(b)" in format_program(prog)


def test_identity_output_is_copied():
    g, em, (x,) = make((5,))
    fg, prog = check_kernels(g, [x, x], 2)
    assert all(k.name.startswith("copy_") for k in prog.kernels)


def test_reduction_prologue_reads_input_directly():
    g, em, (x,) = make((10, 10))
    y = em.reduce_sum(em.mul(x, x), axes=(0, 1), keepdims=False)
    fg, prog = check_kernels(g, [y], 1)
    loads = [e for e in _walk(prog.kernels[0].body) if isinstance(e, Load)]
    assert loads and all(ld.buffer == "in0" for ld in loads)


def _walk(stmts):
    from dataclasses import fields, is_dataclass
    for s in stmts:
        yield s
        if is_dataclass(s):
            for f in fields(s):
                v = getattr(s, f.name)
                if isinstance(v, list):
                    yield from _walk(v)
                elif is_dataclass(v):
                    yield from _walk([v])


def test_buffer_planning_reuses_dead_temps():
    from fuseflow.compiler.buffer_planning import plan_buffers
    g, em, (x,) = make((64, 64))
    a = em.reduce_sum(em.exp(x), axes=(0,), keepdims=True)      # t_a (1,64), kernel 0
    b = em.exp(em.sub(x, a))                                     # t_b (64,64): expensive, 2 users
    c = em.reduce_max(b, axes=(0,), keepdims=True)               # t_c (1,64): t_a is dead by now
    d = em.mul(b, c)
    g, prog = schedule(g, [em.reduce_sum(em.exp(em.sub(em.exp(d), b)), axes=(0, 1), keepdims=False)])
    before = [n for n, bf in prog.buffers.items() if bf.role == "temp"]
    planned = plan_buffers(prog)
    after = [n for n, bf in planned.buffers.items() if bf.role == "temp"]
    assert len(after) < len(before)
    # every kernel still reads only buffers that exist
    for k in planned.kernels:
        assert set(k.reads) | set(k.writes) <= set(planned.buffers)


def test_cheap_producer_read_by_several_kernels_is_recomputed_in_each():
    g, em, (x, w) = make((8, 16), (16, 16))
    r = em.reshape(em.add(x, em.constant(np.float32(1))), shape=(16, 8))   # cheap: index map + add
    a = em.reduce_sum(r, axes=(0,), keepdims=False)
    b = em.reduce_max(r, axes=(0,), keepdims=False)
    fg, prog = check_kernels(g, [a, b], 2)
    assert not [bf for bf in prog.buffers.values() if bf.role == "temp"]


def test_reshape_after_reduction_joins_its_epilogue():
    g, em, (x,) = make((8, 16))
    s = em.reshape(em.reduce_sum(x, axes=(1,), keepdims=False), shape=(2, 4))
    check_kernels(g, [em.mul(s, em.constant(np.float32(3)))], 1)
