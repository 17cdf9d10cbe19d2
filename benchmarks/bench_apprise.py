"""2. One Apprise notify to N targets through an alphasms:// URL: requests made and seconds."""

from __future__ import annotations

import math

import apprise

import alphasms_notify  # noqa: F401 - registers alphasms://
from alphasms_notify import DEFAULT_BATCH_SIZE

from .common import Figure, SandboxProcess, Timer


def run(n: int = 1000) -> list[Figure]:
    with SandboxProcess() as sandbox:
        phones = "/".join(str(380970000000 + i) for i in range(n))
        notifier = apprise.Apprise.instantiate(f"alphasms://{sandbox.key}@Shop/{phones}?endpoint={sandbox.api_url}")
        with Timer() as t:
            ok = notifier.notify("Disk full on srv1")
        requests = sandbox.request_count()
        delivered = len(sandbox.messages())
    assert ok and delivered == n, (ok, delivered)
    name = f"Apprise notify to {n} targets"
    return [
        Figure(name, "requests", requests, "requests", f"expected ceil({n}/{DEFAULT_BATCH_SIZE}) = "
               f"{math.ceil(n / DEFAULT_BATCH_SIZE)}"),
        Figure(name, "seconds", t.seconds, "s", f"{n} messages received"),
    ]
