"""The automatic answer outside office hours: a Viber reply that comes while the desk is closed gets
``[desk] auto_reply`` by Viber, at most once per phone per closed period.

The closed period is named by the moment the hours next open (every reply of one night shares the next
morning), and the store takes it once per phone (:meth:`~alphasms_notify.store.desk.Desk.take_auto_reply`),
whichever bot instance sees the reply. The answer goes through the one road as a service message
(tracked with the source ``auto-reply``, so the phone's topic shows it went out); a STOP reply gets none.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from .hours import parse_hours
from .sections import DeskSettings
from .store import Store

__all__ = ["auto_answer"]

log = logging.getLogger("alphasms_notify.desk")


async def auto_answer(store: Store, client: Any, settings: DeskSettings, tracked: Any, sent_at: dt.datetime
                      ) -> bool:
    """Send the automatic answer to ``tracked``'s phone for a reply sent at ``sent_at``, if it is due."""
    if not (settings.auto_reply and settings.hours):
        return False
    hours = parse_hours(settings.hours, settings.tz)
    moment = sent_at.timestamp()
    if hours.is_open(moment):
        return False
    period = dt.datetime.fromtimestamp(hours.opens_at(moment), dt.UTC).isoformat(timespec="minutes")
    phone = int(tracked.phone)
    if not await store.run(store.desk.take_auto_reply, phone, period, time.time()):
        return False  # answered already this closed period
    from .messages import Viber

    message = Viber(phone, settings.auto_reply, meta={"source": "auto-reply", "category": "service"})
    [outcome] = await client.send([message])
    if not outcome.ok:
        log.warning("automatic answer to +%s not sent: %s", phone, outcome.error)
    return bool(outcome.ok)
