"""Graph collections: `tf.add_to_collection`, `tf.get_collection`, `tf.GraphKeys` (TF1).

Collections are named lists kept on the default graph. `get_collection(key, scope)` keeps the
items whose `name` matches the regular expression `scope` from its start (items without a
name are dropped when a scope is given), as TF does.
"""
from __future__ import annotations

from . import graph as graph_mod


class GraphKeys:
    """Standard collection names."""
    GLOBAL_VARIABLES = "variables"
    VARIABLES = GLOBAL_VARIABLES
    LOCAL_VARIABLES = "local_variables"
    METRIC_VARIABLES = "metric_variables"
    MODEL_VARIABLES = "model_variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    TRAINABLE_RESOURCE_VARIABLES = "trainable_resource_variables"
    MOVING_AVERAGE_VARIABLES = "moving_average_variables"
    CONCATENATED_VARIABLES = "concatenated_variables"
    REGULARIZATION_LOSSES = "regularization_losses"
    LOSSES = "losses"
    SUMMARIES = "summaries"
    QUEUE_RUNNERS = "queue_runners"
    TABLE_INITIALIZERS = "table_initializer"
    ASSET_FILEPATHS = "asset_filepaths"
    SAVERS = "savers"
    WEIGHTS = "weights"
    BIASES = "biases"
    ACTIVATIONS = "activations"
    UPDATE_OPS = "update_ops"
    SAVEABLE_OBJECTS = "saveable_objects"
    RESOURCES = "resources"
    LOCAL_RESOURCES = "local_resources"
    INIT_OP = "init_op"
    LOCAL_INIT_OP = "local_init_op"
    READY_OP = "ready_op"
    READY_FOR_LOCAL_INIT_OP = "ready_for_local_init_op"
    SUMMARY_OP = "summary_op"
    GLOBAL_STEP = "global_step"
    EVAL_STEP = "eval_step"
    TRAIN_OP = "train_op"
    COND_CONTEXT = "cond_context"
    WHILE_CONTEXT = "while_context"
    _SUMMARY_COLLECTION = "_SUMMARY_V2"
    _STREAMING_MODEL_PORTS = "streaming_model_ports"


def add_to_collection(name, value):
    graph_mod.get_default_graph().add_to_collection(name, value)


def add_to_collections(names, value):
    graph_mod.get_default_graph().add_to_collections(names, value)


def get_collection(key, scope=None):
    return graph_mod.get_default_graph().get_collection(key, scope)


def get_collection_ref(key):
    return graph_mod.get_default_graph().get_collection_ref(key)


def get_all_collection_keys():
    return graph_mod.get_default_graph().get_all_collection_keys()
