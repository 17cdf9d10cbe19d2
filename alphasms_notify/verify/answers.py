"""What a start or a check answers: a ``status`` a program branches on, and the ``message`` a person reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..errors import AlphaSMSError

__all__ = ["Started", "Checked", "StartStatus", "CheckStatus", "VerificationError"]

# pending: a code went out (or may have: see message); rate_limited: a limit applied, retry_after says when;
# refused: the phone's country is not in [verify] countries; failed: no channel could send it
StartStatus = Literal["pending", "rate_limited", "refused", "failed"]
CheckStatus = Literal["approved", "wrong_code", "expired", "max_attempts_reached", "not_found", "canceled",
                      "rate_limited"]


class VerificationError(AlphaSMSError, ValueError):
    """The phone is not a phone number (or the key file is damaged); nothing was sent or checked."""


@dataclass(frozen=True)
class Started:
    """The answer to a start: ``status`` ``pending`` when a code went out by ``via`` until ``expires_at``."""

    status: StartStatus
    phone: int
    message: str
    via: str | None = None
    expires_at: float | None = None
    retry_after: float | None = None  # seconds to wait, when a limit applied

    @property
    def ok(self) -> bool:
        return self.status == "pending"

    @property
    def reason(self) -> str:
        """The message (the name answers had before they carried a status)."""
        return self.message

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "status": self.status, "phone": self.phone, "message": self.message,
                "via": self.via, "expires_at": self.expires_at, "retry_after": self.retry_after}


@dataclass(frozen=True)
class Checked:
    """The answer to a check: ``status`` ``approved`` when the code was right (it is used up then)."""

    status: CheckStatus
    phone: int
    message: str
    attempts_left: int | None = None
    retry_after: float | None = None  # rate_limited: seconds until this caller may check again

    @property
    def ok(self) -> bool:
        return self.status == "approved"

    @property
    def reason(self) -> str:
        """The message (the name answers had before they carried a status)."""
        return self.message

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "status": self.status, "phone": self.phone, "message": self.message,
                "attempts_left": self.attempts_left, "retry_after": self.retry_after}
