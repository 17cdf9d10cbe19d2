"""The alphasms:// Apprise backend against the sandbox, in the manner of Apprise's own plugin tests.

Apprise's ``AppriseURLTester`` ships only in its sdist and patches ``requests``;
``URL_CASES`` below is the equivalent table for this plugin, but every send
goes over real HTTP to the sandbox.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import apprise
import pytest

import alphasms_notify  # noqa: F401  - importing it is what registers alphasms://
from alphasms_notify import DEFAULT_API_URL, hookimpl
from alphasms_notify.apprise.plugin import NotifyAlphaSMS
from alphasms_notify.plugins import get_plugin_manager

APPRISE = str(Path(sys.executable).parent / "apprise")


@pytest.fixture
def ep(alphasms_sandbox):
    return f"endpoint={alphasms_sandbox.api_url}"


def items(sandbox):
    return [item for request in sandbox.requests() for item in request.get("data", [])]


# (url after "alphasms://", instantiates?, notify result, targets, privacy url must not contain)
URL_CASES = [
    ("{key}@Shop/0971234567", True, True, [380971234567]),
    ("{key}@Shop/0971234567/+380501234567/380631234567", True, True, [380971234567, 380501234567, 380631234567]),
    ("{key}/0971234567?from=Shop", True, True, [380971234567]),
    ("{key}/?from=Shop&to=0971234567,0501234567", True, True, [380971234567, 380501234567]),
    ("{key}@Shop/0971234567?mode=viber", True, True, [380971234567]),
    ("{key}@Shop/0971234567?mode=viber%2Bsms&viber_from=ShopViber", True, True, [380971234567]),
    ("{key}@Shop/0971234567/12/abc", True, True, [380971234567]),  # invalid ones dropped, the rest sent
    ("{key}@Shop/12", True, False, []),  # nothing valid left to notify
    ("{key}@Shop", True, False, []),
    ("wrong@Shop/0971234567", True, False, []),  # Access denied
    ("{key}@Shop/0971234567?mode=fax", False, None, []),
    ("{key}@TwelveLetters/0971234567", False, None, []),
    ("", False, None, []),
]


@pytest.mark.parametrize("tail, valid, result, targets", URL_CASES)
def test_url_table(alphasms_sandbox, ep, monkeypatch, tail, valid, result, targets):
    monkeypatch.delenv("ALPHASMS_SMS_SENDER", raising=False)
    url = "alphasms://" + tail.format(key=alphasms_sandbox.key)
    url += ("&" if "?" in url else "?") + ep
    instance = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if not valid:
        assert instance is None
        return
    assert isinstance(instance, NotifyAlphaSMS)
    assert instance.notify("hello") is result
    assert sorted(m["phone"] for m in alphasms_sandbox.messages()) == sorted(targets)
    # round trip: the URL it prints makes the same object
    again = apprise.Apprise.instantiate(instance.url())
    assert again.url() == instance.url() and again.targets == instance.targets
    assert alphasms_sandbox.key not in instance.url(privacy=True) or alphasms_sandbox.key == "wrong"
    assert instance.url_identifier == ("alphasms", instance.apikey, instance.endpoint or DEFAULT_API_URL)


def test_one_number_written_two_ways_gets_one_message(alphasms_sandbox, ep):
    url = f"alphasms://{alphasms_sandbox.key}@Shop/+380%2097%20123%2045%2067/097-123-45-67/?to=(050)1234567&{ep}"
    instance = apprise.Apprise.instantiate(url)
    assert instance.targets == [380971234567, 380501234567]
    assert instance.notify("once each")
    assert sorted(m["phone"] for m in alphasms_sandbox.messages()) == [380501234567, 380971234567]


def test_privacy_url_masks_the_key(ep):
    instance = apprise.Apprise.instantiate(f"alphasms://s3cretkey@Shop/0971234567?{ep}")
    assert "s3cretkey" in instance.url()
    private = instance.url(privacy=True)
    assert "s3cretkey" not in private and private.startswith("alphasms://****@Shop/380971234567/")


@pytest.mark.parametrize("query, viber_type, extra", [
    ("", "text", {}),
    ("&image=https://e.com/i.png&link=https://e.com&button=Open", "text+image+link",
     {"viber_image": "https://e.com/i.png", "viber_link": "https://e.com", "viber_button": "Open"}),
    ("&link=https://e.com&button=Open", "text+link", {"viber_link": "https://e.com", "viber_button": "Open"}),
])
def test_viber_arguments_choose_the_viber_type(alphasms_sandbox, ep, query, viber_type, extra):
    url = f"alphasms://{alphasms_sandbox.key}@Shop/0971234567?mode=viber&viber_from=ShopViber&{ep}{query}"
    assert apprise.Apprise.instantiate(url).notify("Hi")
    [item] = items(alphasms_sandbox)
    assert item == {"type": "viber", "id": item["id"], "phone": 380971234567, "viber_type": viber_type,
                    "viber_signature": "ShopViber", "viber_message": "Hi", **extra}


def test_viber_sms_mode_sends_the_body_both_ways(alphasms_sandbox, ep):
    url = f"alphasms://{alphasms_sandbox.key}@Shop/0971234567?mode=viber%2Bsms&{ep}"
    assert apprise.Apprise.instantiate(url).notify("Hi", title="Alert")
    [item] = items(alphasms_sandbox)
    assert item["type"] == "viber+sms" and item["sms_signature"] == "Shop" and item["viber_signature"] == "Shop"
    assert item["sms_message"] == item["viber_message"] == "Alert\r\nHi"


def test_title_is_merged_into_the_sms_body(alphasms_sandbox, ep):
    assert apprise.Apprise.instantiate(f"alphasms://{alphasms_sandbox.key}@Shop/0971234567?{ep}").notify(
        "Disk full", title="server1")
    assert items(alphasms_sandbox)[0]["sms_message"] == "server1\r\nDisk full"


def test_remote_attachment_is_the_viber_image(alphasms_sandbox, ep):
    a = apprise.Apprise()
    a.add(f"alphasms://{alphasms_sandbox.key}@Shop/0971234567?mode=viber&{ep}")
    attach = apprise.AppriseAttachment("https://example.com/chart.png")
    assert a.notify("Report", attach=attach)
    image, text = items(alphasms_sandbox)  # no "text+image" type without a link: two messages, nothing lost
    assert (image["viber_type"], image["viber_image"]) == ("image", "https://example.com/chart.png")
    assert (text["viber_type"], text["viber_message"]) == ("text", "Report")


def test_remote_attachment_with_link_is_one_rich_message(alphasms_sandbox, ep):
    a = apprise.Apprise()
    a.add(f"alphasms://{alphasms_sandbox.key}@Shop/0971234567?mode=viber&link=https://e.com&button=Open&{ep}")
    assert a.notify("Report", attach=apprise.AppriseAttachment("https://example.com/chart.png"))
    [item] = items(alphasms_sandbox)
    assert item["viber_type"] == "text+image+link" and item["viber_image"] == "https://example.com/chart.png"


def test_long_viber_text_is_split_to_fit_1000_characters(alphasms_sandbox, ep):
    url = f"alphasms://{alphasms_sandbox.key}@Shop/0971234567?mode=viber&{ep}"
    assert apprise.Apprise.instantiate(url).notify("word " * 500)  # 2500 characters
    texts = [item["viber_message"] for item in items(alphasms_sandbox)]
    assert len(texts) >= 3 and all(len(t) <= 1000 for t in texts)
    assert "".join(texts).replace(" ", "").count("word") >= 495  # nothing meaningful lost


def test_long_sms_goes_as_one_multipart_message(alphasms_sandbox, ep):
    assert apprise.Apprise.instantiate(f"alphasms://{alphasms_sandbox.key}@Shop/0971234567?{ep}").notify("x" * 500)
    [message] = alphasms_sandbox.messages()
    assert message["parts"] == 4 and len(message["item"]["sms_message"]) == 500


def test_notify_to_250_targets_is_ceil_250_over_batch_size_requests(alphasms_sandbox, ep):
    phones = "/".join(str(380970000000 + i) for i in range(250))
    instance = apprise.Apprise.instantiate(f"alphasms://{alphasms_sandbox.key}@Shop/{phones}?{ep}")
    assert len(instance) == math.ceil(250 / instance.batch_size) == 3
    assert instance.notify("hi")
    assert len(alphasms_sandbox.requests()) == 3 and len(alphasms_sandbox.messages()) == 250


def test_batch_no_sends_one_request_per_target(alphasms_sandbox, ep):
    instance = apprise.Apprise.instantiate(f"alphasms://{alphasms_sandbox.key}@Shop/0971234567/0501234567"
                                           f"?batch=no&{ep}")
    assert len(instance) == 2 and instance.notify("hi")
    assert len(alphasms_sandbox.requests()) == 2
    assert "batch=no" in instance.url()


def test_per_target_failure_fails_the_notify_with_the_provider_text(alphasms_sandbox, ep, caplog):
    alphasms_sandbox.balance("1.60")  # enough for one SMS of two
    instance = apprise.Apprise.instantiate(f"alphasms://{alphasms_sandbox.key}@Shop/0971234567/0501234567?{ep}")
    assert instance.notify("hi") is False
    assert "Failed to send AlphaSMS notification to 380501234567: Insufficient funds" in caplog.text
    assert len(alphasms_sandbox.messages()) == 1


def test_access_denied_logs_the_provider_text(alphasms_sandbox, ep, caplog):
    instance = apprise.Apprise.instantiate(f"alphasms://wrong@Shop/0971234567?{ep}")
    assert instance.notify("hi") is False
    assert "Access denied" in caplog.text and alphasms_sandbox.messages() == []


def test_endpoint_falls_back_to_the_environment(alphasms_sandbox, monkeypatch):
    monkeypatch.setenv("ALPHASMS_API_URL", alphasms_sandbox.api_url)
    assert apprise.Apprise.instantiate(f"alphasms://{alphasms_sandbox.key}@Shop/0971234567").notify("hi")
    assert len(alphasms_sandbox.messages()) == 1


def test_plugin_hooks_fire_for_apprise_sends(alphasms_sandbox, ep):
    seen = []

    class Hooks:
        @hookimpl
        def alphasms_prepare_message(self, message):
            message.text = "[ops] " + message.text

        @hookimpl
        def alphasms_message_sent(self, message, result):
            seen.append((message.phone, result.ok))

    pm = get_plugin_manager()
    pm.register(Hooks(), name="test-hooks")
    try:
        assert apprise.Apprise.instantiate(f"alphasms://{alphasms_sandbox.key}@Shop/0971234567?{ep}").notify("hi")
    finally:
        pm.unregister(name="test-hooks")
    assert seen == [(380971234567, True)]
    assert items(alphasms_sandbox)[0]["sms_message"] == "[ops] hi"


async def test_async_notify(alphasms_sandbox, ep):
    a = apprise.Apprise()
    a.add(f"alphasms://{alphasms_sandbox.key}@Shop/0971234567/0501234567?{ep}")
    assert await a.async_notify("async hello")
    assert len(alphasms_sandbox.messages()) == 2


def test_yaml_config_with_tags(alphasms_sandbox, ep, tmp_path):
    config = tmp_path / "apprise.yml"
    config.write_text(f"""
