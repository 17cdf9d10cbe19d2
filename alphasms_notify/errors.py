"""One exception family for everything this package raises.

Catching :class:`AlphaSMSError` catches all of them; the tree says which
failures happened before anything was sent (safe to fix and resend) and which
happened on the wire::

    AlphaSMSError
    ├── ValidationError        bad input, found before any request was made: nothing of the call was sent
    ├── MessageRejected        raised by a plugin's alphasms_prepare_message; never reaches the caller:
    │                          that message gets a failed Outcome ("rejected: ...") and the others go out
    ├── RequestError           a request as a whole failed after every retry; .outcomes has one Outcome
    │   │                      per message of the call: ok, failed, or unknown (may have been accepted)
    │   ├── APIError           the provider answered {"success": false, "error": ...}
    │   │   └── AccessDenied   ... with "Access denied" (wrong or blocked key)
    │   ├── TransportError     network failure or timeout, after every retry
    │   └── ProtocolError      an answer that is not the documented JSON
    ├── ItemError              one item of a batch failed (raised by Outcome.unwrap())
    ├── InvalidPhone           (phone.py) a text that is not a phone number, and why
    ├── ConfigError            (settings.py) a config file or setting that cannot be used
    └── VerificationError      (verify) a phone a code cannot be started or checked for

Per-item failures inside a successful request are *not* raised by batch calls:
each item gets its own :class:`~alphasms_notify.results.Outcome`, so one bad
item never hides the others. Exception texts never contain the API key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .results import Outcome

__all__ = [
    "AlphaSMSError",
    "ValidationError",
    "MessageRejected",
    "OptedOut",
    "RequestError",
    "APIError",
    "AccessDenied",
    "TransportError",
    "ProtocolError",
    "ItemError",
]


class AlphaSMSError(Exception):
    """Base of every error raised by alphasms_notify."""


class ValidationError(AlphaSMSError, ValueError):
    """A message cannot be sent as given; nothing of its batch was sent.

    ``problems`` lists every ``(message_label, field, reason)`` found, so a
    caller can report them all at once instead of fixing one per run.
    """

    def __init__(self, problems: list[tuple[str, str, str]]) -> None:
        self.problems = problems
        lines = [f"{label}: {field}: {reason}" for label, field, reason in problems]
        super().__init__("; ".join(lines) if lines else "invalid message")

    @property
    def field(self) -> str:
        return self.problems[0][1] if self.problems else ""

    @property
    def reason(self) -> str:
        return self.problems[0][2] if self.problems else ""


class MessageRejected(AlphaSMSError):
    """Raised by a plugin's ``alphasms_prepare_message`` to stop one message.

    The core catches it and gives that message a failed outcome with
    ``rejected: <reason>``; the other messages of the call still go out.
    """

    def __init__(self, reason: str, *, field: str = "message") -> None:
        self.reason, self.field = reason, field
        super().__init__(reason)

    @property
    def outcome_error(self) -> str:
        """The error of the message's failed outcome."""
        return f"rejected: {self.reason}"


class OptedOut(MessageRejected):
    """The phone opted out of this message's category: its outcome is ``opted out (since DATE)``."""

    @property
    def outcome_error(self) -> str:
        return self.reason


class RequestError(AlphaSMSError):
    """A request as a whole failed after every retry.

    ``outcomes`` has one :class:`~alphasms_notify.results.Outcome` per message
    of the call, in the caller's order, so nothing is hidden: those answered
    by earlier requests (ok or failed), those of the failed request (*unknown*
    when the request may have reached the provider, failed when it cannot
    have), and those never tried (failed, "not sent"). Empty when the error
    was raised outside a call.
    """

    outcomes: list[Outcome[Any]]

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.outcomes = []

    @property
    def partial(self) -> list[Outcome[Any]]:
        """The outcomes that are known: ok, or failed with a reason other than "not sent" (older name)."""
        return [o for o in self.outcomes if o.ok or o.unknown or not (o.error or "").startswith("not sent")]

    @property
    def unknown(self) -> list[Outcome[Any]]:
        """Outcomes the provider may have accepted: check them with ``status`` before sending again."""
        return [o for o in self.outcomes if o.unknown]


class APIError(RequestError):
    """The provider refused the whole request; ``error`` is its own text."""

    def __init__(self, error: str) -> None:
        self.error = error
        super().__init__(f"AlphaSMS refused the request: {error}")


class AccessDenied(APIError):
    """The API key was not accepted."""


class TransportError(RequestError):
    """The provider could not be reached or did not answer in time."""


class ProtocolError(RequestError):
    """The provider's answer is not the JSON the reference documents."""


class ItemError(AlphaSMSError):
    """One item failed; ``error`` is the provider's text for it."""

    def __init__(self, error: str, *, label: str = "item") -> None:
        self.error = error
        self.label = label
        super().__init__(f"{label}: {error}")
