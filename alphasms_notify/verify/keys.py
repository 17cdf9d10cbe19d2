"""The key codes are hashed with, kept out of the store: a copy of the store alone answers no code.

A 6-digit code is a million guesses, which a stolen store would otherwise
answer in milliseconds. The key is ``[verify] secret`` (or
``ALPHASMS_VERIFY_SECRET``), else a key file made on first use in the user's
config folder (mode 0600). Several hosts sharing one store need the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from ..settings import VerifySettings
from .answers import VerificationError

__all__ = ["KEY_FILE", "key_path", "verification_key", "digest"]

KEY_FILE = "verify.key"  # in the user's config folder, when [verify] secret is not set


def key_path() -> Path:
    import platformdirs

    return platformdirs.user_config_path("alphasms-notify") / KEY_FILE


def verification_key(settings: VerifySettings) -> bytes:
    """The key codes are hashed with: ``[verify] secret`` (or ``ALPHASMS_VERIFY_SECRET``), else the key
    file, made on first use (mode 0600; of two processes making it at once, both end with the one kept)."""
    if settings.secret:
        return settings.secret.encode()
    path = key_path()
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    draft = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        os.write(fd, secrets.token_hex(32).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(draft, path)  # whole or not at all, and never over a key another process made first
    except FileExistsError:
        pass
    finally:
        os.unlink(draft)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    key = path.read_bytes().strip()
    if len(key) < 32:
        raise VerificationError(f"the verification key file {path} is damaged (under 32 characters): "
                                "remove it to make a new one (pending codes stop working) or set [verify] secret")
    return key


def digest(key: bytes, phone: int, code: str, salt: str) -> str:
    return hmac.new(key, f"{phone}:{salt}:{code}".encode(), hashlib.sha256).hexdigest()
