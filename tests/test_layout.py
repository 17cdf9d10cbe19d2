"""The house's rules that a change can break without a test failing elsewhere: every module imports on its
own (no half-initialised module whose failure depends on import order), none is over 400 lines, and the
layers hold (``lint-imports``, the contracts in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "alphasms_notify"
MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for path in PACKAGE.rglob("*.py")
    if path.name != "__main__.py"  # runs the command line when imported
)
MAX_LINES = 400


def test_every_module_imports_alone_in_a_fresh_interpreter():
    # A process per module that has imported nothing of this package: the parent loads only the
    # third-party libraries (importing them again per module would cost 20 s of CPU and prove nothing
    # about our import order; apprise is left out: importing it loads our plugin through the .pth hook),
    # then forks a child per module, which imports that module alone.
    script = (
        "import importlib, os, sys, traceback\n"
        "for lib in ('httpx', 'telegram.ext', 'aiohttp.web', 'click', 'msgspec', 'pluggy', 'rich',\n"
        "            'phonenumbers', 'orjson', 'platformdirs', 'psycopg', 'psycopg_pool'):\n"
        "    importlib.import_module(lib)\n"
        "assert not [m for m in sys.modules if m.startswith('alphasms_notify')]\n"
        "failed = []\n"
        "for name in sys.argv[1:]:\n"
        "    read, write = os.pipe()\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os.close(read)\n"
        "        try:\n"
        "            importlib.import_module(name)\n"
        "            os._exit(0)\n"
        "        except BaseException:\n"
        "            os.write(write, traceback.format_exc()[-2000:].encode())\n"
        "            os._exit(1)\n"
        "    os.close(write)\n"
        "    error = os.read(read, 4000).decode()\n"
        "    os.close(read)\n"
        "    if os.waitpid(pid, 0)[1] != 0:\n"
        "        failed.append(f'{name}: {error}')\n"
        "print('\\n'.join(failed))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, *MODULES], capture_output=True, text=True, timeout=300,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "", done.stdout


@pytest.mark.parametrize("name", MODULES)
def test_no_module_is_over_400_lines(name):
    path = ROOT / (name.replace(".", "/") + ".py")
    if not path.exists():
        path = ROOT / name.replace(".", "/") / "__init__.py"
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it along a seam"


def test_the_layers_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout
