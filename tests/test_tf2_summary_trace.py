"""tf.summary.trace_on / trace_export: accepted, and the missing graph export is announced."""
import warnings

import pytest

import fuseflow as tf


def test_trace_export_warns_without_writing_a_graph(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    tf.summary.trace_on(graph=True)
    with writer.as_default(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert tf.summary.trace_export(name="graph", step=0) is None
    writer.close()
    assert any("does not export traced graphs" in str(w.message) for w in caught)
    with pytest.raises(NotImplementedError, match="profiler"):
        tf.summary.trace_on(graph=True, profiler=True)
    tf.summary.trace_off()
