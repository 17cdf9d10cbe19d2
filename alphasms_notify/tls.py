"""TLS contexts made once per process and trust setting, not once per client.

Building a context loads the whole CA bundle: about 30 ms of CPU, more than a
whole send to a nearby provider. httpx builds one for every ``Client`` it
makes, and a client is made per Apprise notification (Apprise calls the
backend once per chunk of a long message: 66 contexts for one 100,000-character
body), per CLI run and per bot request pool. A context is safe to share
between clients and threads once made; the trust it carries (the bundle,
``SSL_CERT_FILE``/``SSL_CERT_DIR`` as httpx reads them, or no check at all) is
the key it is kept under, so a changed setting gets its own context.
"""

from __future__ import annotations

import functools
import os
import ssl

__all__ = ["ssl_context", "context_for"]


def ssl_context(verify: bool | ssl.SSLContext = True, cafile: str | None = None) -> ssl.SSLContext:
    """The context for ``verify`` (True: certifi's bundle or the environment's, as httpx chooses; False: no
    check) or for the CA bundle ``cafile``; a context passed in is returned as it is."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    if not verify:
        return _unchecked()
    if cafile:
        return _trusting(cafile, None)
    return _trusting(os.environ.get("SSL_CERT_FILE") or None,
                     None if os.environ.get("SSL_CERT_FILE") else os.environ.get("SSL_CERT_DIR") or None)


def context_for(url: str, verify: bool | ssl.SSLContext = True) -> ssl.SSLContext:
    """:func:`ssl_context` for a client of ``url``; a plain ``http://`` URL (the sandbox) has no certificate
    to check, so its client loads no CA bundle: 80 ms of every CLI command against the sandbox. (The
    clients follow no redirect, so such a client never reaches an https URL with it.)"""
    if url.lower().startswith("http://") and not isinstance(verify, ssl.SSLContext):
        return _unchecked()
    return ssl_context(verify)


@functools.lru_cache(maxsize=16)
def _trusting(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    if cafile is None and capath is None:
        import certifi

        cafile = certifi.where()
    return ssl.create_default_context(cafile=cafile, capath=capath)


@functools.lru_cache(maxsize=1)
def _unchecked() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
