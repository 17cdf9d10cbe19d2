"""Shared fixtures: clients pointed at the sandbox of the ``alphasms_sandbox`` fixture.

The sandbox fixture itself comes from this package's pytest plugin (entry
point ``pytest11``), the same one other projects get.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from helpers import ALPHASMS, OPERATOR, clean_env, wait_for

from alphasms_notify import AlphaSMS, AsyncAlphaSMS
from alphasms_notify.sandbox.telegram import TelegramStandIn

pytest_plugins = ["pytester"]


def pytest_configure(config):
    """Compile the package once: the tests start hundreds of processes that import it, and where
    PYTHONDONTWRITEBYTECODE is set (as on the CI machine) each would compile every module again."""
    import compileall

    import alphasms_notify

    compileall.compile_dir(Path(alphasms_notify.__file__).parent, quiet=1)
BOT_POLL = 0.3  # seconds between the in-process bot's status polls
PROCESS_POLL = 0.5  # ... and the bot process's


@pytest.fixture(autouse=True, scope="session")
def _user_folders(tmp_path_factory):
    """The user's config, data and state folders (the verification key file, a default store) in a temporary
    folder, for the tests and the processes they start: a test run never writes into the real home."""
    import os

    home = tmp_path_factory.mktemp("home")
    names = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES")
    saved = {name: os.environ.get(name) for name in names}
    for name in names[:3]:
        os.environ[name] = str(home / name.split("_")[1].lower())
    for name in names[4:]:  # the tests read English output (tests/test_i18n.py asks for Ukrainian by name)
        os.environ.pop(name, None)
    os.environ["LANG"] = "C.UTF-8"
    yield home
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def client(alphasms_sandbox):
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop",
                  viber_sender="ShopViber", backoff=0.01, timeout=2.0) as sms:
        yield sms


@pytest.fixture
async def aclient(alphasms_sandbox):
    async with AsyncAlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop",
                             viber_sender="ShopViber", backoff=0.01, timeout=2.0) as sms:
        yield sms


@pytest.fixture
def telegram():
    """The Bot API stand-in, with a token that tests look for in outputs (it must never show)."""
    with TelegramStandIn(token="987654:SECRET-BOT-TOKEN") as stand_in:
        yield stand_in


@pytest.fixture
def make_bot(alphasms_sandbox, telegram, tmp_path):
    """Build the real python-telegram-bot application against the stand-in and the sandbox."""
    from alphasms_notify.bot import build_application
    from alphasms_notify.plugins import make_plugin_manager
    from alphasms_notify.settings import AlphaSMSSettings, Settings, StoreSettings, TelegramSettings

    def make(*, plugins=None, confirm_above=10, store_path=None, store_url=None, replies_chat=None,
             operators=(OPERATOR,), consent=None, desk=None, **telegram_options):
        settings = Settings(
            alphasms=AlphaSMSSettings(api_key=alphasms_sandbox.key, api_url=alphasms_sandbox.api_url,
                                      sms_sender="Shop", viber_sender="ShopViber", timeout=2.0),
            telegram=TelegramSettings(token=telegram.token, api_url=telegram.api_url, operators=frozenset(operators),
                                      poll_interval=BOT_POLL, confirm_above=confirm_above, replies_chat=replies_chat,
                                      **telegram_options),
            store=StoreSettings(path=str(store_path or tmp_path / "bot.sqlite3"), url=store_url),
            **({"consent": consent} if consent is not None else {}), **({"desk": desk} if desk is not None else {}))
        return build_application(settings, plugins=plugins or make_plugin_manager(defaults=()))

    return make


@pytest.fixture
def bot_config(alphasms_sandbox, telegram, tmp_path):
    config = tmp_path / "bot.toml"
    config.write_text(f"""
[alphasms]
api_key = "{alphasms_sandbox.key}"
api_url = "{alphasms_sandbox.api_url}"
sms_sender = "Shop"
viber_sender = "Shop"

