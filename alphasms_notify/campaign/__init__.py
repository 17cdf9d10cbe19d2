"""Campaigns: a send to many people that survives a crash, waits for the right hours and stops at the money.

:func:`create_campaign` stores the plan (every recipient's message, prepared, checked, with its id)
before anything is sent; :func:`run_campaign` sends what is left, each recipient exactly once, however
often it is killed and run again, and by several runners at once on PostgreSQL. The time rules are in
:mod:`.plan`, the rows in :mod:`alphasms_notify.store.campaigns`.
"""

from __future__ import annotations

from .create import Created, create_campaign
from .plan import DEFAULT_TZ, PlanError, opens_at, parse_moment, parse_window
from .runner import RunResult, run_campaign

__all__ = ["create_campaign", "run_campaign", "Created", "RunResult", "PlanError", "DEFAULT_TZ", "opens_at",
           "parse_moment", "parse_window"]
