"""The machine a run measured on: CPU, cores, OS, Python, torch and numpy, and its load."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path

__all__ = ["load_average", "machine"]


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu() -> str:
    cpu = platform.processor() or "?"
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return cpu
    for line in cpuinfo.splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    if " hypervisor " in cpuinfo:
        cpu += " (virtual machine)"
    return cpu


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                pretty = line.split("=", 1)[1].strip('"')
                return f"{pretty} ({platform.system()} {platform.release()})"
    except OSError:
        pass
    return platform.platform()


def machine() -> dict[str, str]:
    """CPU model, cores, OS, Python, torch and numpy versions, for the report's list.

    >>> list(machine())
    ['CPU', 'Cores', 'OS', 'Python', 'torch', 'numpy']
    """
    return {
        "CPU": _cpu(),
        "Cores": str(os.cpu_count()),
        "OS": _os_name(),
        "Python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "torch": _version("torch"),
        "numpy": _version("numpy"),
    }


def load_average() -> str:
    """The load average over 1, 5 and 15 minutes, as ``1.0 / 0.8 / 0.5``."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"
