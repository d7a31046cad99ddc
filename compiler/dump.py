"""Writing compiled stages to disk (FUSEFLOW_DUMP=dir, `fuseflow dump --out dir`)."""
from __future__ import annotations

import itertools
import os

_STAGE_SUFFIX = {"llvm": ".ll", "llvm_opt": ".opt.ll", "asm": ".s", "kernels": ".kernels.txt"}
_counter = itertools.count()


def write_stages(compiled, directory: str, stages=None) -> list:
    """One file per stage, prefixed with a sequence number and the program name so that
    everything one run compiles sorts in compile order. Returns the paths written."""
    os.makedirs(directory, exist_ok=True)
    prefix = f"{next(_counter):03d}_{compiled.name}"
    paths = []
    for i, stage in enumerate(stages or compiled.stage_names()):
        suffix = _STAGE_SUFFIX.get(stage, ".txt")
        fname = f"{prefix}.{i:02d}_{stage.replace('=', '_')}{suffix}"
        path = os.path.join(directory, fname)
        with open(path, "w") as f:
            f.write(compiled.stage(stage))
            f.write("\n")
        paths.append(path)
    return paths
