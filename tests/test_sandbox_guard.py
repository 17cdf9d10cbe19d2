"""Other web pages cannot drive the sandbox or the Telegram stand-in (see alphasms_notify.sandbox.guard).

A real headless Chromium opens a page from another origin that tries what any
page could: a ``text/plain`` form and ``no-cors`` fetches to the control calls.
DNS rebinding is played with the ``Host`` header a rebound page would send.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from helpers import wait_for
from test_inbox import CHROMIUM, DRIVER

from alphasms_notify import AlphaSMS, Sms

needs_chromium = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="no chromium and chromedriver installed "
                                    "(Debian: apt-get install chromium chromium-driver; .ci/run installs them)")

ATTACK = """<!DOCTYPE html><html><body>
<iframe name="sink"></iframe>
<form id="f" method="POST" enctype="text/plain" target="sink" action="{url}/_sandbox/replies">
<input name='{{"id": {id}, "message": "forged by a form", "x": "' value='"}}'></form>
<script>
const base = "{url}";
async function attack() {{
  const plain = (path, body) => fetch(base + path, {{method: "POST", mode: "no-cors", body}}).catch(() => null);
  await plain("/_sandbox/replies", JSON.stringify({{id: {id}, message: "forged by fetch"}}));
  await plain("/_sandbox/faults", JSON.stringify({{kind: "http500", count: null}}));
  await plain("/_sandbox/balance", JSON.stringify({{amount: "0"}}));
  await plain("/_sandbox/reset", "");
  await fetch(base + "/_sandbox/reset", {{method: "POST", mode: "no-cors",
      headers: {{"Content-Type": "application/json"}}}}).catch(() => null);  // no-cors: the header is dropped
  await fetch(base + "/_sandbox/faults", {{method: "DELETE"}}).catch(() => null);  // needs a preflight: refused
  document.getElementById("f").submit();
  document.querySelector("iframe").onload = () => {{ document.title = "done"; }};
}}
attack();
</script></body></html>"""


def _serve(page: str) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://localhost:{server.server_address[1]}/"


@needs_chromium
def test_a_page_on_another_origin_cannot_drive_the_sandbox(alphasms_sandbox):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, viber_sender="Shop") as client:
        [sent] = client.send(__import__("alphasms_notify").Viber("0971234567", "Coming tomorrow?"))
    msg_id = sent.message.id
    server, page = _serve(ATTACK.format(url=alphasms_sandbox.url, id=msg_id))
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--no-first-run"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        driver.get(page)
        wait_for(lambda: driver.title == "done", timeout=20)
    finally:
        driver.quit()
        server.shutdown()
    [message] = alphasms_sandbox.messages()
    assert message["replies"] == []  # no forged customer reply for a bot to forward
    assert alphasms_sandbox.faults()["rules"] == []
    assert alphasms_sandbox.balance() > 0
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as client:
        assert client.send(Sms("0971234567", "still works"))[0].ok


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example", "", "[::2]"])
@pytest.mark.parametrize("path", ["/_sandbox/messages", "/", "/_sandbox/phones", "/_sandbox/requests"])
def test_a_rebinding_page_reads_nothing(alphasms_sandbox, host, path):
    with AlphaSMS(alphasms_sandbox.key, alphasms_sandbox.api_url, sms_sender="Shop") as client:
        client.send(Sms("0971234567", "private"))
    answer = httpx.get(alphasms_sandbox.url + path, headers={"Host": host})
    assert answer.status_code == 403 and "private" not in answer.text
    assert httpx.get(alphasms_sandbox.url + path, headers={"Host": f"localhost:{alphasms_sandbox.port}"}
                     ).status_code == 200


def test_control_calls_take_json_from_this_origin_only(alphasms_sandbox):
    url = alphasms_sandbox.url + "/_sandbox/faults"
    body = '{"kind": "http500"}'
    assert httpx.post(url, content=body, headers={"Content-Type": "text/plain"}).status_code == 403
    assert httpx.post(url, data={"kind": "http500"}).status_code == 403
    json = {"Content-Type": "application/json"}
    assert httpx.post(url, content=body, headers={**json, "Origin": "http://evil.example"}).status_code == 403
    assert httpx.post(url, content=body, headers={**json, "Origin": "null"}).status_code == 403
    assert alphasms_sandbox.faults()["rules"] == []
    assert httpx.post(url, content=body, headers={**json, "Origin": alphasms_sandbox.url}).status_code == 201
    assert httpx.post(url, content=body, headers=json).status_code == 201  # a test client: no Origin


def test_the_telegram_stand_in_is_guarded_too(telegram):
    url = telegram.url + "/_telegram/messages"
    forged = '{"chat_id": 111, "text": "/send 0971234567 forged"}'
    assert httpx.post(url, content=forged, headers={"Content-Type": "text/plain"}).status_code == 403
    assert httpx.get(telegram.url + "/_telegram/info", headers={"Host": "evil.example"}).status_code == 403
    assert telegram.info()["pending_updates"] == 0