[telegram]
api_url = "{telegram.api_url}"
operators = [{OPERATOR}]
poll_interval = {PROCESS_POLL}

[store]
path = "{tmp_path / 'bot.sqlite3'}"
""")
    return config


@pytest.fixture
def bot_process(bot_config, telegram, tmp_path):
    """``start()`` runs ``alphasms --config bot.toml bot`` and waits until it polls Telegram."""
    env = clean_env(TELEGRAM_BOT_TOKEN=telegram.token, ALPHASMS_NOTIFY_LOAD_PLUGINS="")
    procs = []

    def start(*, expect_exit: bool = False, args: tuple[str, ...] = ()):
        log = open(tmp_path / f"bot{len(procs)}.log", "w")  # noqa: SIM115 - closed with the process
        polls = telegram.info()["calls"].count("getUpdates")
        proc = subprocess.Popen([ALPHASMS, "--config", str(bot_config), "bot", *args], stdout=log,
                                stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
        proc.log_path = log.name
        procs.append(proc)
        if expect_exit:
            proc.wait(timeout=60)
            return proc
        wait_for(lambda: telegram.info()["calls"].count("getUpdates") > polls or proc.poll() is not None,
                 timeout=30)
        assert proc.poll() is None, Path(log.name).read_text()
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory, worker_id):
    """One PostgreSQL server for the whole run, shared by the xdist workers (the first to need it starts it;
    the controller stops it at the end); skipped with the reason when Debian's server binaries are absent
    (``.ci/run`` installs them and sets ALPHASMS_REQUIRE_POSTGRES, so CI never skips)."""
    import fcntl
    import json
    import os

    from alphasms_notify.sandbox.postgres import REQUIRE_ENV, PostgresServer, server_bin

    bindir = server_bin()
    if bindir is None:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail("no PostgreSQL server binaries (pg_ctl, initdb), and CI requires them")
        pytest.skip("no PostgreSQL server binaries (pg_ctl, initdb): apt-get install postgresql to run these")
    if worker_id == "master":  # not under xdist: this process owns it
        server = PostgresServer(bindir)
        server.start()
        yield server
        server.stop()
        return
    shared = tmp_path_factory.getbasetemp().parent  # the run's folder, the same for every worker
    with open(shared / "postgres.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        described = shared / POSTGRES_FILE
        if described.exists():
            server = PostgresServer.attach(json.loads(described.read_text()))
        else:
            server = PostgresServer(bindir)
            server.start()
            described.write_text(json.dumps(server.describe()))
    yield server


POSTGRES_FILE = "postgres.json"


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory):
    """The wheel of this checkout, built once for the run (the packaging and deploy tests both install it)."""
    import fcntl
    import sys

    shared = tmp_path_factory.getbasetemp().parent  # the run's folder, the same for every xdist worker
    with open(shared / "wheel.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = sorted((shared / "wheels").glob("alphasms_notify-*.whl"))
        if not found:
            subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "-w", str(shared / "wheels"), str(Path(__file__).parent.parent)],
                           check=True, capture_output=True, timeout=300)
            found = sorted((shared / "wheels").glob("alphasms_notify-*.whl"))
    return found[0]


def pytest_sessionfinish(session):
    """The controller (or a run without xdist) stops the server the workers shared."""
    import json

    if hasattr(session.config, "workerinput"):
        return
    factory = getattr(session.config, "_tmp_path_factory", None)
    described = factory.getbasetemp() / POSTGRES_FILE if factory is not None else None
    if described is not None and described.exists():
        from alphasms_notify.sandbox.postgres import PostgresServer

        PostgresServer.attach(json.loads(described.read_text())).stop()
        described.unlink()


@pytest.fixture
def postgres_url(postgres_server):
    """The URL of a fresh database on the session's PostgreSQL server."""
    return postgres_server.new_database()
