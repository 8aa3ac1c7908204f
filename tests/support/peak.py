"""The bridge's command line run to its end, with the process's own peak RSS.

The peak is ``VmHWM`` read by the bridge process itself at exit: ``ru_maxrss`` from ``wait4``
would start from the RSS of the process that forked it. Used by the memory tests and the
benchmark's memory section.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["PeakRun", "run_with_peak"]

# Runs the bridge's command line and, at exit, writes its peak RSS (KiB) to argv[1].
_SCRIPT = """
import atexit, runpy, sys
out = sys.argv.pop(1)

def peak():
    with open("/proc/self/status") as status, open(out, "w") as f:
        f.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])

atexit.register(peak)
sys.argv[0] = "mim-metrics-bridge"
runpy.run_module("mim_bridge", run_name="__main__")
"""


class PeakRun:
    """How a run ended: exit status, peak RSS in bytes, stderr."""

    def __init__(self, code: int, peak: int, stderr: str) -> None:
        self.code, self.peak, self.stderr = code, peak, stderr


def run_with_peak(args: list[str], env: dict[str, str], timeout: float = 120) -> PeakRun:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "peak"
        result = subprocess.run([sys.executable, "-c", _SCRIPT, str(out), *args], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, timeout=timeout, check=False)
        return PeakRun(result.returncode, int(out.read_text()) * 1024, result.stderr)
