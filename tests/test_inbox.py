"""The sandbox's web inbox in a real browser: headless Chromium driven by Selenium.

`.ci/run` installs Debian's chromium and chromium-driver when they are missing, so CI always
runs these; elsewhere they are skipped, saying so, when no Chromium is installed. Every test
fails on a JavaScript error in the page's console.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from helpers import ALPHASMS, OPERATOR, sandbox_env, texts, wait_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="no chromium and chromedriver installed (Debian: apt-get install chromium "
                                       "chromium-driver; .ci/run installs them)")


@pytest.fixture(scope="module")
def _chromium():
    """One Chromium for the module (a start costs a second of CPU); each test gets it on a blank page."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1200,900", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


@pytest.fixture
def browser(_chromium):
    driver = _chromium
    driver.get("about:blank")
    driver.get_log("browser")  # what an earlier test left
    yield driver
    errors = [entry for entry in driver.get_log("browser")
              if entry["level"] == "SEVERE" and entry.get("source") != "network"]  # images on x.example: no network
    driver.get("about:blank")  # closes the page's event stream before its sandbox stops
    assert errors == [], errors


def cli(sandbox, *args):
    return subprocess.run([ALPHASMS, *args], capture_output=True, text=True, timeout=60, env=sandbox_env(sandbox))


def page_text(driver):
    return driver.find_element("tag name", "body").text


def in_form(driver, css, act):
    """``act(form)`` on the form ``css``, found again if the live page re-rendered it in between (it does not
    while a field of the form has the focus, so once typing started the form stays)."""
    from selenium.common.exceptions import StaleElementReferenceException

    for _ in range(5):
        try:
            return act(driver.find_element("css selector", css))
        except StaleElementReferenceException:
            continue
    raise AssertionError(f"{css} kept being re-rendered")


def test_messages_appear_live_rendered_as_the_phone_sees_them(alphasms_sandbox, browser):
    browser.get(alphasms_sandbox.inbox_url)
    assert "Nothing received yet" in page_text(browser)
    assert cli(alphasms_sandbox, "send", "--to", "0971234567", "Your code is 4321").returncode == 0
    assert cli(alphasms_sandbox, "send", "--channel", "viber", "--to", "0971234567", "--image",
               "https://x.example/a.png", "--link", "https://x.example/shop", "--button", "Open shop",
               "Spring sale").returncode == 0
    wait_for(lambda: "Spring sale" in page_text(browser) and "Your code is 4321" in page_text(browser), timeout=10)
    # read in one script: the page re-renders live (each status step), which would make a found element stale
    shown = browser.execute_script(
        "const b = document.querySelector('a.button'), i = document.querySelector('img.image');"
        "return [b && b.textContent, b && b.href, i && i.src, document.getElementById('phones').textContent];")
    assert shown[:3] == ["Open shop", "https://x.example/shop", "https://x.example/a.png"]
    assert "+380971234567" in shown[3]
    assert "1 part(s), GSM-7" in page_text(browser)


def test_a_reply_typed_in_the_page_comes_back_through_status(alphasms_sandbox, browser):
    cli(alphasms_sandbox, "send", "--channel", "viber", "--to", "0501234567", "Are you coming?")
    msg_id = alphasms_sandbox.messages()[0]["id"]
    browser.get(alphasms_sandbox.inbox_url)
    in_form(browser, f".reply-form[data-id='{msg_id}']", lambda form: (
        form.find_element("name", "message").send_keys("Yes, at 10"),
        form.find_element("css selector", "button").click()))
    wait_for(lambda: "Yes, at 10" in page_text(browser), timeout=10)
    status = cli(alphasms_sandbox, "status", str(msg_id))
    assert status.returncode == 0 and "REPLIED" in status.stdout and "Yes, at 10" in status.stdout


def test_an_outcome_set_in_the_page_is_what_status_shows(alphasms_sandbox, browser):
    cli(alphasms_sandbox, "send", "--to", "0631234567", "--to", "0661234567", "Boiler check")
    first, second = (m["id"] for m in alphasms_sandbox.messages())
    browser.get(alphasms_sandbox.inbox_url + "?phone=380661234567")
    from selenium.webdriver.support.ui import Select

    in_form(browser, f".outcome-form[data-id='{second}']", lambda form: (
        Select(form.find_element("name", "status")).select_by_visible_text("UNDELIVERABLE"),
        form.find_element("css selector", "button").click()))
    wait_for(lambda: browser.find_elements("css selector", f"#m-{second} .status[data-status='UNDELIVERABLE']"),
             timeout=10)
    assert "UNDELIVERABLE" in cli(alphasms_sandbox, "status", str(second)).stdout
    assert "UNDELIVERABLE" not in cli(alphasms_sandbox, "status", str(first)).stdout


def test_a_reply_typed_in_the_page_reaches_the_operators_chat(alphasms_sandbox, browser, bot_process, telegram):
    bot_process()
    telegram.send(OPERATOR, "/viber 0971234567 Table for two at 8?")
    wait_for(lambda: texts(telegram, OPERATOR, "Sent 1 of 1"), timeout=15)
    msg_id = alphasms_sandbox.messages()[0]["id"]
    browser.get(alphasms_sandbox.inbox_url)
    in_form(browser, f".reply-form[data-id='{msg_id}']", lambda form: (
        form.find_element("name", "message").send_keys("Yes please"),
        form.find_element("css selector", "button").click()))
    forwarded = wait_for(lambda: texts(telegram, OPERATOR, "Yes please"), timeout=20)
    assert "Viber reply from +380971234567" in forwarded[0]


def test_the_first_view_needs_no_script(alphasms_sandbox):
    cli(alphasms_sandbox, "send", "--to", "0971234567", "Plain <text> & more")
    cli(alphasms_sandbox, "send", "--channel", "viber", "--to", "0501234567", "--link", "https://x.example/go",
        "--button", "Go", "Card")
    import httpx  # the page as served, before any script could run: what a browser shows without them

    dom = httpx.get(alphasms_sandbox.inbox_url).text
    assert "+380971234567" in dom and "Plain &lt;text&gt; &amp; more" in dom
    dom_viber = httpx.get(alphasms_sandbox.inbox_url + "?phone=380501234567").text
    assert '<a class="button" href="https://x.example/go"' in dom_viber
