"""What a benchmark reads of the machine: a process's CPU time and resident memory, and the whole machine's CPU time
(Linux /proc), so a figure can say who was using the cores while it was measured."""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time of process `pid` (user + system), or of the whole machine when None (every core, idle excluded)."""
    if pid is None:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        return (sum(map(int, fields)) - int(fields[3]) - int(fields[4])) / TICK
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(stat[11]) + int(stat[12])) / TICK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
