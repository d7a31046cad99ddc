"""`fuseflow.compat`: `fuseflow.compat.v1` is TensorFlow 1.x's API (`import fuseflow.compat.v1 as tf`)."""


def __getattr__(name):
    if name == "v1":
        from . import v1
        return v1
    if name == "v2":
        import fuseflow
        return fuseflow
    raise AttributeError(f"module 'fuseflow.compat' has no attribute '{name}'")
