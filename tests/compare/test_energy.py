"""Energy sources, on a purpose-built fake powercap tree (this container, like most CI machines, has none), and
the grid-intensity table."""

from __future__ import annotations

from pathlib import Path

import pytest

from opentrust.compare import energy as e
from opentrust.errors import UserError

MAX = 262143328850  # a real max_energy_range_uj (µJ)


def fake_powercap(root: Path, packages: dict[int, int], extra: bool = True) -> Path:
    """A fake /sys/class/powercap: package zones with counters, plus what must not be counted (core sub-zones
    and the mmio twin of package 0), and a dram zone."""
    for n, uj in packages.items():
        zone = root / f"intel-rapl:{n}"
        zone.mkdir(parents=True)
        (zone / "name").write_text(f"package-{n}\n")
        (zone / "energy_uj").write_text(f"{uj}\n")
        (zone / "max_energy_range_uj").write_text(f"{MAX}\n")
        if extra:
            sub = root / f"intel-rapl:{n}:0"
            sub.mkdir()
            (sub / "name").write_text("core\n")
            (sub / "energy_uj").write_text("999999999\n")
            (sub / "max_energy_range_uj").write_text(f"{MAX}\n")
    if extra:
        twin = root / "intel-rapl-mmio:0"
        twin.mkdir()
        (twin / "name").write_text("package-0\n")
        (twin / "energy_uj").write_text("5\n")
        (twin / "max_energy_range_uj").write_text(f"{MAX}\n")
        dram = root / "intel-rapl:9"
        dram.mkdir()
        (dram / "name").write_text("dram\n")
        (dram / "energy_uj").write_text("7\n")
        (dram / "max_energy_range_uj").write_text(f"{MAX}\n")
    return root


def _set(root: Path, n: int, uj: int) -> None:
    (root / f"intel-rapl:{n}" / "energy_uj").write_text(f"{uj}\n")


def test_only_package_domains_are_read(tmp_path: Path) -> None:
    root = fake_powercap(tmp_path / "fake-powercap", {0: 1000, 1: 2000})
    found = e.rapl_packages(root)
    assert [d.name for d in found] == ["package-0", "package-1"]
    meter = e.EnergyMeter(root=root, use_nvml=False)
    assert meter.source == "measured:rapl" and "package-0, package-1" in meter.formula
    before = meter.read()
    _set(root, 0, 1000 + 3_000_000)
    _set(root, 1, 2000 + 1_000_000)
    assert meter.joules(before, meter.read()) == pytest.approx(4.0)


def test_a_counter_that_wraps_around(tmp_path: Path) -> None:
    root = fake_powercap(tmp_path / "fake-powercap", {0: MAX - 500_000}, extra=False)
    meter = e.EnergyMeter(root=root, use_nvml=False)
    before = meter.read()
    _set(root, 0, 1_499_999)  # wrapped: 500,000 µJ to the top, then 1,499,999 + 1 from zero
    assert meter.joules(before, meter.read()) == pytest.approx(2.0)
    assert e.wrapped_delta(10, 30, MAX) == 20


def test_idle_power_is_subtracted(tmp_path: Path) -> None:
    root = fake_powercap(tmp_path / "fake-powercap", {0: 0}, extra=False)
    meter = e.EnergyMeter(root=root, use_nvml=False)
    clock = {"uj": 0}

    def idle_sleep(seconds: float) -> None:  # the machine idles at 5 W while we wait
        import time

        time.sleep(0.05)
        clock["uj"] += 5_000_000 * 0.05
        _set(root, 0, int(clock["uj"]))

    meter.measure_idle(0.05, sleep=idle_sleep)
    assert meter.idle_w == pytest.approx(5.0, rel=0.5)  # timing of the fake sleep is approximate
    before = meter.read()
    _set(root, 0, int(clock["uj"]) + 20_000_000)  # 20 J of work, instantly
    after = meter.read()
    joules = meter.joules(before, after)
    assert joules is not None and 19.0 < joules <= 20.0
    assert meter.joules(before, after, subtract_idle=False) == pytest.approx(20.0)


def test_an_unreadable_counter_is_absent(tmp_path: Path) -> None:
    root = fake_powercap(tmp_path / "fake-powercap", {0: 1}, extra=False)
    (root / "intel-rapl:0" / "energy_uj").unlink()
    (root / "intel-rapl:0" / "energy_uj").mkdir()  # reads fail as they do for root-only counters (CVE-2020-8694)
    assert e.rapl_packages(root) == []


def test_no_sensor_estimates_only_when_told_how(tmp_path: Path) -> None:
    empty = tmp_path / "no-powercap"
    meter = e.EnergyMeter(root=empty, use_nvml=False)
    assert meter.source == "unavailable" and "--cpu-watts" in meter.formula
    assert meter.joules(e.Reading(0.0, cpu_s=1.0), e.Reading(1.0, cpu_s=3.0)) is None
    est = e.EnergyMeter(cpu_watts=20, root=empty, use_nvml=False)
    assert est.source == "estimated:cpu-watts" and "CPU seconds" in est.formula
    assert est.joules(e.Reading(0.0, cpu_s=1.0), e.Reading(1.0, cpu_s=3.0)) == pytest.approx(20 * 2.0 / est.cpus)
    est.measure_idle(0.01)
    assert est.idle_w is None  # an estimate has no idle baseline to subtract


def test_the_environment_variable_points_at_a_powercap_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = fake_powercap(tmp_path / "fake-powercap", {0: 1}, extra=False)
    monkeypatch.setenv("OPENTRUST_POWERCAP", str(root))
    assert e.EnergyMeter(use_nvml=False).source == "measured:rapl"


def test_grid_intensity_sources() -> None:
    g, source = e.grid_intensity(None, "deu")
    table = e.intensity_table()
    assert g == table["countries"]["DEU"]["intensity"] and "codecarbon" in source and "Germany" in source
    assert e.grid_intensity(250.0, None) == (250.0, "--grid-intensity")
    assert e.grid_intensity(None, None)[0] is None  # no default country, ever
    for bad in ((None, "XXX"), (100.0, "DEU"), (-5.0, None)):
        with pytest.raises(UserError):
            e.grid_intensity(*bad)


def test_the_offline_table_is_plausible() -> None:
    table = e.intensity_table()["countries"]
    assert len(table) > 150
    assert all(0 <= row["intensity"] <= 1500 and len(code) == 3 for code, row in table.items())
    assert table["FRA"]["intensity"] < table["DEU"]["intensity"] < table["POL"]["intensity"]  # nuclear < mix < coal
