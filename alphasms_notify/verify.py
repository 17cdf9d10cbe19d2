"""Phone verification: send a one-time code, then check what the person typed.

The shape of Twilio Verify and its peers: :meth:`Verifier.start` sends a code
by the configured channels in order (``[verify] via``: ``sms``, ``viber``,
``viber+sms``, ``rcs``, ``rcs+sms``, or ``call``, where the provider calls the
phone and the calling number ends with the code), and :meth:`Verifier.check`
compares. Codes this project makes come from :mod:`secrets`; only an HMAC of
each code is stored, with its expiry, keyed with a secret that is not in the
store (``[verify] secret``, ``ALPHASMS_VERIFY_SECRET``, or a key file made on
first use in the user's config folder, mode 0600): a 6-digit code is a
million guesses, which a copy of the store alone would otherwise answer in
milliseconds. The rules, from ``[verify]``: a code lives ``ttl`` seconds,
allows ``max_attempts`` tries, a phone may ask again only after ``cooldown``
seconds and at most ``hourly_limit`` times an hour. Every answer says which
rule applied.

A check is one transaction that reads the code's row locked, judges it, and
either uses the code up or counts the attempt: two checks at once, on any
processes and either engine, approve a code once, and the attempt limit holds
however many guess together.

The code never leaves this module but in the message to the phone: the store
tracks that message (its delivery status is followed) with the code masked,
so no topic notice, log or store row shows it. Plugins hear of each start
and check (``alphasms_verification_started``, ``alphasms_verification_checked``),
never of the code.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .messages import build
from .phone import InvalidPhone, normalize_phone
from .plugins import call_hook
from .settings import VerifySettings
from .store import Store, lease_owner

VERIFY = "verify"  # the store lease kind: a code being sent to a phone

__all__ = ["Verifier", "Started", "Checked", "VerificationError"]


class VerificationError(ValueError):
    """The phone is not a phone number; nothing was sent."""


@dataclass(frozen=True)
class Started:
    """The outcome of :meth:`Verifier.start`: ``ok`` with the channel and expiry, or why not."""

    ok: bool
    phone: int
    via: str | None
    reason: str
    expires_at: float | None = None
    retry_after: float | None = None  # seconds to wait, when a limit applied


@dataclass(frozen=True)
class Checked:
    """The outcome of :meth:`Verifier.check`: ``ok`` when the code was right, else the reason."""

    ok: bool
    phone: int
    reason: str
    attempts_left: int | None = None


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


def _digest(key: bytes, phone: int, code: str, salt: str) -> str:
    return hmac.new(key, f"{phone}:{salt}:{code}".encode(), hashlib.sha256).hexdigest()


class Verifier:
    """Start and check verifications with one client (sync) and one store."""

    def __init__(self, client: Any, store: Store, settings: VerifySettings | None = None, *,
                 plugins: Any = None, clock: Callable[[], float] = time.time) -> None:
        self.client, self.store = client, store
        self.settings = settings or VerifySettings()
        self.plugins = plugins if plugins is not None else getattr(client, "plugins", None)
        self.clock = clock
        self._key = verification_key(self.settings)

    def _phone(self, phone: str | int) -> int:
        try:
            return normalize_phone(phone)
        except InvalidPhone as exc:
            raise VerificationError(str(exc)) from None

    def _limited(self, phone: int, now: float) -> Started | None:
        s = self.settings
        sent = self.store.codes.sends_since(phone, now - 3600)
        if sent and now - sent[-1] < s.cooldown:
            wait = s.cooldown - (now - sent[-1])
            return Started(False, phone, None, f"cooldown: wait {wait:.0f} s before asking for another code "
                                               f"(cooldown {s.cooldown:g} s)", retry_after=wait)
        if len(sent) >= s.hourly_limit:
            wait = sent[0] + 3600 - now
            return Started(False, phone, None, f"hourly limit: {s.hourly_limit} codes an hour for this phone; "
                                               f"try again in {wait / 60:.0f} min", retry_after=wait)
        return None

    def start(self, phone: str | int, via: str | list[str] | None = None) -> Started:
        """Send a code to ``phone`` by ``via`` (or the configured channels, in order, until one works)."""
        number = self._phone(phone)
        owner = lease_owner()
        # one start per phone at a time, also across processes sharing the store: the limits hold
        if not self.store.leases.try_lease(VERIFY, number, owner, 60):
            result = Started(False, number, None, "busy: a code for this phone is being sent right now; "
                                                  "try again in a moment", retry_after=5)
            call_hook(self.plugins, "alphasms_verification_started", phone=number, via="", ok=False,
                      reason=result.reason)
            return result
        try:
            return self._start(number, via)
        finally:
            self.store.leases.release(VERIFY, [number], owner)

    def _start(self, number: int, via: str | list[str] | None) -> Started:
        now = self.clock()
        result = self._limited(number, now)
        if result is None:
            channels = [via] if isinstance(via, str) else list(via or self.settings.via)
            reasons = []
            for channel in channels:
                code, error = self._send(number, channel)
                if code is None:
                    reasons.append(f"{channel}: {error}")
                    continue
                salt = secrets.token_hex(16)
                expires = now + self.settings.ttl
                self.store.codes.save(number, _digest(self._key, number, code, salt), salt, channel, now, expires)
                result = Started(True, number, channel, f"code sent by {channel}, valid {self.settings.ttl:g} s",
                                 expires_at=expires)
                break
            else:
                result = Started(False, number, None, "not sent: " + "; ".join(reasons))
        call_hook(self.plugins, "alphasms_verification_started", phone=number, via=result.via or "",
                  ok=result.ok, reason=result.reason)
        return result

    def _send(self, phone: int, channel: str) -> tuple[str | None, str]:
        """The code the phone will see (None if it did not go out) and, if not, why."""
        from .errors import AlphaSMSError

        try:
            if channel == "call":
                return self.client.call_otp(phone).code, ""
            code = "".join(secrets.choice("0123456789") for _ in range(self.settings.code_length))
            text = self.settings.template.format(code=code)
            # tracked (its delivery followed) with the code masked: see store.records.tracked_text
            [outcome] = self.client.send(build(channel, phone, text, meta={"source": "verify", "redact": [code]}))
        except AlphaSMSError as exc:
            return None, str(exc)
        if not outcome.ok:
            return None, outcome.error or "failed"
        return code, ""

    def check(self, phone: str | int, code: str) -> Checked:
        """Whether ``code`` is the one sent to ``phone``; a right code is used up."""
        number = self._phone(phone)
        result = self._check(number, code.strip())
        call_hook(self.plugins, "alphasms_verification_checked", phone=number, ok=result.ok, reason=result.reason)
        return result

    def _check(self, phone: int, code: str) -> Checked:
        s = self.settings

        def matches(row: dict[str, Any]) -> bool:
            return hmac.compare_digest(_digest(self._key, phone, code, row["salt"]), row["code_hash"])

        verdict, attempts = self.store.codes.check(phone, self.clock(), s.max_attempts, matches)
        if verdict == "approved":
            return Checked(True, phone, "approved")
        if verdict == "none":
            return Checked(False, phone, "no code was sent to this phone, or it was already used")
        if verdict == "expired":
            return Checked(False, phone, "expired: ask for a new code", 0)
        if verdict == "locked":
            return Checked(False, phone, f"too many wrong codes ({s.max_attempts}): ask for a new code", 0)
        left = max(0, s.max_attempts - attempts)
        return Checked(False, phone, f"wrong code; {left} attempt(s) left" if left else
                       f"wrong code; too many wrong codes ({s.max_attempts}): ask for a new code", left)
