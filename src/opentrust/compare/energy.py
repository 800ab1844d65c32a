"""Energy per query, measured where a sensor can be read and never invented where none can.

Sources, in order of preference (every figure carries which one produced it):

* ``measured:rapl`` — Linux powercap (``/sys/class/powercap/intel-rapl:N``, also used by AMD): the cumulative
  ``energy_uj`` counter of each CPU *package* domain (sub-domains such as core, uncore and dram are parts of a
  package and are not added again). Counters wrap at ``max_energy_range_uj``; a reading lower than the previous
  one means one wrap (reads are seconds apart, a wrap takes minutes). ``energy_uj`` is root-only on most
  kernels since CVE-2020-8694: unreadable counts as absent.
* ``measured:nvml`` — NVIDIA GPUs through ``nvidia-ml-py`` (``nvmlDeviceGetTotalEnergyConsumption``, mJ since
  the driver loaded), added to the CPU packages' energy when both are present.
* ``estimated:cpu-watts`` — no readable sensor, and the user gave ``--cpu-watts W``, the CPU's power at full
  load: energy = W × (CPU seconds of the model's process) / (logical CPUs). Stated as an estimate with its
  formula, never passed off as a measurement.
* ``unavailable`` — neither: the figure is null.

Measured energy is the workload's: the machine's idle power, measured over ``IDLE_SECONDS`` before the work,
is subtracted (energy − idle power × duration), and each repeat of a block of queries gives one Wh per 1,000
queries figure, so the interval across repeats shows how stable the measurement is. ``POWERCAP_ROOT``
(environment variable ``OPENTRUST_POWERCAP``) points elsewhere for tests, which build a fake powercap tree.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

POWERCAP_ROOT = Path("/sys/class/powercap")
IDLE_SECONDS = 2.0
SOURCES = ("measured:rapl", "measured:nvml", "estimated:cpu-watts", "unavailable")


def powercap_root() -> Path:
    return Path(os.environ.get("OPENTRUST_POWERCAP") or POWERCAP_ROOT)


@dataclass
class RaplDomain:
    name: str  # e.g. package-0
    path: Path
    max_range_uj: int

    def read_uj(self) -> int:
        return int((self.path / "energy_uj").read_text().strip())


def rapl_packages(root: Path | None = None) -> list[RaplDomain]:
    """The readable package domains under the powercap root (top-level ``*-rapl:N`` zones named package-*)."""
    root = root or powercap_root()
    out: list[RaplDomain] = []
    try:
        zones = sorted(root.iterdir())
    except OSError:
        return []
    for zone in zones:
        parts = zone.name.split(":")
        if len(parts) != 2 or not parts[0].endswith("rapl"):
            continue  # sub-zones (intel-rapl:0:0) are parts of a package, and the mmio twins repeat them
        try:
            name = (zone / "name").read_text().strip()
            if not name.startswith("package"):
                continue
            max_range = int((zone / "max_energy_range_uj").read_text().strip())
            domain = RaplDomain(name, zone, max_range)
            domain.read_uj()  # root-only on most kernels: unreadable = absent
        except (OSError, ValueError):
            continue
        out.append(domain)
    return out


def wrapped_delta(before: int, after: int, max_range: int) -> int:
    """Energy between two counter readings, across at most one wrap-around at ``max_range``."""
    return after - before if after >= before else after + (max_range - before) + 1


class _Nvml:
    """NVML's total energy counters (mJ), when nvidia-ml-py and a driver are present."""

    def __init__(self) -> None:
        self.handles: list[Any] = []
        try:
            import pynvml  # nvidia-ml-py
        except ImportError:
            return
        try:
            pynvml.nvmlInit()
            handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
            for h in handles:
                pynvml.nvmlDeviceGetTotalEnergyConsumption(h)
        except Exception:  # no driver, no device, or a device without the counter
            return
        self._nvml = pynvml
        self.handles = handles

    def read_mj(self) -> int:
        return sum(int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(h)) for h in self.handles)


@dataclass
class Reading:
    """One snapshot of every sensor (and the process CPU time the estimate needs)."""

    at: float
    rapl_uj: list[int] = field(default_factory=list)
    nvml_mj: int | None = None
    cpu_s: float | None = None


