"""Which machine a benchmark ran on: CPU model, cores, memory, the SIMD flags that matter to the
engines, and the engines' versions. Every benchmark prints this line first, so a figure is never read
without its machine."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from pathlib import Path

SIMD_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8")
PACKAGES = ("torch", "openvino", "onnxruntime", "pybullet", "stable-baselines3")


def _cpuinfo() -> tuple[str, set[str]]:
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model in ("", platform.machine(), platform.processor()):
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    return model, flags


def _memory_gib() -> float | None:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return pages * size / 2**30


def describe_machine() -> str:
    """One line: CPU model, cores, memory, SIMD flags present, engine versions."""
    model, flags = _cpuinfo()
    simd = " ".join(flag for flag in SIMD_FLAGS if flag in flags) or "none of " + " ".join(SIMD_FLAGS[:2])
    memory = _memory_gib()
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    memory_text = f", {memory:.0f} GiB" if memory else ""
    return f"machine: {model}, {os.cpu_count()} cores{memory_text}; SIMD: {simd}; {', '.join(versions)}"
