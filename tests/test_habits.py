"""The ecosystems' habits: what users of Apprise, python-telegram-bot and a shell rely on.

Apprise through its real console script; the bot as the real python-telegram-bot
application against the Bot API stand-in; the CLI as a real process.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import time

import pytest
from helpers import APPRISE, clean_env, sandbox_env

trustme = pytest.importorskip("trustme")


def run(args, env=None, **options):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, env=env or clean_env(), **options)


def received(sandbox):
    return [m["phone"] for m in sandbox.messages()]


# -- Apprise ------------------------------------------------------------------------------------


def test_apprise_verify_no_and_ca_bundles_as_requests_honours_them(alphasms_sandbox, tmp_path):
    from lying import LyingProvider

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with LyingProvider(alphasms_sandbox.api_url, ssl_context=context) as https:
        url = f"alphasms://{alphasms_sandbox.key}@Shop/0971234567?endpoint={https.api_url}"
        refused = run([APPRISE, "-v", "-b", "self-signed", url])
        assert refused.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in refused.stdout + refused.stderr
        assert received(alphasms_sandbox) == []
        unverified = run([APPRISE, "-b", "verify=no", url + "&verify=no"])
        assert unverified.returncode == 0, unverified.stdout + unverified.stderr
        ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
        bundled = run([APPRISE, "-b", "bundle", url], clean_env(REQUESTS_CA_BUNDLE=str(tmp_path / "ca.pem")))
        assert bundled.returncode == 0, bundled.stdout + bundled.stderr
    assert [m["item"]["sms_message"] for m in alphasms_sandbox.messages()] == ["verify=no", "bundle"]


def test_apprise_cto_bounds_a_connect_that_never_completes():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    backlog = []
    for _ in range(4):  # fill the backlog: the next connect is never answered
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        backlog.append(filler)
    try:
        began = time.monotonic()
        result = run([APPRISE, "-b", "hi", f"alphasms://KEY@Shop/0971234567?endpoint=http://127.0.0.1:{port}/api"
                                           "&cto=1"])
        took = time.monotonic() - began
    finally:
        for s in [*backlog, listener]:
            s.close()
    # the same process against a closed port (refused at once): its start-up, which cto does not bound
    began = time.monotonic()
    run([APPRISE, "-b", "hi", "alphasms://KEY@Shop/0971234567?endpoint=http://127.0.0.1:9/api&cto=1"])
    startup = time.monotonic() - began
    print(f"\ncto=1 to a port that never accepts: apprise gave up after {took:.1f} s ({startup:.1f} s when refused)")
    assert result.returncode == 1 and took - startup < 3.0  # Apprise's default connect timeout is 4 s


def test_apprise_rto_bounds_a_slow_answer(alphasms_sandbox):
    alphasms_sandbox.fault("delay", count=1, seconds=3, when="before")
    result = run([APPRISE, "-b", "hi", f"alphasms://{alphasms_sandbox.key}@Shop/0971234567"
                                       f"?endpoint={alphasms_sandbox.api_url}&rto=1"])
    ended = time.time()
    [request] = alphasms_sandbox.requests()
    took = ended - request["at"]  # from the request's arrival: the process's start-up is not what rto bounds
    print(f"\nrto=1 against a 3 s delay: apprise gave up {took:.1f} s after its request")
    assert result.returncode == 1 and took < 2.5


def test_apprise_retries_are_apprises_own_and_never_send_twice(alphasms_sandbox):
    alphasms_sandbox.fault("http500", count=None)  # every request: the first was taken, then answered 500
    result = run([APPRISE, "-b", "hi", f"alphasms://{alphasms_sandbox.key}@Shop/0971234567"
                                       f"?endpoint={alphasms_sandbox.api_url}&retry=2&wait=0.1"])
    requests = alphasms_sandbox.requests()
    print(f"\nretry=2 with HTTP 500 on every request: {len(requests)} provider requests")
    assert result.returncode == 1
    assert len(requests) <= 3
    assert received(alphasms_sandbox) == [380971234567]  # taken once, never sent again


def test_apprise_logs_go_through_apprises_logger(alphasms_sandbox):
    import apprise

    notifier = apprise.Apprise()
    notifier.add(f"alphasms://wrong-key@Shop/0971234567?endpoint={alphasms_sandbox.api_url}")
    with apprise.LogCapture(level=apprise.logging.WARNING) as captured:
        assert not notifier.notify("hello")
    assert "Failed to send AlphaSMS notification: AlphaSMS refused the request: Access denied" in captured.getvalue()
    quiet = run([APPRISE, "-b", "hi", f"alphasms://wrong-key@Shop/0971234567?endpoint={alphasms_sandbox.api_url}"])
    assert quiet.returncode == 1 and quiet.stderr == "" and quiet.stdout == ""  # nothing without -v


def test_apprise_refuses_a_local_attachment_with_a_clear_line(alphasms_sandbox, tmp_path):
    picture = tmp_path / "photo.png"
    picture.write_bytes(b"\x89PNG")
    result = run([APPRISE, "-v", "-b", "see photo", "--attach", str(picture),
                  f"alphasms://{alphasms_sandbox.key}@Shop/0971234567?endpoint={alphasms_sandbox.api_url}&mode=viber"])
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "'photo.png' is a local file" in output
    assert alphasms_sandbox.messages() == []


def test_apprise_url_identifier_tells_endpoints_apart():
    import apprise

    a = apprise.Apprise.instantiate("alphasms://KEY@Shop/0971234567")
    b = apprise.Apprise.instantiate("alphasms://KEY@Shop/0971234567?endpoint=http://127.0.0.1:8025/api/json.php")
    assert a.url_id() != b.url_id()


def test_apprise_split_keeps_cyrillic_chunks_within_max_parts(alphasms_sandbox):
    from alphasms_notify.segments import count_segments

    body = " ".join(["Увага: планові роботи на лінії"] * 150)  # ~4,500 Cyrillic characters
    result = run([APPRISE, "-b", body, f"alphasms://{alphasms_sandbox.key}@Shop/0971234567"
                                       f"?endpoint={alphasms_sandbox.api_url}&overflow=split"])
    assert result.returncode == 0, result.stdout + result.stderr
    parts = [count_segments(m["item"]["sms_message"]).parts for m in alphasms_sandbox.messages()]
    assert len(parts) > 1 and max(parts) <= 10


# -- python-telegram-bot --------------------------------------------------------------------------

SECOND = 333


async def test_bot_a_slow_provider_delays_only_its_own_command(make_bot, telegram, alphasms_sandbox):
    from helpers import OPERATOR, last_text, until

    from alphasms_notify.bot import running

    async with running(make_bot(operators=(OPERATOR, SECOND))):
        alphasms_sandbox.fault("delay", count=1, seconds=3, when="before")
        telegram.send(OPERATOR, "/balance")
        await asyncio.sleep(0.3)  # the balance request is on its way, and will wait 3 s
        asked = time.monotonic()
        telegram.send(SECOND, "/help")
        await until(last_text(telegram, SECOND, "/balance"), timeout=5)
        answered = time.monotonic() - asked
        await until(last_text(telegram, OPERATOR, "Balance"), timeout=10)
    print(f"\n/help answered {answered:.2f} s after it was sent, while /balance waited 3 s")
    assert answered < 0.5


async def test_bot_a_failed_edit_is_followed_by_a_message_with_the_outcome(make_bot, telegram, alphasms_sandbox):
    from helpers import OPERATOR, last_text, until

    from alphasms_notify.bot import running

    async with running(make_bot()):
        telegram.fault("editMessageText", status=500, count=1)
        telegram.send(OPERATOR, "/send 0971234567 Boiler check at 9")
        told = await until(last_text(telegram, OPERATOR, "Sent 1 of 1"), timeout=10)
    assert f"id {alphasms_sandbox.messages()[0]['id']}" in told
    assert [m["text"] for m in telegram.bot_messages(OPERATOR)][0].startswith("📤 Sending")  # never edited


async def test_bot_menu_only_for_operators_and_only_the_updates_it_handles(make_bot, telegram):
    from helpers import OPERATOR, until

    from alphasms_notify.bot import running

    async with running(make_bot(operators=(OPERATOR, SECOND))):
        await until(lambda: len(telegram.info()["command_scopes"]) >= 2)
    scopes = telegram.info()["command_scopes"]
    assert sorted({s["chat_id"] for s in scopes}) == [OPERATOR, SECOND]  # a menu per language, for each
    assert all(s["type"] == "chat" for s in scopes)


# -- the command line -----------------------------------------------------------------------------


def test_cli_global_options_before_or_after_the_command(alphasms_sandbox, tmp_path):
    from helpers import ALPHASMS

    config = tmp_path / "c.toml"
    config.write_text('[alphasms]\nsms_sender = "FromFile"\n')
    env = sandbox_env(alphasms_sandbox, ALPHASMS_SMS_SENDER="")
    after = run([ALPHASMS, "send", "--json", "--to", "0971234567", "--config", str(config), "hi"], env)
    assert after.returncode == 0, after.stderr
    import json

    assert json.loads(after.stdout)["results"][0]["state"] == "ok"
    assert alphasms_sandbox.messages()[0]["item"]["sms_signature"] == "FromFile"
    text_after_dashes = run([ALPHASMS, "send", "--to", "0971234567", "--", "--json"], env | {
        "ALPHASMS_SMS_SENDER": "Shop"})
    assert text_after_dashes.returncode == 0 and alphasms_sandbox.messages()[1]["item"]["sms_message"] == "--json"


def test_cli_bot_config_after_the_command(bot_config, telegram, tmp_path):
    from helpers import ALPHASMS, wait_for

    proc = subprocess.Popen([ALPHASMS, "bot", "--config", str(bot_config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=clean_env(TELEGRAM_BOT_TOKEN=telegram.token),
                            cwd=tmp_path)
    try:
        wait_for(lambda: "getUpdates" in telegram.info()["calls"] or proc.poll() is not None, timeout=30)
        assert proc.poll() is None, proc.stderr.read()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_cli_text_dash_reads_standard_input(alphasms_sandbox):
    from helpers import ALPHASMS

    result = subprocess.run([ALPHASMS, "send", "--to", "0971234567", "-"], input="Hi\n", capture_output=True,
                            text=True, timeout=60, env=sandbox_env(alphasms_sandbox))
    assert result.returncode == 0, result.stderr
    assert [m["item"]["sms_message"] for m in alphasms_sandbox.messages()] == ["Hi"]


@pytest.mark.parametrize("kind", ["csv", "lines", "stdin"])
def test_cli_to_file_sends_one_message_per_row_in_batches(alphasms_sandbox, tmp_path, kind):
    from helpers import ALPHASMS

    phones = [f"097{n:07d}" for n in range(250)]
    content = ("name,phone\n" + "".join(f"N{n},{p}\n" for n, p in enumerate(phones)) if kind == "csv"
               else "# our customers\n" + "\n".join(phones) + "\n\n")
    source = tmp_path / "numbers.csv"
    source.write_text(content)
    args = [ALPHASMS, "send", "--to-file", "-" if kind == "stdin" else str(source), "Water off at 10"]
    result = subprocess.run(args, input=content if kind == "stdin" else None, capture_output=True, text=True,
                            timeout=60, env=sandbox_env(alphasms_sandbox))
    assert result.returncode == 0, result.stderr
    assert sorted(m["phone"] for m in alphasms_sandbox.messages()) == sorted(380_000_000_000 + int(p) for p in phones)
    # batches grow: 100, then the 150 left (two requests in flight at once: either may arrive first)
    assert sorted(len(r["data"]) for r in alphasms_sandbox.requests()) == [100, 150]


def test_cli_asks_before_a_large_send_on_a_terminal_only(alphasms_sandbox, tmp_path):
    import os
    import pty

    from helpers import ALPHASMS

    config = tmp_path / "c.toml"
    config.write_text("[cli]\nconfirm_above = 2\n")
    args = [ALPHASMS, "--config", str(config), "send", "--to", "0971234561", "--to", "0971234562",
            "--to", "0971234563", "Meeting moved"]
    for answer, expected in (("n", 1), ("y", 0)):
        leader, follower = pty.openpty()
        proc = subprocess.Popen(args, stdin=follower, stderr=follower, stdout=subprocess.PIPE,
                                env=sandbox_env(alphasms_sandbox))
        os.close(follower)
        seen = b""
        while b"Send?" not in seen:
            seen += os.read(leader, 1024)
        os.write(leader, answer.encode() + b"\n")
        assert proc.wait(timeout=30) == expected
        os.close(leader)
        assert b"About to send sms to 3 recipient(s)" in seen
    assert len(alphasms_sandbox.messages()) == 3  # only the confirmed run sent
    piped = subprocess.run(args, capture_output=True, text=True, timeout=60, env=sandbox_env(alphasms_sandbox))
    assert piped.returncode == 0 and "Send?" not in piped.stderr  # scripts are never asked
    assert len(alphasms_sandbox.messages()) == 6


def test_cli_summarises_a_large_send_on_a_terminal(alphasms_sandbox):
    import os
    import pty

    from helpers import ALPHASMS

    phones = [a for n in range(25) for a in ("--to", f"09712345{n:02d}")]
    leader, follower = pty.openpty()
    proc = subprocess.Popen([ALPHASMS, "send", *phones, "--yes", "Hello"], stdout=follower,
                            stderr=subprocess.DEVNULL, env=sandbox_env(alphasms_sandbox))
    os.close(follower)
    seen = b""
    while proc.poll() is None or not seen.endswith(b"\n"):
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=30)
    os.close(leader)
    assert proc.returncode == 0
    text = seen.decode()
    assert "sent 25 of 25; 25 parts" in text and "every id: --json" in text and "sent 380971234500" not in text
    assert len(alphasms_sandbox.messages()) == 25
