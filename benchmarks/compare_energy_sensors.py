"""Which energy source `opentrust compare` gets on this machine, and whether its readings are plausible.

Lists the powercap zones (and whether their counters can be read), the NVML devices, the source the comparison
would report (`measured:rapl`, `measured:nvml`, `estimated:cpu-watts` or `unavailable`), then measures idle power
and the power of a few seconds of load through opentrust.compare.energy.EnergyMeter: a bf16 matrix product on
the GPU when PyTorch sees one, else a busy loop on one CPU core. With no sensor it says so and measures nothing.

    .venv/bin/python benchmarks/compare_energy_sensors.py [--cpu-watts W] [--seconds S]
"""

from __future__ import annotations

import argparse
import time

from opentrust.compare import energy as e


def gpu_load(seconds: float) -> str | None:
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    x = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    torch.cuda.synchronize()
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        for _ in range(50):
            x @ x
        torch.cuda.synchronize()
        n += 50
    return f"{n} bf16 8192² matrix products on {torch.cuda.get_device_name()}"


def cpu_load(seconds: float) -> str:
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        n += sum(i * i for i in range(10_000)) > 0
    return f"a busy loop on one CPU core ({n} rounds)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cpu-watts", type=float, default=None)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    root = e.powercap_root()
    zones = sorted(root.iterdir()) if root.is_dir() else []
    print(f"powercap {root}: " + ("absent" if not root.is_dir() else f"{len(zones)} zone(s)"))
    for z in zones:
        try:
            (z / "energy_uj").read_text()
            readable = "readable"
        except OSError as exc:
            readable = f"unreadable ({exc.strerror})"
        name = (z / "name").read_text().strip() if (z / "name").exists() else "?"
        print(f"  {z.name}: {name}, energy_uj {readable}")
    meter = e.EnergyMeter(cpu_watts=args.cpu_watts)
    print(f"RAPL package domains used: {[p.name for p in meter.packages] or 'none'}")
    print(f"NVML devices: {len(meter.nvml.handles) if meter.nvml else 0}")
    print(f"source: {meter.source}")
    print(f"method: {meter.formula}")
    if not meter.measured:
        print("no sensor to read: nothing measured (an estimate needs a model process's CPU time; "
              "opentrust compare applies it per block)")
        return
    meter.measure_idle(3.0)
    print(f"idle power: {meter.idle_w:.1f} W")
    before = meter.read()
    what = gpu_load(args.seconds) or cpu_load(args.seconds)
    after = meter.read()
    dt = after.at - before.at
    gross = meter.joules(before, after, subtract_idle=False) or 0.0
    net = meter.joules(before, after) or 0.0
    print(f"load: {what} in {dt:.1f} s: {gross:.0f} J ({gross / dt:.0f} W), {net:.0f} J above idle "
          f"({net / dt:.0f} W)")


if __name__ == "__main__":
    main()
