"""5. Start-up: what installing alphasms-notify adds to every Python program, and our own start.

``python -c pass`` in this environment against a bare one made for the run
(alternating, medians); the import-hook module's own time from
``python -X importtime``; ``import alphasms_notify`` and ``alphasms --help``
over ``python -c pass``. Measured as users run them: with bytecode written
(``PYTHONDONTWRITEBYTECODE`` is dropped and each command runs once first).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import Figure, median

ENV = {k: v for k, v in os.environ.items()
       if not k.startswith("ALPHASMS") and k != "PYTHONDONTWRITEBYTECODE"} | {"ALPHASMS_NOTIFY_LOAD_PLUGINS": ""}
IMPORT_TARGET_MS, HELP_TARGET_MS = 80, 120


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    return time.perf_counter() - start


def _importtime_us(code: str, module: str, missing: str) -> float:
    """``module``'s cumulative import time (µs) in ``python -X importtime -c code``."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                         env=ENV).stderr
    for line in out.splitlines():
        if line.rstrip().endswith(module):
            return float(line.split("|")[1])
    raise AssertionError(missing)


def _hook_import_us() -> float:
    return _importtime_us("pass", "_alphasms_notify_apprise_hook",
                          "the import hook did not load: is alphasms-notify installed in this environment?")


def _apprise_plugin_us() -> float:
    """What registering ``alphasms://`` adds to ``import apprise`` (the plugin module, cumulative)."""
    return _importtime_us("import apprise", "alphasms_notify.apprise.plugin",
                          "alphasms:// was not registered when apprise was imported")


def _against(value_ms: float, target_ms: float) -> str:
    return f"over python -c pass, target <= {target_ms} ms: {'met' if value_ms <= target_ms else 'NOT met'}"


def run(runs: int = 30) -> list[Figure]:
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", folder], check=True)
        bare = str(Path(folder) / "bin" / "python")
        with_us, without = [], []
        for _ in range(runs):  # alternate, so drift hits both alike
            with_us.append(_time([sys.executable, "-c", "pass"]))
            without.append(_time([bare, "-c", "pass"]))
    hook = median([_hook_import_us() for _ in range(runs)])
    _apprise_plugin_us()  # bytecode first
    apprise_plugin = median([_apprise_plugin_us() for _ in range(max(min(5, runs), runs // 3))])
    base = median(with_us)
    alphasms = str(Path(sys.executable).parent / "alphasms")
    importing, helping = [sys.executable, "-c", "import alphasms_notify"], [alphasms, "--help"]
    _time(importing), _time(helping)  # write the bytecode first, as any second run has it
    imports, cli = [], []
    for _ in range(max(min(5, runs), runs // 2)):
        imports.append(_time(importing))
        cli.append(_time(helping))
    imports_ms, cli_ms = (median(imports) - base) * 1000, (median(cli) - base) * 1000
    return [
        Figure("start-up", "python -c pass, this environment", base * 1000, "ms", f"median of {runs}"),
        Figure("start-up", "python -c pass, bare environment", median(without) * 1000, "ms", f"median of {runs}"),
        Figure("start-up", "added by this environment (all its .pth files)", (base - median(without)) * 1000, "ms",
               "includes other packages' .pth files"),
        Figure("start-up", "alphasms import hook (-X importtime)", hook / 1000, "ms", "target <= 2 ms"),
        Figure("start-up", "alphasms:// registered in import apprise (-X importtime)", apprise_plugin / 1000, "ms",
               "the plugin class only; the client loads at the first notification"),
        Figure("start-up", "import alphasms_notify", imports_ms, "ms", _against(imports_ms, IMPORT_TARGET_MS)),
        Figure("start-up", "alphasms --help", cli_ms, "ms", _against(cli_ms, HELP_TARGET_MS)),
    ]
