"""What README shows is what the package gives: every name it imports from ``alphasms_notify`` exists,
``__all__`` lists exactly the public names, and each loads."""

from __future__ import annotations

import re
from pathlib import Path

import alphasms_notify

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _readme_names() -> set[str]:
    names: set[str] = set()
    for block in re.findall(r"from alphasms_notify import \(?([^)\n]*(?:\n[^)\n]*)*?)\)?\n", README):
        names |= {n.strip() for n in block.replace("\n", ",").split(",") if n.strip().isidentifier()}
    return names


def test_every_name_readme_imports_from_the_package_is_there():
    names = _readme_names()
    assert {"AlphaSMS", "Sms", "Viber", "ViberSms"} <= names  # the parser found README's imports
    missing = sorted(n for n in names if not hasattr(alphasms_notify, n))
    assert missing == []
    assert names <= set(alphasms_notify.__all__)


def test_rcs_and_calls_are_public_as_readme_says():
    from alphasms_notify import CallOtp, OtpResult, Rcs, RcsSms

    assert Rcs("0971234567", "hi").type == "rcs" and RcsSms.type == "rcs+sms"
    assert CallOtp and OtpResult
    assert "`Rcs`, `RcsSms`" in README


def test_all_lists_only_names_that_load():
    for name in alphasms_notify.__all__:
        assert getattr(alphasms_notify, name) is not None, name


def test_the_clients_read_nothing_from_the_environment_and_show_every_option(monkeypatch):
    import inspect
    import pydoc

    from alphasms_notify import AlphaSMS, AsyncAlphaSMS
    from alphasms_notify.defaults import DEFAULT_API_URL

    monkeypatch.setenv("ALPHASMS_API_URL", "http://elsewhere.example/api")
    monkeypatch.setenv("ALPHASMS_API_KEY", "from-the-environment")
    with AlphaSMS("KEY") as sms:
        assert sms.api_url == DEFAULT_API_URL and DEFAULT_API_URL in repr(sms)
    for client in (AlphaSMS, AsyncAlphaSMS):
        params = inspect.signature(client).parameters
        assert {"timeout", "deadline", "retries", "sms_sender", "verify", "plugins"} <= set(params)
        assert "options" not in params
        text = pydoc.plain(pydoc.render_doc(client))
        assert "timeout: 'float' = 10.0" in text
        for name, member in inspect.getmembers(client, inspect.isfunction):
            if not name.startswith("_"):
                assert member.__doc__, f"{client.__name__}.{name} has no docstring"


def test_every_exception_the_package_raises_is_an_alphasms_error():
    from alphasms_notify import AlphaSMS, AlphaSMSError
    from alphasms_notify.phone import InvalidPhone, normalize_phone
    from alphasms_notify.settings import ConfigError, load_settings
    from alphasms_notify.verify import VerificationError

    assert all(issubclass(e, AlphaSMSError) and issubclass(e, ValueError)
               for e in (InvalidPhone, ConfigError, VerificationError))
    for attempt in (lambda: normalize_phone("12"), lambda: AlphaSMS(""), lambda: AlphaSMS("k", timeout=0),
                    lambda: load_settings("/nonexistent/alphasms.toml")):
        try:
            attempt()
        except Exception as exc:  # noqa: BLE001 - the point: whatever it is, it is one of ours
            assert isinstance(exc, AlphaSMSError), repr(exc)
        else:
            raise AssertionError("no error")