class EnergyMeter:
    """Reads the sensors this machine has; ``source`` says which (see the module docstring)."""

    def __init__(self, cpu_watts: float | None = None, root: Path | None = None, use_nvml: bool = True):
        self.packages = rapl_packages(root)
        self.nvml = _Nvml() if use_nvml else None
        self.cpu_watts = cpu_watts
        self.idle_w: float | None = None
        self.cpus = os.cpu_count() or 1

    @property
    def measured(self) -> bool:
        return bool(self.packages) or bool(self.nvml and self.nvml.handles)

    @property
    def source(self) -> str:
        if self.packages:
            return "measured:rapl"
        if self.nvml and self.nvml.handles:
            return "measured:nvml"
        if self.cpu_watts:
            return "estimated:cpu-watts"
        return "unavailable"

    @property
    def formula(self) -> str:
        if self.source.startswith("measured"):
            parts = (["CPU package counters " + ", ".join(p.name for p in self.packages)] if self.packages else []) \
                + (["NVML total energy of " + str(len(self.nvml.handles)) + " GPU(s)"]
                   if self.nvml and self.nvml.handles else [])
            idle = "" if self.idle_w is None else f" minus idle power {self.idle_w:.2f} W × duration"
            return " + ".join(parts) + idle
        if self.source == "estimated:cpu-watts":
            return (f"--cpu-watts {self.cpu_watts:g} W × CPU seconds of the model's process / {self.cpus} logical "
                    "CPUs (an estimate: no energy sensor is readable here)")
        return ("no energy sensor is readable here (no /sys/class/powercap package counter, no NVML) and no "
                "--cpu-watts was given")

    def read(self, cpu_seconds: Callable[[], float | None] | None = None) -> Reading:
        return Reading(at=time.perf_counter(), rapl_uj=[p.read_uj() for p in self.packages],
                       nvml_mj=self.nvml.read_mj() if self.nvml and self.nvml.handles else None,
                       cpu_s=cpu_seconds() if cpu_seconds else None)

    def joules(self, before: Reading, after: Reading, subtract_idle: bool = True) -> float | None:
        """Energy between two readings in joules (idle power subtracted when measured), or None."""
        if self.measured:
            total = sum(wrapped_delta(b, a, p.max_range_uj)
                        for b, a, p in zip(before.rapl_uj, after.rapl_uj, self.packages)) / 1e6
            if before.nvml_mj is not None and after.nvml_mj is not None:
                total += (after.nvml_mj - before.nvml_mj) / 1e3
            if subtract_idle and self.idle_w is not None:
                total -= self.idle_w * (after.at - before.at)
            return max(0.0, total)
        if self.cpu_watts and before.cpu_s is not None and after.cpu_s is not None:
            return self.cpu_watts * (after.cpu_s - before.cpu_s) / self.cpus
        return None

    def measure_idle(self, seconds: float = IDLE_SECONDS, sleep: Callable[[float], None] = time.sleep) -> None:
        """The machine's idle power over ``seconds`` (only for measured sources: an estimate has no idle)."""
        if not self.measured:
            return
        before = self.read()
        sleep(seconds)
        after = self.read()
        joules = self.joules(before, after, subtract_idle=False) or 0.0
        self.idle_w = joules / max(1e-9, after.at - before.at)


def wh_per_1k(joules: float, queries: int) -> float:
    return joules / 3600.0 / queries * 1000.0


# -- carbon ---------------------------------------------------------------------------------------------
def grid_intensity(grid: float | None, country: str | None) -> tuple[float | None, str]:
    """Grid carbon intensity (g CO2e per kWh) and where it came from; (None, reason) when not given."""
    from opentrust.errors import UserError

    if grid is not None and country:
        raise UserError("--grid-intensity and --country both given", "pass one of them")
    if grid is not None:
        if not 0 <= grid <= 2000:
            raise UserError(f"--grid-intensity {grid:g} is outside 0..2000 g/kWh", "pass grams of CO2e per kWh")
        return grid, "--grid-intensity"
    if country:
        table = intensity_table()
        code = country.strip().upper()
        row = table["countries"].get(code)
        if row is None:
            raise UserError(f"--country {country}: not an ISO 3166 alpha-3 code in the offline table",
                            "use a code such as DEU, FRA, USA, or pass --grid-intensity G_PER_KWH")
        return float(row["intensity"]), (f"--country {code} ({row['name']}, {row['year']}): "
                                         f"{table['source']}")
    return None, "unavailable: no grid intensity given (--grid-intensity G_PER_KWH or --country ISO3)"


def intensity_table() -> dict[str, Any]:
    import json
    from importlib.resources import files

    return json.loads(files("opentrust").joinpath("data/compare/grid_intensity.json").read_text(encoding="utf-8"))
