"""What a start or a check answers: a ``status`` a program branches on, and the ``message`` a person reads."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

from ..errors import AlphaSMSError

__all__ = ["Started", "Checked", "StartStatus", "CheckStatus", "VerificationError"]

# pending: a code went out (or may have: see message); rate_limited: a limit applied, retry_after says when;
# refused: the phone's country is not in [verify] countries; failed: no channel could send it
StartStatus = Literal["pending", "rate_limited", "refused", "failed"]
CheckStatus = Literal["approved", "wrong_code", "expired", "max_attempts_reached", "not_found", "canceled",
                      "rate_limited"]


class VerificationError(AlphaSMSError, ValueError):
    """The phone is not a phone number (or the key file is damaged); nothing was sent or checked."""


class _Answer:
    """``ok`` (the status that means yes) and ``reason`` (the name the message had before answers carried a
    status), shared by both answers."""

    _YES: ClassVar[str]
    status: str
    message: str

    @property
    def ok(self) -> bool:
        return self.status == self._YES

    @property
    def reason(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """``ok`` and every field: what ``--json`` prints and a web app can return as it is."""
        return {"ok": self.ok, **asdict(self)}  # type: ignore[call-overload]  # the subclasses are dataclasses


@dataclass(frozen=True)
class Started(_Answer):
    """The answer to a start: ``status`` ``pending`` when a code went out by ``via`` until ``expires_at``."""

    _YES: ClassVar[str] = "pending"
    status: StartStatus
    phone: int
    message: str
    via: str | None = None
    expires_at: float | None = None
    retry_after: float | None = None  # seconds to wait, when a limit applied


@dataclass(frozen=True)
class Checked(_Answer):
    """The answer to a check: ``status`` ``approved`` when the code was right (it is used up then)."""

    _YES: ClassVar[str] = "approved"
    status: CheckStatus
    phone: int
    message: str
    attempts_left: int | None = None
    retry_after: float | None = None  # rate_limited: seconds until this caller may check again
