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
