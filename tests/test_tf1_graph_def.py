"""Graph inspection of TF1 tutorials: as_graph_def (TF op type names, inputs), Operation.values,
as_graph_element and tf.train.write_graph."""
import os

import fuseflow.compat.v1 as tf


def test_graph_def_and_write_graph(tmp_path):
    with tf.Graph().as_default() as g:
        a = tf.constant([[1.0, 2.0]], name="a")
        b = tf.constant([[1.0], [3.0]], name="b")
        m = tf.matmul(a, b, name="exampleop")
        s = tf.add(m, 1.0, name="plus")
        gd = g.as_graph_def()
        nodes = {n.name: n for n in gd.node}
        assert nodes["exampleop"].op == "MatMul" and nodes["exampleop"].input == ["a", "b"]
        assert nodes["plus"].op == "AddV2" and nodes["a"].op == "Const"
        assert 'name: "exampleop"' in str(gd) and gd.SerializeToString()
        assert m.op.values() == (m,)
        assert g.as_graph_element("exampleop:0") is m and g.as_graph_element(s) is s
        text = tf.train.write_graph(g, str(tmp_path), "g.pbtxt")
        binary = tf.io.write_graph(gd, str(tmp_path), "g.pb", as_text=False)
    assert open(text).read().startswith("node {")
    assert os.path.getsize(binary) == len(gd.SerializeToString())
