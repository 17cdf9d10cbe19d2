"""Another project's test suite gets the ``alphasms_sandbox`` fixture from the entry point alone."""

from __future__ import annotations

SCRATCH_TEST = '''
import httpx


def send_signup_code(api_url, key, phone, code):
    """What a user's own application might do: its own HTTP call, not our client."""
    body = {"auth": key, "data": [{"type": "sms", "id": 1, "phone": phone, "sms_signature": "MyApp",
                                   "sms_message": f"Your code is {code}"}]}
    return httpx.post(api_url, json=body).json()


def test_signup_sends_a_code(alphasms_sandbox):
    answer = send_signup_code(alphasms_sandbox.api_url, alphasms_sandbox.key, "380971234567", 4321)
    assert answer["data"][0]["success"] is True
    [message] = alphasms_sandbox.messages()
    assert message["item"]["sms_message"] == "Your code is 4321"


def test_each_test_starts_clean_and_faults_work(alphasms_sandbox):
    assert alphasms_sandbox.messages() == []
    alphasms_sandbox.fault("http500")
    assert httpx.post(alphasms_sandbox.api_url, json={"auth": alphasms_sandbox.key, "data": []}).status_code == 500
'''


def test_scratch_project_uses_the_fixture(pytester):
    pytester.makepyfile(test_scratch=SCRATCH_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_the_plugin_loads_without_the_server_stack():
    """Every pytest run in an environment with this package imports the plugin: it must not bring aiohttp."""
    import subprocess
    import sys

    code = ("import sys, alphasms_notify.sandbox.pytest_plugin\n"
            "print(sorted(m for m in ('aiohttp', 'httpx', 'telegram', 'alphasms_notify.sandbox.simulator')"
            " if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr
