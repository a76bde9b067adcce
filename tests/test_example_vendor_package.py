"""The path a vendor takes, end to end: ``pip install`` a plugin package, list it, run a treatment.

The example package ``examples/acme-stim`` is installed with pip into a fresh virtual environment
layered on the console's own (a ``.pth`` file makes this environment's site-packages visible
there, so the console and its dependencies are not installed again and pip resolves the
package's ``microcurrent-console`` dependency to them). Then ``python -m console.cli`` in that
environment must list the plugin as its distribution, and run a protocol on the package's
emulated machine (``acme-sim://``) to the end.

The wheel is built offline (``--no-index --no-build-isolation``) when this environment can
build one (setuptools 70.1 or later, or the ``wheel`` package); otherwise pip fetches its build
backend from the configured index, which takes a few seconds more.

Also here: ``docs/hook-reference.md`` must be in step with ``console/hookspecs.py``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import serial

from console.engine.clock import ScaledClock
from console.waveforms import Polarity, Waveform, WaveShape

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "acme-stim"
HOOK_TOOL = ROOT / "tools" / "hook_reference.py"


# -- the generated hook reference ----------------------------------------------------------------


def test_hook_reference_is_up_to_date() -> None:
    """``tools/hook_reference.py --check`` passes on the committed page."""
    done = subprocess.run(
        [sys.executable, str(HOOK_TOOL), "--check"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_hook_reference_check_fails_when_stale(tmp_path: Path) -> None:
    """``--check`` exits 1 and says how to regenerate when the page differs from the hookspecs."""
    stale = tmp_path / "hook-reference.md"
    stale.write_text("# Hook reference\n\nAn old page.\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(HOOK_TOOL), "--check", "--output", str(stale)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "out of date" in done.stderr and "tools/hook_reference.py" in done.stderr
    assert stale.read_text(encoding="utf-8").endswith("An old page.\n")  # --check never writes


# -- the example vendor package ------------------------------------------------------------------


def _can_build_wheels_offline() -> bool:
    """True when this environment's setuptools can build a wheel without fetching anything."""
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return False
    if importlib.util.find_spec("wheel") is not None:
        return True
    major, minor = (int(part) for part in re.findall(r"\d+", version)[:2])
    return (major, minor) >= (70, 1)  # bdist_wheel moved into setuptools in 70.1


def _environment(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("MC_CONSOLE_DISABLE", "MC_CONSOLE_TRACE", "PYTHONPATH")
    }
    env.update(QT_QPA_PLATFORM="offscreen", PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def vendor_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a new virtual environment with ``acme-stim`` pip-installed into it."""
    venv = tmp_path_factory.mktemp("vendor") / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60
    )
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.strip()
    # The console's environment, visible behind the new one (its .pth files, the console's
    # editable install among them, are processed too).
    ours = dict.fromkeys(
        [
            *site.getsitepackages(),
            sysconfig.get_paths()["purelib"],
            sysconfig.get_paths()["platlib"],
        ]
    )
    Path(purelib, "_console_environment.pth").write_text(
        "".join(f"import site; site.addsitedir({path!r})\n" for path in ours), encoding="utf-8"
    )
    # pip builds a local directory in place (build/, *.egg-info): build a copy, so that the
    # checkout stays clean and nothing stale from an earlier build gets into the wheel.
    source = venv.parent / "acme-stim"
    shutil.copytree(
        EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".*")
    )
    install = [str(python), "-m", "pip", "install", str(source)]
    if _can_build_wheels_offline():
        install += ["--no-index", "--no-build-isolation"]
    else:
        install += ["--retries", "1", "--timeout", "20"]
    done = subprocess.run(
        install, capture_output=True, text=True, timeout=150, cwd=venv, env=_environment()
    )
    assert done.returncode == 0, f"pip install failed:\n{done.stdout}\n{done.stderr}"
    assert Path(purelib, "acme_stim", "plugin.py").is_file(), "installed somewhere else"
    return python


def _cli(
    python: Path, *args: str, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m console.cli ARGS`` in the vendor's environment (not from this checkout)."""
    return subprocess.run(
        [str(python), "-m", "console.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=python.parent,
        env=_environment(**env),
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.timeout(180)
def test_installed_package_is_listed_with_its_origin_and_driver(vendor_python: Path) -> None:
    """``mc-console plugins`` shows ``acme`` from ``acme-stim 1.0.0``, active, with ``acme-s2``."""
    done = _cli(vendor_python, "plugins")
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.split()[:1] == ["acme"]]
    assert len(rows) == 1, done.stdout
    assert re.search(r"\bacme-stim 1\.0\.0\b", rows[0]), rows[0]
    assert re.search(r"\b1\.1\s+active\s+acme-s2\b", rows[0]), rows[0]
    assert "Failed plugins" not in done.stdout and "Refused" not in done.stdout
    assert re.search(r"^  acme-s2: Acme Stim S2 \(serial\); 10–600 µA", done.stdout, re.M)


@pytest.mark.timeout(180)
def test_installed_package_can_be_disabled_by_name(vendor_python: Path) -> None:
    """``MC_CONSOLE_DISABLE=acme`` blocks the plugin: listed as blocked, its driver unknown."""
    listed = _cli(vendor_python, "plugins", MC_CONSOLE_DISABLE="acme")
    row = next(line for line in listed.stdout.splitlines() if line.split()[:1] == ["acme"])
    assert "blocked" in row
    assert "acme-s2:" not in listed.stdout
    run = _cli(
        vendor_python,
        *("run", "--driver", "acme-s2", "--port", "acme-sim://", "--protocol", "toning"),
        MC_CONSOLE_DISABLE="acme",
    )
    assert run.returncode == 2
    assert "unknown driver 'acme-s2'" in run.stderr


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_installed_driver_runs_a_whole_protocol_on_its_emulated_machine(
    vendor_python: Path,
) -> None:
    """Toning (17:40) on ``acme-sim://`` at 60x finishes, with every step delivered, exit 0."""
    done = _cli(
        vendor_python,
        *("run", "--driver", "acme-s2", "--port", "acme-sim://?speed=60"),
        *("--protocol", "toning", "--speed", "60"),
        timeout=150,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    out = done.stdout
    assert "EMULATED MACHINE (no current): Acme S2 (serial S2-SIM-0001, firmware 2.1.0)" in out
    assert "Session finished: every step delivered" in out
    assert "Safety events: none" in out
    assert "(cut short)" not in out
    # 12 zones, each delivered at about its setting (biphasic: mean |i| is the peak).
    zone_rows = re.findall(r"^(?:Brow|Eye|Cheek|Nasolabial|Upper|Jawline|Chin).*$", out, re.M)
    assert len(zone_rows) == 12, out


@pytest.mark.timeout(180)
def test_emulator_at_another_speed_is_refused_in_words(vendor_python: Path) -> None:
    """An emulator at 1x with the console at 60x: exit 2 and a sentence saying what to do."""
    done = _cli(
        vendor_python,
        *("run", "--driver", "acme-s2", "--port", "acme-sim://", "--protocol", "toning"),
        *("--speed", "60"),
    )
    assert done.returncode == 2
    assert "give both the same speed" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.timeout(60)
def test_example_driver_keeps_the_driver_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    """In process: honest capabilities, output never on by itself, samples at the stated rate
    on the console's clock, and a stop that is fast, idempotent and safe from any thread."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    # The package teaches pyserial its URL on import; forget that after the test.
    monkeypatch.setattr(serial, "protocol_handler_packages", [*serial.protocol_handler_packages])
    from acme_stim.plugin import register_drivers  # importable from the example only now

    info = register_drivers()[0]
    clock = ScaledClock(10.0)
    driver = info.factory(clock=clock, port="acme-sim://?speed=10", unused_option=1)
    driver.open()
    try:
        assert driver.emulated is True
        assert driver.capabilities == info.capabilities  # what the machine states, no more
        assert driver.capabilities.clamped() == driver.capabilities
        time.sleep(0.1)
        idle = driver.read_samples()
        assert len(idle) and not driver.status().output_on
        assert np.max(np.abs(idle.current_ua)) < 5.0  # nothing on after open
        driver.set_amplitude(0.0)
        driver.configure(Waveform(WaveShape.SQUARE, 10.0, 300.0, Polarity.ALTERNATING, 2.0, 1.0))
        driver.start_output()
        driver.set_amplitude(300.0)
        time.sleep(0.3)
        block = driver.read_samples()
        steps = np.diff(np.concatenate([idle.t[-1:], block.t]))
        rate = driver.capabilities.sample_rate_hz
        assert np.allclose(steps, 1.0 / rate), "timestamps must rise at the stated rate"
        assert 0.0 <= clock.now() - block.t[-1] < 0.5  # on the console's clock, not ahead
        assert 250.0 < np.max(block.current_ua) <= 300.0 * 1.01

        started = time.perf_counter()
        stoppers = [threading.Thread(target=driver.stop_output) for _ in range(8)]
        for thread in stoppers:
            thread.start()
        driver.stop_output()
        for thread in stoppers:
            thread.join(1.0)
        assert time.perf_counter() - started < 0.1
        deadline = time.monotonic() + 1.0
        while driver.status().output_on and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not driver.status().output_on
        driver.read_samples()
        time.sleep(0.1)
        assert np.max(np.abs(driver.read_samples().current_ua)) < 5.0
        assert driver.status().faults == ()
    finally:
        driver.close()
    driver.close()  # idempotent
    driver.stop_output()  # after close: still no exception
