"""toolversion.py - what every tool of the suite does the same way on its command line.

version(prog) -> str: the `--version` text, the tool's name and `git describe --always
--dirty` of the checkout the script lives in ("unknown" outside a git checkout or without
git).  No errors are raised.

ArgumentParser: argparse's parser whose usage errors are one line, `<prog>: <what> (see
--help)` on stderr, exit 2 (argparse's own prints the usage block first).

Naming (README "Running the benches"): every message a tool writes to stderr (errors,
warnings, progress) starts with the name the user runs it by, which is also its `--help`
prog and the first word of its `--version` line: the script's file name for scripts/
(`check_tuning.py: `, `tables.py: `, `run-bench: `), `bench: ` for the bench binary (a
bench's own diagnostics `bench: <bench name>: ...`).  Make recipes that wrap a tool say
which make target ran it (`check-tuning: scripts/check_tuning.py exited 2`).
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def version(prog):
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                             text=True, check=True, cwd=HERE, timeout=10)
        return f"{prog} {out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        return f"{prog} unknown"


class ArgumentParser(argparse.ArgumentParser):
    """argparse.ArgumentParser with one-line usage errors (see the module doc).  Subparsers
    made with add_subparsers() are of this class too."""

    def error(self, message):
        print(f"{self.prog}: {message} (see --help)", file=sys.stderr)
        sys.exit(2)
