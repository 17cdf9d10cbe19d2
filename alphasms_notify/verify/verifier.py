"""Start and check verifications: one body, carried out by a sync and an async shell (as the client is).

The rules are written once, as generators that yield "call the client" and
"call the store" and receive the answers (:mod:`alphasms_notify.flow` drives
them): :class:`Verifier` carries those out directly, :class:`AsyncVerifier`
awaits the async client and runs the store's calls in a thread. A web app
verifying phones in its request handlers uses the async one.

The order of a start: the phone's country (no store needed, so a refused
number costs nothing), one start per phone at a time (a store lease), then
the limits, counted and claimed in one transaction (per phone with a
cooldown, per caller, in all), then the channels in order until one sends.
A claimed send that did not go out is given back.
"""

from __future__ import annotations

import hmac
import inspect
import secrets
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from ..channels import Channel
from ..errors import AlphaSMSError
from ..flow import adrive, drive
from ..messages import build
from ..phone import InvalidPhone, normalize_phone, region_of
from ..plugins import call_hook
from ..settings import VerifySettings
from ..store import Store, lease_owner
from ..store.codes import Limits
from .answers import Checked, Started, VerificationError
from .keys import digest, verification_key

__all__ = ["Verifier", "AsyncVerifier", "VERIFY"]

VERIFY = "verify"  # the store lease kind: a code being sent to a phone
BUSY_RETRY = 5.0  # seconds to wait when another start for the phone is under way

_LIMITS = {
    "cooldown": lambda s, wait: f"cooldown: wait {wait:.0f} s before asking for another code "
                                f"(cooldown {s.cooldown:g} s)",
    "phone": lambda s, wait: f"hourly limit: {s.hourly_limit} codes an hour for this phone; "
                             f"try again in {wait / 60:.0f} min",
    "caller": lambda s, wait: f"caller limit: {s.caller_hourly_limit} codes an hour for one caller; "
                              f"try again in {wait / 60:.0f} min",
    "global": lambda s, wait: f"global limit: {s.global_hourly_limit} codes an hour in all; "
                              f"try again in {wait / 60:.0f} min",
}


@dataclass(frozen=True, slots=True)
class _Client:
    """Call the client's ``name`` with ``args`` (awaited by the async shell)."""

    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class _Store:
    """Call a store method (in a thread, by the async shell: the store's calls block)."""

    method: Callable[..., Any]
    args: tuple[Any, ...]


class _NotSent(Exception):
    pass


Flow = Generator[Any, Any, Any]


