"""Runs one command and writes its wall time, exit status and peak RSS as JSON.

``python -S bench/measure.py OUT.json -- CMD ARGS...``. The peak RSS comes from ``wait4`` on
the command's process. This wrapper is a small process on purpose: Linux records the
pre-``exec`` size of a forked child in its peak, so a command forked straight from the harness
(which holds moto and the whole emulated account) would report the harness's size instead.
Stdlib only, so it starts in a few megabytes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    out, separator, *command = argv
    if separator != "--" or not command:
        sys.stderr.write("usage: measure.py OUT.json -- CMD ARGS...\n")
        return 2
    started = time.perf_counter()
    child = subprocess.Popen(command)
    _pid, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    with open(out, "w") as handle:  # noqa: PTH123 (no pathlib: keep this process small)
        json.dump({"wall_s": wall, "exit": code, "maxrss_mb": usage.ru_maxrss / 1024}, handle)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
