"""The deploy files: the Dockerfile's steps run for real (docker is not on these machines), the compose file
read as compose reads it, the systemd unit checked by systemd-analyze."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from importlib import metadata
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parent.parent
DEPLOY = ROOT / "deploy"


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    steps, pending = [], ""
    for line in path.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip().removesuffix("\\") + " " if line.rstrip().endswith("\\") else line
        if not line.rstrip().endswith("\\"):
            word, _, rest = pending.strip().partition(" ")
            steps.append((word.upper(), " ".join(rest.split())))
            pending = ""
    return steps


def test_the_dockerfile_is_two_stages_a_user_without_privileges_and_a_healthcheck():
    steps = _instructions(DEPLOY / "Dockerfile")
    froms = [args for word, args in steps if word == "FROM"]
    assert len(froms) == 2 and froms[0].endswith(" AS build"), froms  # the wheels built apart from the image
    final = steps[[i for i, (word, _) in enumerate(steps) if word == "FROM"][1]:]
    runs = [args for word, args in final if word == "RUN"]
    assert any("useradd" in r for r in runs)
    assert any("--no-index --find-links=/wheels" in r and "alphasms-notify[postgresql]" in r for r in runs)
    assert not any("pip install" in args and "--no-index" not in args for word, args in final if word == "RUN")
    users = [args for word, args in final if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    env = dict(item.split("=", 1) for word, args in final if word == "ENV" for item in args.split())
    port = env["ALPHASMS_METRICS_ADDRESS"].rsplit(":", 1)[1]
    [health] = [args for word, args in final if word == "HEALTHCHECK"]
    assert f"127.0.0.1:{port}/healthz" in health
    assert json.loads(next(args for word, args in final if word == "CMD")) == ["alphasms", "bot"]


def _runnable_by_others(path: Path) -> bool:
    path = path.resolve()
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])


def _interpreter_for_others() -> str:
    """This Python, or the system's of the same version when others cannot run this one (a pyenv in /root):
    the image's user must be able to start it."""
    if _runnable_by_others(Path(sys.executable)):
        return sys.executable
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(version, path="/usr/local/bin:/usr/bin:/bin")
    if system is None or not _runnable_by_others(Path(system)):
        pytest.fail(f"no {version} that a user without privileges can run (this one is {sys.executable})")
    return system


def test_the_dockerfile_steps_install_the_wheel_that_runs_as_a_user_without_privileges(built_wheel):
    # stage 1: the wheel of this checkout (its dependencies come from this environment: no network here)
    wheel = built_wheel
    # stage 2: a fresh environment in a folder others may read, the wheel installed into it
    image = Path(tempfile.mkdtemp(prefix="alphasms-image-"))
    try:
        image.chmod(0o755)
        subprocess.run([_interpreter_for_others() if os.geteuid() == 0 else sys.executable, "-m", "venv",
                        "--without-pip", str(image / "venv")], check=True, timeout=120)
        python = image / "venv" / "bin" / "python"
        subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                        "--no-index", str(wheel)], check=True, capture_output=True, timeout=300)
        site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   capture_output=True, text=True, check=True).stdout.strip())
        # what `alphasms --help` needs besides the package, copied as the image's pip would have installed it
        for name in ("click", "msgspec", "pluggy"):
            for file in metadata.distribution(name).files or []:
                source = Path(file.locate())
                if source.is_file() and ".." not in file.parts:
                    (site / file).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, site / file)
        for folder in [image, *image.rglob("*")]:
            folder.chmod(folder.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if folder.is_dir() else 0))
        alphasms = image / "venv" / "bin" / "alphasms"
        user = {"user": "nobody", "group": "nogroup"} if os.geteuid() == 0 else {}
        env = {"PATH": "/usr/bin:/bin", "HOME": str(image), "ALPHASMS_NOTIFY_LOAD_PLUGINS": ""}
        result = subprocess.run([str(alphasms), "--help"], capture_output=True, text=True, timeout=60, env=env,
                                cwd=image, **user)
        assert result.returncode == 0, result.stderr
        assert "send" in result.stdout and "bot" in result.stdout
        example = subprocess.run([str(alphasms), "config", "example"], capture_output=True, text=True, timeout=60,
                                 env=env, cwd=image, **user)
        assert example.returncode == 0 and "[metrics]" in example.stdout
        assert sorted(p.name for p in image.iterdir()) == ["venv"]  # it wrote nothing where it ran
    finally:
        shutil.rmtree(image)


def test_the_compose_file_builds_the_image_once_and_runs_two_bots_on_postgresql():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert services["db"]["image"].startswith("postgres:")
    built = [name for name, s in services.items() if "build" in s]
    assert built == ["migrate"] and services["migrate"]["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (DEPLOY / services["migrate"]["build"]["context"] / services["migrate"]["build"]["dockerfile"]).exists()
    bot = services["bot"]
    assert bot["image"] == services["migrate"]["image"]  # the same image: one version for every instance
    assert bot["deploy"]["replicas"] == 2 and bot["command"] == ["alphasms", "bot"]
    assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    text = (DEPLOY / "compose.yaml").read_text()
    assert "pip install" not in text  # nothing installed when a container starts


def test_the_systemd_unit_passes_systemd_analyze_apart_from_the_binarys_path(tmp_path):
    unit = (DEPLOY / "alphasms-bot.service").read_text()
    for line in unit.splitlines():  # systemd takes a "# ..." after a value as part of the value
        if "=" in line and not line.lstrip().startswith("#"):
            assert " #" not in line.split("=", 1)[1], line
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("ALPHASMS_REQUIRE_SYSTEMD_ANALYZE"):
            pytest.fail("systemd-analyze is missing and CI requires it")
        pytest.skip("systemd-analyze is not installed (Debian's systemd package has it)")
    alphasms = Path(sysconfig.get_paths()["scripts"]) / "alphasms"
    (tmp_path / "alphasms-bot.service").write_text(unit.replace("/opt/alphasms/bin/alphasms", str(alphasms)))
    checked = subprocess.run([analyze, "verify", str(tmp_path / "alphasms-bot.service")], capture_output=True,
                             text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "alphasms-bot.service" not in checked.stderr, checked.stderr  # not even a warning about the unit
