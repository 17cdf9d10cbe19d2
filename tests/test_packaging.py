"""The built wheel, not just the editable install: it must import, and its .pth must register alphasms://.

(An editable install can hide a packaging mistake: the source tree is on the
path. This builds the wheel, unpacks it as site-packages would hold it, and
starts Python on it alone, with the dependencies from this environment.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_wheel_contents_import_and_register_with_apprise(tmp_path, alphasms_sandbox, built_wheel):
    wheel = built_wheel
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "site")
    assert "alphasms_notify_apprise.pth" in names and "_alphasms_notify_apprise_hook.py" in names
    sources = {str(p.relative_to(ROOT)) for p in (ROOT / "alphasms_notify").rglob("*.py")}
    missing = sources - set(names) - {"alphasms_notify/apprise/startup_hook.py"}  # shipped top-level instead
    assert not missing, missing
    assert {"alphasms_notify/sandbox/static/inbox.js", "alphasms_notify/sandbox/static/inbox.css"} <= set(names)
    assert "alphasms_notify/py.typed" in names  # PEP 561: type checkers read the package's own hints
    assert "alphasms_notify/config.example.toml" in names  # what `alphasms config example` prints
    assert "alphasms_notify/locale/uk/LC_MESSAGES/alphasms_notify.mo" in names  # compiled at build (hatch_build.py)
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in names), names
    site = str(tmp_path / "site")
    code = (
        "import site, sys; sys.path[:] = [sys.argv[1]] + [p for p in sys.path if p] + [sys.argv[2]];"
        "site.addsitedir(sys.argv[1]);"
        "import apprise; from apprise.manager_plugins import NotificationManager;"
        "import alphasms_notify, alphasms_notify.sandbox, alphasms_notify.bot;"
        "print(alphasms_notify.__file__.startswith(sys.argv[1]), 'alphasms' in NotificationManager().schemas())"
    )
    result = subprocess.run([sys.executable, "-S", "-c", code, site, sysconfig.get_paths()["purelib"]],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.stdout.strip() == "True True", result.stderr
    ukrainian = ("import sys; sys.path[:] = [sys.argv[1]] + [p for p in sys.path if p] + [sys.argv[2]];"
                 "sys.modules['babel'] = None;"  # the wheel's compiled catalog, not the .po compiled by Babel
                 "from alphasms_notify.i18n import translations; print(translations('uk').gettext('Send?'))")
    said = subprocess.run([sys.executable, "-S", "-c", ukrainian, site, sysconfig.get_paths()["purelib"]],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert said.stdout.strip() == "Надіслати?", said.stderr
    # the templates command is built in: it works from the wheel with no plugins folder
    people = tmp_path / "people.csv"
    people.write_text("phone,name\n0971234567,Olena\n")
    cli = ("import site, sys; sys.path[:] = [sys.argv[1]] + [p for p in sys.path if p] + [sys.argv[2]];"
           "site.addsitedir(sys.argv[1]); from alphasms_notify.cli.app import main;"
           "main(['send-template', '--csv', sys.argv[3], 'Hi {name}'])")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHASMS")}
    env.update(ALPHASMS_API_KEY=alphasms_sandbox.key, ALPHASMS_API_URL=alphasms_sandbox.api_url,
               ALPHASMS_SMS_SENDER="Shop", ALPHASMS_NOTIFY_LOAD_PLUGINS="")
    sent = subprocess.run([sys.executable, "-S", "-c", cli, site, sysconfig.get_paths()["purelib"], str(people)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert sent.returncode == 0, sent.stderr
    assert [m["item"]["sms_message"] for m in alphasms_sandbox.messages()] == ["Hi Olena"]
    example = subprocess.run([sys.executable, "-S", "-c", cli.replace("['send-template', '--csv', sys.argv[3], "
                                                                      "'Hi {name}']", "['config', 'example']"),
                              site, sysconfig.get_paths()["purelib"]], capture_output=True, text=True, timeout=120,
                             cwd=tmp_path, env=env)
    assert example.returncode == 0 and "[verify]" in example.stdout and "countries" in example.stdout


def test_the_metadata_reads_right_on_the_package_index():
    import re
    import tomllib

    import trove_classifiers

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert [c for c in project["classifiers"] if c not in trove_classifiers.classifiers] == []
    assert {"Typing :: Typed", "Framework :: Pytest"} <= set(project["classifiers"])
    assert project["license"] == "Apache-2.0" and "Apache License" in (ROOT / "LICENSE").read_text()
    assert "Unofficial" in project["description"]
    for label, url in project["urls"].items():  # never presented as the provider's own package
        assert "alphasms.ua" not in url or "not affiliated" in label, (label, url)
    readme = (ROOT / "README.md").read_text()
    relative = re.findall(r"\]\((?!https?://|#)([^)]+)\)", readme)  # links and images the index cannot follow
    assert relative == []
