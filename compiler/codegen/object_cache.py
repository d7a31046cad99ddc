"""A persistent cache of compiled objects, across processes.

LLVM's optimization and code generation are most of a compile (about 1.5 s of a 1.6 s
training-step compile), and the same module text compiles to the same object for the same CPU
with the same LLVM. So objects are stored under a hash of everything that determines them: the
IR text, whether it was optimized, the host CPU name and features, and the llvmlite/LLVM
versions. A second run of a program (a test suite, a tutorial, a restarted training script)
loads its native code instead of compiling it again.

Where: $FUSEFLOW_CACHE_DIR, else $XDG_CACHE_HOME/fuseflow, else ~/.cache/fuseflow.
FUSEFLOW_CACHE_DIR=off (or 0, or empty) disables it. The cache is best effort: a directory
that cannot be created, read or written is skipped silently, and an entry whose checksum does
not match its contents is ignored (a truncated object must never be loaded and run). Entries
are written to a temporary file and renamed into place, so concurrent compiles are safe.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Optional

import llvmlite
import llvmlite.binding as llvm

FORMAT = b"fuseflow-object-cache-1\n"


def cache_dir() -> Optional[str]:
    configured = os.environ.get("FUSEFLOW_CACHE_DIR")
    if configured is not None:
        if configured.strip().lower() in ("", "0", "off", "none", "false"):
            return None
        return configured
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "fuseflow")


def entry_key(text: str, optimize: bool, cpu: str, features: str) -> str:
    h = hashlib.sha256()
    for part in (FORMAT.decode(), llvmlite.__version__, ".".join(map(str, llvm.llvm_version_info)), cpu,
                 features, "O3" if optimize else "O0"):
        h.update(part.encode())
        h.update(b"\0")
    h.update(text.encode())
    return h.hexdigest()


def _path(directory: str, key: str) -> str:
    return os.path.join(directory, key[:2], key[2:] + ".o")


def load(key: str) -> Optional[bytes]:
    directory = cache_dir()
    if directory is None:
        return None
    try:
        with open(_path(directory, key), "rb") as f:
            data = f.read()
    except OSError:
        return None
    head = len(FORMAT)
    if data[:head] != FORMAT or len(data) < head + 32:
        return None
    digest, obj = data[head:head + 32], data[head + 32:]
    if hashlib.sha256(obj).digest() != digest:
        return None
    return obj


def store(key: str, obj: bytes) -> None:
    directory = cache_dir()
    if directory is None:
        return
    path = _path(directory, key)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(FORMAT + hashlib.sha256(obj).digest() + obj)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        return