urls:
  - "alphasms://{alphasms_sandbox.key}@Shop/0971234567?{ep}":
      tag: ops
  - "alphasms://{alphasms_sandbox.key}@Shop/0501234567?mode=viber&{ep}":
      tag: sales
""")
    ac = apprise.AppriseConfig()
    ac.add(str(config))
    a = apprise.Apprise()
    a.add(ac)
    assert a.notify("ops only", tag="ops")
    assert [m["phone"] for m in alphasms_sandbox.messages()] == [380971234567]


def test_text_config_with_tags(alphasms_sandbox, ep, tmp_path):
    config = tmp_path / "apprise.txt"
    config.write_text(f"ops=alphasms://{alphasms_sandbox.key}@Shop/0971234567?{ep}\n"
                      f"sales=alphasms://{alphasms_sandbox.key}@Shop/0501234567?{ep}\n")
    ac = apprise.AppriseConfig()
    ac.add(str(config))
    a = apprise.Apprise()
    a.add(ac)
    assert a.notify("to sales", tag="sales")
    assert [m["phone"] for m in alphasms_sandbox.messages()] == [380501234567]


def _clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALPHASMS", "APPRISE"))}
    env.update(HOME=extra.pop("HOME", env.get("HOME", "/tmp")), **extra)
    return env


def test_the_real_apprise_cli_sends_in_one_request(alphasms_sandbox, tmp_path):
    url = f"alphasms://{alphasms_sandbox.key}@Sender/380971234567/0501234567?endpoint={alphasms_sandbox.api_url}"
    result = subprocess.run([APPRISE, "-vv", "-b", "Привіт", url], capture_output=True, text=True, timeout=60,
                            env=_clean_env(HOME=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert len(alphasms_sandbox.requests()) == 1
    assert [i["sms_message"] for i in items(alphasms_sandbox)] == ["Привіт", "Привіт"]


def test_the_real_apprise_cli_reports_access_denied(alphasms_sandbox, tmp_path):
    url = f"alphasms://wrong@Sender/380971234567?endpoint={alphasms_sandbox.api_url}"
    result = subprocess.run([APPRISE, "-v", "-b", "hi", url], capture_output=True, text=True, timeout=60,
                            env=_clean_env(HOME=str(tmp_path)))
    assert result.returncode != 0
    assert "Access denied" in result.stdout + result.stderr


def test_a_broken_alphasms_notify_never_breaks_apprise(tmp_path):
    fake = tmp_path / "alphasms_notify"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise RuntimeError('broken install')\n")
    result = subprocess.run([sys.executable, "-c", "import apprise; print(apprise.__version__)"],
                            capture_output=True, text=True, timeout=60, env=_clean_env(PYTHONPATH=str(tmp_path)))
    assert result.returncode == 0 and result.stdout.strip() == apprise.__version__, result.stderr


def test_unrelated_programs_do_not_import_apprise_or_alphasms():
    code = "import sys, json; print(json.dumps(sorted(m for m in sys.modules if 'apprise' in m or 'alphasms' in m)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env=_clean_env())
    assert result.stdout.strip() == '["_alphasms_notify_apprise_hook"]'


def test_shim_install_and_uninstall_for_another_apprise(alphasms_sandbox, tmp_path):
    plugin_dir = tmp_path / "plugins"
    env = _clean_env(HOME=str(tmp_path), ALPHASMS_NOTIFY_LOAD_PLUGINS="")
    alphasms = str(Path(sys.executable).parent / "alphasms")
    out = subprocess.run([alphasms, "apprise", "install", "--path", str(plugin_dir)], capture_output=True,
                         text=True, env=env, timeout=60)
    assert out.returncode == 0 and (plugin_dir / "alphasms_notify_shim.py").exists()
    # an Apprise that cannot see this environment's hook: interpreter started with -S (no .pth files)
    code = (
        "import sys; sys.path[:0] = [p for p in sys.argv[1].split(':') if p];"
        "import apprise; a = apprise.Apprise(asset=apprise.AppriseAsset(plugin_paths=[sys.argv[2]]));"
        "print(a.add(sys.argv[3]), bool(a.notify('via shim')))"
    )
    import sysconfig

    paths = ":".join([sysconfig.get_paths()["purelib"]])
    url = f"alphasms://{alphasms_sandbox.key}@Shop/0971234567?endpoint={alphasms_sandbox.api_url}"
    ran = subprocess.run([sys.executable, "-S", "-c", code, paths, str(plugin_dir), url], capture_output=True,
                         text=True, env=env, timeout=60, cwd=tmp_path)
    assert ran.stdout.strip() == "True True", ran.stderr
    assert [m["item"]["sms_message"] for m in alphasms_sandbox.messages()] == ["via shim"]
    removed = subprocess.run([alphasms, "apprise", "uninstall", "--path", str(plugin_dir)], capture_output=True,
                             text=True, env=env, timeout=60)
    assert removed.returncode == 0 and not (plugin_dir / "alphasms_notify_shim.py").exists()


def test_the_apprise_backend_does_not_import_telegram():
    code = ("import sys, alphasms_notify.apprise.plugin, apprise; "
            "print(any(m == 'telegram' or m.startswith('telegram.') for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env=_clean_env())
    assert result.stdout.strip() == "False", result.stderr
