"""Every default value, once, in a module that imports nothing (Apprise loads it at start-up).

:mod:`alphasms_notify.settings` builds the typed settings on these.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_MAX_BATCH_SIZE",
    "DEFAULT_TIMEOUT",
    "DEFAULT_RETRIES",
    "DEFAULT_MAX_CONCURRENCY",
    "DEFAULT_MAX_PARTS",
    "DEFAULT_MAX_COMMAND_AGE",
    "TELEGRAM_API_URL",
]

DEFAULT_API_URL = "https://alphasms.ua/api/json.php"
# The provider publishes no limit. 100 items keep a request near 20 KB and a
# few hundred ms of provider work, and bound what one retry has to reconcile.
DEFAULT_BATCH_SIZE = 100
# A send's batches grow from DEFAULT_BATCH_SIZE, each twice the last, up to this (unless the caller set a
# batch_size): 10,000 SMS go in 13 requests (about 200 KB at most each) instead of 100, so a distant provider
# costs a few round trips, not 25; a small send still pays for one small request.
DEFAULT_MAX_BATCH_SIZE = 1000
DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 3
DEFAULT_MAX_CONCURRENCY = 4
# A long SMS is billed per part. 10 parts hold 1,530 GSM-7 characters or 670 Cyrillic ones; a text
# past that is refused before sending rather than going out as (say) a 785-part message.
DEFAULT_MAX_PARTS = 10
TELEGRAM_API_URL = "https://api.telegram.org/bot"
# Commands older than this when they reach the bot (it was down, Telegram held them) are not run.
DEFAULT_MAX_COMMAND_AGE = 120.0

