"""IR invariants, the verifier, the printer, type rules' error messages and the simplification passes."""
import numpy as np
import pytest

from fuseflow.compiler import dtypes as dt
from fuseflow.compiler.builder import Emitter
from fuseflow.compiler.interpreter import interpret
from fuseflow.compiler.ir import Graph, IRError, SourceLoc, TensorType, Value, verify
from fuseflow.compiler.ops.registry import OpError
from fuseflow.compiler.passes.pipeline import PassError, run_passes, simplify_to_fixed_point
from fuseflow.compiler.passes.simplify import algebraic_simplify, constant_fold, cse, dce
from fuseflow.compiler.printer import format_graph
from fuseflow.compiler.shapes import SymDim, broadcast_shapes, ShapeError


def graph(*shapes, dtype=dt.float32):
    g = Graph()
    em = Emitter(g, loc=SourceLoc("model.py", 7))
    ps = []
    for i, s in enumerate(shapes):
        p = em.parameter(index=i, shape=tuple(s), dtype=dtype)
        g.graph["inputs"].append(p.node)
        ps.append(p)
    return g, em, ps


def test_operands_are_ordered_by_slot_not_insertion():
    g, em, (x, y) = graph((3,), (3,))
    s = em.sub(x, y)
    g.graph["outputs"] = [s]
    # rewire slot 1 first, then slot 0: operand order must still follow dst_in
    g.set_operand(s.node, 1, x)
    g.set_operand(s.node, 0, y)
    assert g.operands(s.node) == [y, x]
    out = interpret(g, [np.ones(3, np.float32), np.zeros(3, np.float32)])[0]
    np.testing.assert_array_equal(out, [-1, -1, -1])


def test_multigraph_keeps_repeated_operand():
    g, em, (x,) = graph((2,))
    sq = em.mul(x, x)
    assert g.number_of_edges(x.node, sq.node) == 2
    g.graph["outputs"] = [sq]
    np.testing.assert_array_equal(interpret(g, [np.array([2, 3], np.float32)])[0], [4, 9])


def test_verifier_catches_type_mismatch_and_missing_slot():
    g, em, (x,) = graph((2, 3))
    y = em.exp(x)
    g.graph["outputs"] = [y]
    verify(g)
    g.nodes[y.node]["outputs"] = (TensorType((3, 2), dt.float32),)
    with pytest.raises(IRError, match="differ from inferred"):
        verify(g)
    g2, em2, (a, b) = graph((2,), (2,))
    s = em2.add(a, b)
    g2.remove_edge(b.node, s.node)
    with pytest.raises(IRError, match="expects 2 operands"):
        verify(g2)


def test_type_errors_name_op_shapes_and_location():
    g, em, (x, y) = graph((2, 3), (4,))
    with pytest.raises(OpError) as e:
        em.add(x, y)
    msg = str(e.value)
    assert "add" in msg and "[2,3]" in msg and "[4]" in msg and "model.py:7" in msg
    g, em, (a,) = graph((2, 3))
    b = em.parameter(index=1, shape=(3, 2), dtype=dt.int32)
    with pytest.raises(OpError, match="same dtype"):
        em.matmul(a, b, transpose_a=False, transpose_b=False)
    with pytest.raises(OpError, match="inner dimensions"):
        em.matmul(a, a, transpose_a=False, transpose_b=False)


def test_symbolic_broadcasting():
    b = SymDim.symbol("b")
    assert broadcast_shapes((b, 1), (1, 3)) == (b, 3)
    assert broadcast_shapes((b, 3), (3,)) == (b, 3)
    with pytest.raises(ShapeError):
        broadcast_shapes((2, 3), (4, 3))


def test_printer_is_stable_and_readable():
    def build():
        g, em, (x, w) = graph((4, 3), (3, 2))
        h = em.relu(em.matmul(x, w, transpose_a=False, transpose_b=False))
        g.graph["outputs"] = [em.reduce_sum(h, axes=(1,), keepdims=False)]
        return g
    a, b = format_graph(build()), format_graph(build())
    assert a == b
    assert "%2 = matmul{transpose_a=False, transpose_b=False}(%0, %1) : f32[4,2]  # model.py:7" in a
    assert a.splitlines()[-2].strip() == "return %4"


def test_constant_folding_and_algebraic_identities():
    g, em, (x,) = graph((3,))
    one = em.add(em.constant(np.float32(0.5)), em.constant(np.float32(0.5)))
    y = em.mul(x, one)                    # x * 1 -> x
    z = em.add(em.neg(em.neg(y)), em.constant(np.float32(0)))
    g.graph["outputs"] = [z]
    g = simplify_to_fixed_point(g)
    assert g.graph["outputs"][0] == x


def test_simplify_keeps_broadcasting_multiplies():
    g, em, (x,) = graph((3,))
    y = em.mul(x, em.constant(np.ones((2, 3), np.float32)))   # changes the shape: must stay
    g.graph["outputs"] = [y]
    g = simplify_to_fixed_point(g)
    assert g.value_type(g.graph["outputs"][0]).shape == (2, 3)


def test_cse_merges_and_dce_removes():
    g, em, (x,) = graph((3,))
    a, b = em.exp(x), em.exp(x)
    em.log(x)  # dead
    g.graph["outputs"] = [em.add(a, b)]
    g = dce(cse(g))
    assert sorted(g.nodes[n]["op"] for n in g) == ["add", "exp", "parameter"]


def test_pass_failure_names_the_pass():
    g, em, (x,) = graph((3,))
    g.graph["outputs"] = [em.exp(x)]

    def broken(graph):
        raise RuntimeError("boom")
    broken.__name__ = "broken_pass"
    with pytest.raises(PassError, match="broken_pass"):
        run_passes(g, [broken])


def test_passes_preserve_results_on_a_mixed_graph():
    rng = np.random.default_rng(0)
    g, em, (x, w) = graph((5, 4), (4, 3))
    t = em.transpose(em.transpose(x, perm=(1, 0)), perm=(1, 0))
    h = em.matmul(em.transpose(t, perm=(1, 0)), w, transpose_a=True, transpose_b=False)   # (5,4)@(4,3)
    y = em.reshape(em.reshape(h, shape=(-1,)), shape=(3, 5))
    g.graph["outputs"] = [em.mul(y, em.constant(np.float32(1)))]
    args = [rng.standard_normal((5, 4)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32)]
    before = interpret(g, args)[0]
    after_g = run_passes(g, verify_each=True)
    np.testing.assert_allclose(interpret(after_g, args)[0], before, rtol=1e-6)
    assert not [n for n in after_g if after_g.op(n) == "transpose"]
