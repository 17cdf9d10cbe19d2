"""The ecosystems' habits: what users of Apprise, python-telegram-bot and a shell rely on.

Apprise through its real console script; the bot as the real python-telegram-bot
application against the Bot API stand-in; the CLI as a real process.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import time

import pytest
from helpers import APPRISE, clean_env

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
    print(f"\ncto=1 to a port that never accepts: apprise gave up after {took:.1f} s")
    assert result.returncode == 1 and took < 3


def test_apprise_rto_bounds_a_slow_answer(alphasms_sandbox):
    alphasms_sandbox.fault("delay", count=1, seconds=3, when="before")
    began = time.monotonic()
    result = run([APPRISE, "-b", "hi", f"alphasms://{alphasms_sandbox.key}@Shop/0971234567"
                                       f"?endpoint={alphasms_sandbox.api_url}&rto=1"])
    took = time.monotonic() - began
    print(f"\nrto=1 against a 3 s delay: apprise gave up after {took:.1f} s")
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