class _Rules:
    """The one body of both verifiers."""

    _async = False

    def __init__(self, client: Any, store: Store, settings: VerifySettings | None = None, *,
                 plugins: Any = None, clock: Callable[[], float] = time.time) -> None:
        self.client, self.store = client, store
        self.settings = settings or VerifySettings()
        self.plugins = plugins if plugins is not None else getattr(client, "plugins", None)
        self.clock = clock
        if client is not None and inspect.iscoroutinefunction(getattr(client, "send", None)) != self._async:
            mine, other = ("AsyncVerifier", "a sync client (AlphaSMS)") if self._async else (
                "Verifier", "an async client (AsyncAlphaSMS)")
            raise VerificationError(f"{mine} was given {other}: use "
                                    f"{'Verifier' if self._async else 'AsyncVerifier'} with it")
        self._key = verification_key(self.settings)

    @staticmethod
    def _phone(phone: str | int) -> int:
        try:
            return normalize_phone(phone)
        except InvalidPhone as exc:
            raise VerificationError(str(exc)) from None

    def _limits(self) -> Limits:
        s = self.settings
        return Limits(s.cooldown, s.hourly_limit, s.caller_hourly_limit, s.global_hourly_limit)

    # -- start -----------------------------------------------------------------------

    def _start_flow(self, phone: str | int, via: str | Sequence[str] | None, caller: str | None) -> Flow:
        number = self._phone(phone)
        region = region_of(number)
        if region not in self.settings.countries:
            result = Started("refused", number, f"refused: +{number} is a number in {region or 'no country'}; "
                                                f"codes go only to {', '.join(self.settings.countries)} "
                                                "([verify] countries)")
        else:
            owner = lease_owner()
            # one start per phone at a time, also across processes sharing the store
            if not (yield _Store(self.store.leases.try_lease, (VERIFY, number, owner, 60))):
                result = Started("rate_limited", number, "busy: a code for this phone is being sent right now; "
                                                         "try again in a moment", retry_after=BUSY_RETRY)
            else:
                try:
                    result = yield from self._send_flow(number, via, caller)
                finally:
                    yield _Store(self.store.leases.release, (VERIFY, [number], owner))
        call_hook(self.plugins, "alphasms_verification_started", phone=number, via=result.via or "",
                  ok=result.ok, reason=result.message, status=result.status)
        return result

    def _send_flow(self, number: int, via: str | Sequence[str] | None, caller: str | None) -> Flow:
        now = self.clock()
        limit, wait = yield _Store(self.store.codes.reserve, (number, caller, now, self._limits()))
        if limit != "ok":
            return Started("rate_limited", number, _LIMITS[limit](self.settings, wait), retry_after=wait)
        reasons = []
        for channel in [via] if isinstance(via, str) else list(via or self.settings.via):
            try:
                code, maybe = yield from self._deliver(number, channel)
            except (AlphaSMSError, _NotSent) as exc:
                reasons.append(f"{channel}: {exc}")
                continue
            salt = secrets.token_hex(16)
            expires = now + self.settings.ttl
            yield _Store(self.store.codes.save,
                         (number, digest(self._key, number, code, salt), salt, channel, now, expires))
            said = (f"code may have been sent by {channel} (AlphaSMS's answer was lost: it works if it arrives)"
                    if maybe else f"code sent by {channel}")
            return Started("pending", number, f"{said}, valid {self.settings.ttl:g} s", via=channel,
                           expires_at=expires)
        yield _Store(self.store.codes.release, (number, now))  # nothing went out: the limits give it back
        return Started("failed", number, "not sent: " + "; ".join(reasons))

    def _deliver(self, phone: int, channel: str) -> Generator[Any, Any, tuple[str, bool]]:
        """The code the phone will see, and whether it only may have gone out (an unknown outcome: kept,
        since it works if it arrives, and no second code is sent by the next channel to replace it)."""
        if channel == "call":
            answer = yield _Client("call_otp", (phone,))
            return str(answer.code), False
        code = "".join(secrets.choice("0123456789") for _ in range(self.settings.code_length))
        text = self.settings.template.format(code=code)
        # tracked (its delivery followed) with the code masked: see store.records.tracked_text
        message = build(cast(Channel, channel), phone, text, meta={"source": "verify", "redact": [code],
                                                                   "category": "service"})
        [outcome] = yield _Client("send", (message,))
        if outcome.unknown:
            return code, True
        if not outcome.ok:
            raise _NotSent(outcome.error or "failed")
        return code, False

    # -- check -----------------------------------------------------------------------

    def _check_flow(self, phone: str | int, code: str, caller: str | None) -> Flow:
        number = self._phone(phone)
        result = yield from self._judge(number, code.strip(), caller)
        call_hook(self.plugins, "alphasms_verification_checked", phone=number, ok=result.ok,
                  reason=result.message, status=result.status)
        return result

    def _judge(self, phone: int, code: str, caller: str | None) -> Flow:
        s, now = self.settings, self.clock()
        if caller is not None and not (yield _Store(self.store.codes.count_check,
                                                    (caller, now, s.caller_hourly_checks))):
            return Checked("rate_limited", phone, f"caller limit: {s.caller_hourly_checks} checks an hour for "
                                                  "one caller; try again later", retry_after=60.0)

        def matches(row: dict[str, Any]) -> bool:
            return hmac.compare_digest(digest(self._key, phone, code, row["salt"]), row["code_hash"])

        verdict, attempts = yield _Store(self.store.codes.check, (phone, now, s.max_attempts, matches))
        if verdict == "approved":
            return Checked("approved", phone, "approved")
        if verdict == "none":
            return Checked("not_found", phone, "no code was sent to this phone, or it was already used")
        if verdict == "canceled":
            return Checked("canceled", phone, "canceled: ask for a new code", 0)
        if verdict == "expired":
            return Checked("expired", phone, "expired: ask for a new code", 0)
        if verdict == "locked":
            return Checked("max_attempts_reached", phone,
                           f"too many wrong codes ({s.max_attempts}): ask for a new code", 0)
        left = max(0, s.max_attempts - attempts)
        return Checked("wrong_code", phone, f"wrong code; {left} attempt(s) left" if left else
                       f"wrong code; too many wrong codes ({s.max_attempts}): ask for a new code", left)

    def _cancel_flow(self, phone: str | int) -> Flow:
        number = self._phone(phone)
        return bool((yield _Store(self.store.codes.cancel, (number, self.clock()))))


class Verifier(_Rules):
    """Start and check verifications with a sync client (:class:`~alphasms_notify.AlphaSMS`) and a store.

    ``settings`` (``[verify]``) holds the rules; ``plugins`` hear of each start and check (default: the
    client's); ``clock`` is for tests.
    """

    def _do(self, action: Any) -> Any:
        if isinstance(action, _Store):
            return action.method(*action.args)
        return getattr(self.client, action.name)(*action.args)

    def start(self, phone: str | int, via: str | Sequence[str] | None = None, *,
              caller: str | None = None) -> Started:
        """Send a code to ``phone`` by ``via`` (or the configured channels, in order, until one works).

        ``caller``: who asks (an IP address, an account id), for the per-caller limit. Raises
        :class:`VerificationError` only for a text that is not a phone number; everything else is a status.
        """
        return cast(Started, drive(self._start_flow(phone, via, caller), self._do))

    def check(self, phone: str | int, code: str, *, caller: str | None = None) -> Checked:
        """Whether ``code`` is the one sent to ``phone``; a right code is used up."""
        return cast(Checked, drive(self._check_flow(phone, code, caller), self._do))

    def cancel(self, phone: str | int) -> bool:
        """Void the pending code of ``phone`` (its check then says ``canceled``); False if none was pending."""
        return cast(bool, drive(self._cancel_flow(phone), self._do))


class AsyncVerifier(_Rules):
    """:class:`Verifier` for async code: the same rules with :class:`~alphasms_notify.AsyncAlphaSMS`.

    The store's calls run in a thread (``store.run``), so a web app's event loop never waits on the database.
    """

    _async = True

    async def _do(self, action: Any) -> Any:
        if isinstance(action, _Store):
            return await self.store.run(action.method, *action.args)
        return await getattr(self.client, action.name)(*action.args)

    async def start(self, phone: str | int, via: str | Sequence[str] | None = None, *,
                    caller: str | None = None) -> Started:
        """As :meth:`Verifier.start`."""
        return cast(Started, await adrive(self._start_flow(phone, via, caller), self._do))

    async def check(self, phone: str | int, code: str, *, caller: str | None = None) -> Checked:
        """As :meth:`Verifier.check`."""
        return cast(Checked, await adrive(self._check_flow(phone, code, caller), self._do))

    async def cancel(self, phone: str | int) -> bool:
        """As :meth:`Verifier.cancel`."""
        return cast(bool, await adrive(self._cancel_flow(phone), self._do))
