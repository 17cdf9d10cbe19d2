"""TLS contexts are made once per trust setting: a client per Apprise chunk or CLI run does not reload the CAs."""

from __future__ import annotations

import ssl

import trustme

from alphasms_notify import AlphaSMS
from alphasms_notify.tls import ssl_context


def test_one_context_per_trust_setting(tmp_path, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    default = ssl_context()
    assert ssl_context(True) is default and default.verify_mode == ssl.CERT_REQUIRED and default.check_hostname
    unchecked = ssl_context(False)
    assert unchecked is ssl_context(False) and unchecked.verify_mode == ssl.CERT_NONE and not unchecked.check_hostname
    own = ssl.create_default_context()
    assert ssl_context(own) is own  # a context the caller made is used as it is

    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    trusting = ssl_context(True, cafile=str(bundle))
    assert trusting is ssl_context(True, cafile=str(bundle)) and trusting is not default
    assert [c["subject"] for c in trusting.get_ca_certs()] == [c["subject"] for c in ca_certs(bundle)]

    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))  # as httpx reads the environment
    assert ssl_context() is trusting


def ca_certs(bundle):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(bundle))
    return context.get_ca_certs()


def test_clients_share_the_context_instead_of_loading_the_bundle_each(monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    loads = []
    real = ssl.SSLContext.load_verify_locations
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", lambda self, *a, **k: (loads.append(a or k),
                                                                                       real(self, *a, **k))[1])
    ssl_context()  # made once in this process (possibly already)
    before = len(loads)
    for _ in range(5):
        with AlphaSMS("key", "https://alphasms.example/api/json.php") as sms:
            assert sms._http_kwargs(None)["verify"] is ssl_context()
    assert len(loads) == before


def test_the_bot_request_pools_share_it_too(tmp_path, monkeypatch):
    from alphasms_notify.bot import build_application
    from alphasms_notify.plugins import make_plugin_manager
    from alphasms_notify.settings import AlphaSMSSettings, Settings, StoreSettings, TelegramSettings

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    settings = Settings(alphasms=AlphaSMSSettings(api_key="key"),
                        telegram=TelegramSettings(token="1:token", operators=frozenset({1})),
                        store=StoreSettings(path=str(tmp_path / "bot.sqlite3")))
    loads = []
    real = ssl.SSLContext.load_verify_locations
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", lambda self, *a, **k: (loads.append(a or k),
                                                                                       real(self, *a, **k))[1])
    ssl_context()
    before = len(loads)
    for _ in range(2):
        app = build_application(settings, plugins=make_plugin_manager(defaults=()))
        assert app.bot.request is not None
    assert len(loads) == before
    # a caller shaping a pool keeps PTB's own way of building it
    build_application(settings, plugins=make_plugin_manager(defaults=()), read_timeout=7.0)
