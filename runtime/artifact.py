""".ffa artifacts: compiled code plus signature in one file, loadable without the compiler.

A zip holding `format.json` (format version, CPU name and features the code was compiled
for), `signature.json` and `code.o` (a position-independent object for the host triple).
Writes are atomic: a temporary file in the same directory, then os.replace.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile

from .executable import Executable
from .native import host_cpu, missing_features

FORMAT_VERSION = 1


class ArtifactError(RuntimeError):
    """The file is not a loadable .ffa artifact (corrupt, newer format, or built for another CPU)."""


def save(path, object_bytes: bytes, signature: dict) -> str:
    path = os.fspath(path)
    cpu, features = signature.get("cpu") or host_cpu()
    meta = {"format_version": FORMAT_VERSION, "cpu": cpu, "features": features,
            "entry": signature["entry"]}
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".ffa-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("format.json", json.dumps(meta, indent=1))
            z.writestr("signature.json", json.dumps(signature, indent=1, sort_keys=True))
            z.writestr("code.o", bytes(object_bytes))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def read(path) -> tuple:
    """(object bytes, signature, format metadata) of an artifact, after checking it can run here."""
    path = os.fspath(path)
    try:
        with zipfile.ZipFile(path) as z:
            meta = json.loads(z.read("format.json"))
            signature = json.loads(z.read("signature.json"))
            code = z.read("code.o")
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as e:
        raise ArtifactError(f"{path}: not a fuseflow .ffa artifact ({e})") from None
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise ArtifactError(f"{path}: artifact format version {version} is not supported "
                            f"(this runtime reads version {FORMAT_VERSION})")
    lacking = missing_features(meta.get("features", ""))
    if lacking:
        raise ArtifactError(f"{path}: compiled for CPU {meta.get('cpu')!r}, but this CPU "
                            f"({host_cpu()[0]}) lacks {', '.join(lacking)}; recompile it here")
    return code, signature, meta


def load(path, **kwargs) -> Executable:
    code, signature, _ = read(path)
    return Executable(code, signature, **kwargs)
