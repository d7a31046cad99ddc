"""Keras 3 metric state variables: bare names and 'metric/var' paths; custom-loop accuracy across epochs."""
import numpy as np

import fuseflow as tf


def test_metric_variable_names_and_reset_across_epochs():
    m = tf.keras.metrics.SparseCategoricalAccuracy()
    assert [v.name for v in m.variables] == ["total", "count"]
    assert [v.path for v in m.variables] == ["sparse_categorical_accuracy/total", "sparse_categorical_accuracy/count"]
    m.update_state([1, 2], [[0.1, 0.9, 0], [0.8, 0.1, 0.1]])
    assert float(m.result()) == 0.5
    m.reset_state()
    assert float(m.result()) == 0.0
    m.update_state(np.array([[1], [0]]), np.array([[0.1, 0.9], [0.6, 0.4]]), sample_weight=[1.0, 3.0])
    assert float(m.result()) == 1.0
