"""One meaning per sender option on every command that sends: --sender is the chosen channel's sender."""

from __future__ import annotations

import subprocess

import pytest
from helpers import ALPHASMS, clean_env

from alphasms_notify.cli.senders import senders_for


@pytest.mark.parametrize(("channel", "opts", "configured", "expected"), [
    ("sms", {"sender": "Shop"}, None, ("Shop", None, None)),
    ("viber", {"sender": "Shop"}, None, (None, "Shop", None)),
    ("rcs", {"sender": "Shop"}, None, (None, None, "Shop")),
    ("viber+sms", {"sender": "Shop"}, None, ("Shop", "Shop", None)),  # the fallback goes from the same name
    ("rcs+sms", {"sender": "Shop"}, None, ("Shop", None, "Shop")),
    ("viber+sms", {"sender": "Shop"}, "ShopSMS", (None, "Shop", None)),  # ... unless one is set for SMS
    ("viber+sms", {"sender": "Shop", "sms_sender": "Own"}, "ShopSMS", ("Own", "Shop", None)),
    ("viber", {"sender": "Shop", "viber_sender": "Named"}, None, (None, "Named", None)),  # the named one wins
    ("sms", {}, "ShopSMS", (None, None, None)),  # nothing given: the client's defaults
])
def test_sender_is_the_chosen_channels(channel, opts, configured, expected):
    got = senders_for(channel, opts, configured)
    assert (got["sms_sender"], got["viber_sender"], got["rcs_sender"]) == expected


def _cli(sandbox, *args):
    env = clean_env(ALPHASMS_API_KEY=sandbox.key, ALPHASMS_API_URL=sandbox.api_url, ALPHASMS_NOTIFY_LOAD_PLUGINS="")
    return subprocess.run([ALPHASMS, *args], capture_output=True, text=True, timeout=60, env=env)


def test_sender_works_for_every_channel_without_configured_senders(alphasms_sandbox):
    for channel in ("viber+sms", "rcs+sms"):  # the two that failed with the flag; the rest: the table above
        done = _cli(alphasms_sandbox, "send", "--to", "0971234567", "--channel", channel, "--sender", "Shop", "Hi")
        assert done.returncode == 0, (channel, done.stderr)
    items = [m["item"] for m in alphasms_sandbox.messages()]
    assert items[0]["viber_signature"] == "Shop" and items[0]["sms_signature"] == "Shop"
    assert items[1]["rcs_signature"] == "Shop" and items[1]["sms_signature"] == "Shop"


def test_errors_name_options_that_exist_and_the_sender_that_is_missing(alphasms_sandbox):
    unused = _cli(alphasms_sandbox, "send", "--to", "0971234567", "--channel", "viber", "--sms-sender", "X", "Hi")
    assert unused.returncode == 2 and "--sms-sender is not used by the viber channel" in unused.stderr
    assert "--sms-sender" in _cli(alphasms_sandbox, "send", "--help").stdout  # the option it names exists
    missing = _cli(alphasms_sandbox, "send", "--to", "0971234567", "--channel", "viber", "Hi")
    assert missing.returncode == 2
    assert "Viber sender name is empty (pass one or set [alphasms] viber_sender)" in missing.stderr
    template = _cli(alphasms_sandbox, "send-template", "--help")
    assert "--sender" in template.stdout and "--sms-sender" in template.stdout
    assert alphasms_sandbox.requests() == []
