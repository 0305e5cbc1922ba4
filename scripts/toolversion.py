"""toolversion.py - the `--version` text of the suite's scripts: "<tool> <git describe>".

version(prog) -> str: the tool's name and `git describe --always --dirty` of the checkout the
script lives in ("unknown" outside a git checkout or without git).  No errors are raised.
"""
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def version(prog):
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                             text=True, check=True, cwd=HERE, timeout=10)
        return f"{prog} {out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        return f"{prog} unknown"
