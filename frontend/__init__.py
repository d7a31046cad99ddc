"""fuseflow: TensorFlow-style programs compiled to fused native CPU code.

`import fuseflow as tf` gives the TF2 namespace; `import fuseflow.compat.v1 as tf` the TF1 one.

The namespace itself lives in `_api.py` and is loaded on first attribute access, so that
`import fuseflow.runtime` (what an AOT artifact needs) loads neither the compiler nor
networkx. Add public names to `_api.py`.
"""
import importlib as _importlib
import importlib.util as _importlib_util
import sys as _sys
import types as _types

# The TensorFlow API version fuseflow follows (programs print or check tf.__version__); the
# package's own version is in pyproject.toml.
__version__ = "2.21.0"

# Submodules whose name is also an API object of a different kind (tf.function is the
# decorator, not frontend/function.py): the API object wins.
_API_OVER_SUBMODULE = frozenset({"function", "gradients"})


class _Package(_types.ModuleType):
    def __setattr__(self, name, value):
        # Importing fuseflow.function / fuseflow.gradients sets a package attribute of that name
        # to the submodule; skip that, so the attribute stays the decorator / the function.
        if name in _API_OVER_SUBMODULE and isinstance(value, _types.ModuleType):
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package


def _namespace():
    api = _importlib.import_module("fuseflow._api")
    if not globals().get("_loaded"):
        # Loading the namespace imported submodules (fuseflow.function, fuseflow.gradients, ...),
        # which set package attributes of the same names; the API's objects take precedence.
        globals().update({k: v for k, v in vars(api).items() if not k.startswith("_")})
        globals()["_loaded"] = True
    return api


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    if name not in _API_OVER_SUBMODULE and _importlib_util.find_spec(f"{__name__}.{name}") is not None:
        # `from . import graph` inside the package, or tf.keras: a plain submodule import
        return _importlib.import_module(f"{__name__}.{name}")
    try:
        value = getattr(_namespace(), name)
    except AttributeError:
        raise AttributeError(f"module 'fuseflow' has no attribute '{name}'") from None
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(dir(_namespace())))
