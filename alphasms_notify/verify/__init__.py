"""Phone verification: send a one-time code, then check what the person typed.

The shape of Twilio Verify and its peers: ``start`` sends a code by the
configured channels in order (``[verify] via``: ``sms``, ``viber``,
``viber+sms``, ``rcs``, ``rcs+sms``, or ``call``, where the provider calls the
phone and the calling number ends with the code), and ``check`` compares.
:class:`Verifier` works with the sync client, :class:`AsyncVerifier` with the
async one (a web app's request handlers); both follow one set of rules.

Every answer carries a ``status`` to branch on (start: ``pending``,
``rate_limited``, ``refused``, ``failed``; check: ``approved``, ``wrong_code``,
``expired``, ``max_attempts_reached``, ``not_found``, ``canceled``,
``rate_limited``) and a ``message`` for people. The rules, from ``[verify]``:
codes go only to numbers of ``countries`` (Ukraine by default); a code lives
``ttl`` seconds and allows ``max_attempts`` tries; a phone may ask again after
``cooldown`` seconds and at most ``hourly_limit`` times an hour; one caller
(the IP or account id the app passes as ``caller``) may ask for
``caller_hourly_limit`` codes and check ``caller_hourly_checks`` an hour; at
most ``global_hourly_limit`` codes go out an hour in all.

Codes this project makes come from :mod:`secrets`; only an HMAC of each code is
stored, keyed with a secret that is not in the store (:mod:`.keys`). A check is
one transaction that reads the code's row locked, judges it, and either uses
the code up or counts the attempt: two checks at once, on any processes and
either engine, approve a code once, and the attempt limit holds however many
guess together. The limits are counted and claimed in one transaction too.

The code never leaves this package but in the message to the phone: the store
tracks that message with the code masked, so no topic notice, log or store
row shows it. Plugins hear of each start and check
(``alphasms_verification_started``, ``alphasms_verification_checked``, with
the status), never of the code.
"""

from __future__ import annotations

from .answers import Checked, CheckStatus, Started, StartStatus, VerificationError
from .keys import KEY_FILE, digest, key_path, verification_key
from .verifier import VERIFY, AsyncVerifier, Verifier

__all__ = ["Verifier", "AsyncVerifier", "Started", "Checked", "StartStatus", "CheckStatus", "VerificationError",
           "verification_key", "key_path", "KEY_FILE", "VERIFY", "digest"]
