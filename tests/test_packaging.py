"""Packaging: every Python package in the three source folders is listed in pyproject.toml,
mapped into the one `fuseflow` namespace (a non-editable install would silently drop it)."""
import os
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDERS = {"frontend": "fuseflow", "compiler": "fuseflow.compiler", "runtime": "fuseflow.runtime"}


def _source_packages():
    found = set()
    for folder, package in FOLDERS.items():
        base = os.path.join(ROOT, folder)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            if "__init__.py" in filenames:
                rel = os.path.relpath(dirpath, base)
                found.add(package if rel == "." else package + "." + rel.replace(os.sep, "."))
    return found


def test_every_subpackage_is_listed():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        config = tomllib.load(f)["tool"]["setuptools"]
    listed = set(config["packages"])
    assert _source_packages() - listed == set(), "add these to [tool.setuptools] packages"
    mapping = config["package-dir"]
    assert mapping["fuseflow"] == "frontend"
    assert mapping["fuseflow.compiler"] == "compiler"
    assert mapping["fuseflow.runtime"] == "runtime"


def test_runtime_imports_without_compiler_or_networkx():
    import subprocess
    import sys
    code = ("import sys, fuseflow.runtime\n"
            "bad = [m for m in sys.modules if m.split('.')[0] == 'networkx' or m.startswith('fuseflow.compiler')"
            " or m == 'fuseflow._api']\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=os.path.dirname(ROOT))


def test_namespace_objects_win_over_same_named_submodules():
    import fuseflow as tf
    assert callable(tf.function) and tf.function.__module__ == "fuseflow.function"
    assert callable(tf.gradients)
    assert tf.keras.layers.Dense is not None and tf.float32.name == "float32"
