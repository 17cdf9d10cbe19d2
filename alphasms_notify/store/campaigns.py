"""Campaigns: the plan stored before anything is sent, and each recipient's state (see alphasms_notify.campaign).

A recipient is ``pending`` (never tried), ``sending`` (claimed by a runner, whose lease says until when; the
row keeps its state with the runner as its owner), ``sent``, ``failed`` (with the reason), ``unknown`` (the
provider may have accepted it: settled by its id before anything is resent), ``expired`` (``--until``
passed) or ``skipped``. A claim takes recipients no
live runner holds, in one transaction, so two runners never hold one recipient; what a dead runner held
is claimed again as *maybe sent*.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..db import Database
from ..sqltext import int_among

__all__ = ["Campaigns", "CampaignRow", "Claimed", "CampaignExists", "Post", "STATES", "owner_alive", "done_count"]

STATES = ("pending", "sending", "sent", "failed", "unknown", "expired", "skipped")
_TODO = "('pending', 'sending', 'unknown')"  # not ended yet ('sending': a row claimed before migration 14)
_DONE = ("sent", "failed", "expired", "skipped")  # ended for good: what a progress bar counts


def _shown(t: str = "") -> str:
    """The state as shown (``t``: the table's alias and a dot): a claimed row keeps its state, pending or
    unknown, with its runner as owner until it is settled, and is shown as ``sending``."""
    return f"CASE WHEN {t}owner IS NOT NULL AND {t}state IN ('pending', 'unknown') THEN 'sending' ELSE {t}state END"


def done_count(counts: dict[str, int]) -> int:
    """The recipients of :meth:`Campaigns.counts` that ended for good (a bar's progress)."""
    return sum(counts[state] for state in _DONE)


class CampaignExists(ValueError):
    """A campaign of that name is already stored."""


@dataclass(frozen=True)
class CampaignRow:
    name: str
    created_at: float
    channel: str
    state: str  # scheduled, running, paused, finished, canceled (held is computed from the time)
    reason: str | None
    start_at: float | None
    until_at: float | None
    daily_window: str | None
    tz: str
    rate: int | None
    total: int


class Claimed(NamedTuple):
    """A recipient a runner took to send (a tuple: a claim makes thousands at a time)."""

    seq: int
    id: int
    phone: int
    payload: str
    maybe_sent: bool  # tried before without a known end: the provider is asked about its id first


@dataclass(frozen=True)
class Post:
    """A message in a chat that shows a campaign's progress (edited as it goes; 0 while being posted, -1 once
    it said its last word)."""

    campaign: str
    chat_id: int
    thread_id: int | None
    message_id: int
    shown: str | None  # the text it shows now
    state: str | None  # the campaign's state last announced in this chat


def owner_alive(owner: str) -> bool:
    """Whether a runner's lease owner (``host:pid:...``) is alive; on another host it may be (its lease decides)."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _row(r: dict[str, Any]) -> CampaignRow:
    return CampaignRow(r["name"], r["created_at"], r["channel"], r["state"], r["reason"], r["start_at"],
                       r["until_at"], r["daily_window"], r["tz"], r["rate"], r["total"])


class Campaigns:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, campaign: CampaignRow, recipients: Iterable[tuple[int, int, str]]) -> None:
        """Store the plan: the campaign and every (id, phone, payload), numbered in order, all or nothing."""
        with self._db.tx() as tx:
            if tx.one("SELECT 1 AS x FROM campaigns WHERE name = ?", (campaign.name,)):
                raise CampaignExists(f"a campaign named {campaign.name!r} exists already")
            c = campaign
            tx.run("INSERT INTO campaigns (name, created_at, channel, state, reason, start_at, until_at, daily_window,"
                   " tz, rate, total) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (c.name, c.created_at, c.channel, c.state, c.reason, c.start_at, c.until_at, c.daily_window, c.tz,
                    c.rate, c.total))
            # each distinct payload once (a campaign of one text: one row of it, not 100,000 copies to write
            # now and read back at every claim); a recipient names its payload by number
            pids: dict[str, int] = {}
            rows = [(c.name, seq, msg_id, phone, "", pids.setdefault(payload, len(pids)))
                    for seq, (msg_id, phone, payload) in enumerate(recipients)]
            tx.many("INSERT INTO campaign_payloads (campaign, pid, payload) VALUES (?, ?, ?)",
                    [(c.name, pid, payload) for payload, pid in pids.items()])
            tx.many("INSERT INTO campaign_recipients (campaign, seq, id, phone, payload, pid)"
                    " VALUES (?, ?, ?, ?, ?, ?)", rows)  # every value a placeholder: one JSON text on PostgreSQL

    def add_skipped(self, name: str, rows: Iterable[tuple[int, str, str]], start: int) -> None:
        """Recipients a plugin refused when the campaign was made: (phone, payload, why), numbered after the rest."""
        with self._db.tx() as tx:
            tx.many("INSERT INTO campaign_recipients (campaign, seq, id, phone, payload, state, error)"
                    " VALUES (?, ?, 0, ?, ?, 'skipped', ?)",
                    [(name, start + i, phone, payload, why) for i, (phone, payload, why) in enumerate(rows)])

    def get(self, name: str) -> CampaignRow | None:
        row = self._db.one("SELECT * FROM campaigns WHERE name = ?", (name,))
        return _row(row) if row else None

    def all(self) -> list[CampaignRow]:
        return [_row(r) for r in self._db.all("SELECT * FROM campaigns ORDER BY created_at, name")]

    def set_state(self, name: str, state: str, reason: str | None = None, *,
                  only_from: tuple[str, ...] | None = None) -> bool:
        """Move the campaign to ``state`` (from one of ``only_from``, if given); whether it moved."""
        sql, args = "UPDATE campaigns SET state = ?, reason = ? WHERE name = ?", [state, reason, name]
        if only_from:
            sql += f" AND state IN ({', '.join('?' * len(only_from))})"
            args += list(only_from)
        with self._db.tx() as tx:
            return tx.run(sql, args) > 0

    def claim(self, name: str, owner: str, lease: float, limit: int, now: float,
              alive: Callable[[str], bool] = owner_alive, *, after: int = -1) -> list[Claimed]:
        """Take up to ``limit`` recipients to send: first what a runner whose lease ended, or who died, still
        holds, then those tried without a known end (``unknown``), then the never tried, from past ``after``
        (where this runner's last claim ended) and then from the start.

        A claim marks its rows with the owner only, and the owner's lease (``campaign_holders``, one row a
        runner): a row's state moves once, when it is settled. (Moving it to ``sending`` and out again kept
        an index of the state busy twice a recipient: a third of a 100,000-recipient run.) A row with an
        owner and no end is *sending*; what a dead runner held is claimed again as *maybe sent*."""
        lock = self._db.for_update + (" SKIP LOCKED" if self._db.engine == "postgresql" else "")
        taken: list[tuple[Any, ...]] = []  # (seq, id, phone, payload, pid, maybe sent)

        def pick(where: str, args: list[Any], maybe: bool) -> int:
            rows = tx.tuples(f"SELECT seq, id, phone, payload, pid FROM campaign_recipients WHERE campaign = ?"
                             f" AND {where} ORDER BY seq LIMIT {int(limit - len(taken))}{lock}", [name, *args])
            taken.extend((*r, maybe) for r in rows)
            return len(rows)

        with self._db.tx() as tx:
            holders = tx.all("SELECT owner, until FROM campaign_holders WHERE campaign = ?", (name,))
            gone = [h["owner"] for h in holders if h["until"] < now or not alive(h["owner"])]
            marks = ", ".join("?" * len(gone))
            drained = bool(gone) and pick(f"owner IN ({marks}) AND state IN {_TODO}", gone, True) < limit
            if len(taken) < limit:
                pick("state = 'unknown' AND owner IS NULL", [], True)
            if len(taken) < limit:  # past where this runner's last claim ended: an ordered walk of what is left
                pick("seq > ? AND state = 'pending' AND owner IS NULL", [after], False)
            if len(taken) < limit and after >= 0:  # given back, or another runner's lapsed lease's
                pick("seq <= ? AND state = 'pending' AND owner IS NULL", [after], False)
            for among, seqs in int_among(tx.engine, "seq", [r[0] for r in taken]):
                tx.run(f"UPDATE campaign_recipients SET owner = ?, tried = tried + 1 WHERE campaign = ? AND {among}",
                       [owner, name, *seqs])
            if drained:  # the dead hold nothing more (a row another claim has locked meanwhile is still theirs,
                # as this statement sees it: then their lease stays, until a later claim finds nothing of theirs)
                tx.run(f"DELETE FROM campaign_holders WHERE campaign = ? AND owner IN ({marks}) AND NOT EXISTS"
                       f" (SELECT 1 FROM campaign_recipients r WHERE r.campaign = campaign_holders.campaign"
                       f" AND r.owner = campaign_holders.owner AND r.state IN {_TODO})", [name, *gone])
            if taken:
                tx.run("INSERT INTO campaign_holders (campaign, owner, until) VALUES (?, ?, ?) ON CONFLICT"
                       " (campaign, owner) DO UPDATE SET until = excluded.until", (name, owner, now + lease))
            payloads = self._payloads(tx, name, {r[4] for r in taken if r[4] is not None})
        return [Claimed(seq, msg_id, phone, payload if pid is None else payloads[pid], maybe)
                for seq, msg_id, phone, payload, pid, maybe in taken]

    @staticmethod
    def _payloads(tx: Any, name: str, pids: set[int]) -> dict[int, str]:
        """The payloads of these numbers (a recipient stored before migration 13 has its own, inline)."""
        found: dict[int, str] = {}
        for among, args in int_among(tx.engine, "pid", sorted(pids)):
            found.update((r["pid"], r["payload"]) for r in tx.all(
                f"SELECT pid, payload FROM campaign_payloads WHERE campaign = ? AND {among}", [name, *args]))
        if missing := sorted(pids - found.keys()):  # a damaged store: claim nothing rather than fail mid-batch
            raise ValueError(f"campaign {name!r}: the store has lost the message(s) numbered {missing[:5]} that "
                             "its recipients name (campaign_payloads); nothing was claimed")
        return found

    def settle(self, name: str, owner: str, ends: Iterable[tuple[int, str, str | None]], now: float) -> int:
        """Record how each claimed recipient ended: (seq, state, error). Only rows this owner still holds."""
        groups: dict[tuple[str, str | None], list[int]] = {}
        for seq, state, error in ends:
            groups.setdefault((state, error), []).append(seq)
        with self._db.tx() as tx:
            for (state, error), seqs in groups.items():  # a batch usually ends one way: one statement
                done_at = now if state not in ("pending", "unknown") else None
                for among, args in int_among(tx.engine, "seq", seqs):
                    tx.run(f"UPDATE campaign_recipients SET state = ?, error = ?, done_at = ?, owner = NULL,"
                           f" lease_until = NULL WHERE campaign = ? AND owner = ? AND {among}",
                           [state, error, done_at, name, owner, *args])
        return sum(len(seqs) for seqs in groups.values())

    def expire(self, name: str, now: float) -> int:
        """Recipients never sent when ``--until`` passed: ``expired``, not sent (what may have gone out stays)."""
        with self._db.tx() as tx:
            return tx.run("UPDATE campaign_recipients SET state = 'expired', error = 'the campaign''s end passed',"
                          " done_at = ? WHERE campaign = ? AND state = 'pending' AND owner IS NULL", (now, name))

    def retry_failed(self, name: str, new_id: Callable[[], int]) -> int:
        """Failed recipients back to pending, each with a new id (the old one is the failed message's)."""
        with self._db.tx() as tx:
            failed = tx.all("SELECT seq FROM campaign_recipients WHERE campaign = ? AND state = 'failed'", (name,))
            tx.many("UPDATE campaign_recipients SET state = 'pending', error = NULL, id = ?, done_at = NULL"
                    " WHERE campaign = ? AND seq = ?", [(new_id(), name, r["seq"]) for r in failed])
        return len(failed)

    def counts(self, name: str) -> dict[str, int]:
        found = {s: 0 for s in STATES}
        for r in self._db.all(f"SELECT {_shown()} AS state, COUNT(*) AS n FROM campaign_recipients WHERE campaign = ?"
                              " GROUP BY 1", (name,)):
            found[r["state"]] = int(r["n"])
        return found

    def todo(self, name: str) -> int:
        row = self._db.one(f"SELECT COUNT(*) AS n FROM campaign_recipients WHERE campaign = ? AND state IN {_TODO}",
                           (name,))
        return int(row["n"]) if row else 0

    def delivery(self, name: str) -> dict[str, int]:
        """From the status poll (the tracked messages): delivered, read, replied, undelivered."""
        rows = self._db.all("SELECT m.status AS status, COUNT(*) AS n FROM campaign_recipients r JOIN messages m"
                            " ON m.id = r.id WHERE r.campaign = ? AND r.state = 'sent' GROUP BY m.status", (name,))
        by = {str(r["status"] or "").upper(): int(r["n"]) for r in rows}
        replied = self._db.one("SELECT COUNT(DISTINCT p.message_id) AS n FROM replies p JOIN campaign_recipients r"
                               " ON p.message_id = r.id WHERE r.campaign = ?", (name,))
        return {"delivered": by.get("DELIVERED", 0) + by.get("READ", 0), "read": by.get("READ", 0),
                "replied": int(replied["n"]) if replied else 0,
                "undelivered": sum(n for s, n in by.items() if s in ("UNDELIVERED", "UNDELIVERABLE", "EXPIRED",
                                                                     "REJECTED"))}

    def rate_used(self, name: str, since: float) -> list[tuple[float, int]]:
        """(when, how many) sends of this campaign since ``since``, oldest first: the rate across runners."""
        rows = self._db.all("SELECT at, n FROM campaign_sends WHERE campaign = ? AND at >= ? ORDER BY at",
                            (name, since))
        return [(r["at"], int(r["n"])) for r in rows]

    def take_rate(self, name: str, rate: int, want: int, now: float) -> int:
        """Reserve up to ``want`` sends within ``rate`` a minute (all runners together); how many were granted."""
        with self._db.tx() as tx:
            if self._db.engine == "postgresql":
                tx.one("SELECT pg_advisory_xact_lock(hashtext(?)) AS locked", (f"campaign-rate:{name}",))
            used = tx.one("SELECT COALESCE(SUM(n), 0) AS n FROM campaign_sends WHERE campaign = ? AND at > ?",
                          (name, now - 60))
            granted = max(0, min(want, rate - int(used["n"] if used else 0)))
            if granted:
                tx.run("INSERT INTO campaign_sends (campaign, at, n) VALUES (?, ?, ?)", (name, now, granted))
            tx.run("DELETE FROM campaign_sends WHERE campaign = ? AND at < ?", (name, now - 3600))
        return granted

    def give_back(self, name: str, now: float, n: int) -> None:
        """Sends reserved and not made (fewer recipients were left)."""
        if n > 0:
            with self._db.tx() as tx:
                tx.run("INSERT INTO campaign_sends (campaign, at, n) VALUES (?, ?, ?)", (name, now, -n))

    def recipients(self, name: str) -> Iterator[dict[str, Any]]:
        """Every recipient, in order, for the report (with the tracked status where there is one)."""
        yield from self._db.all(f"SELECT r.seq, r.id, r.phone, {_shown('r.')} AS state, r.error, r.tried, r.done_at,"
                                " m.status AS delivery FROM campaign_recipients r LEFT JOIN messages m ON m.id = r.id"
                                " WHERE r.campaign = ? ORDER BY r.seq", (name,))

    # -- the bot's progress messages -------------------------------------------------------------

    def posts(self) -> list[Post]:
        return [Post(r["campaign"], r["chat_id"], r["thread_id"], r["message_id"], r["shown"], r["state"])
                for r in self._db.all("SELECT * FROM campaign_posts ORDER BY campaign, chat_id")]

    def take_post(self, name: str, chat_id: int, thread_id: int | None, state: str | None) -> bool:
        """Reserve the progress message of ``name`` in a chat: True for the one instance that should post it."""
        with self._db.tx() as tx:
            return tx.run("INSERT INTO campaign_posts (campaign, chat_id, thread_id, message_id, state)"
                          " VALUES (?, ?, ?, 0, ?) ON CONFLICT (campaign, chat_id) DO NOTHING",
                          (name, chat_id, thread_id, state)) > 0

    def set_post(self, name: str, chat_id: int, thread_id: int | None, message_id: int, shown: str,
                 state: str | None) -> None:
        """This message now shows ``name`` in that chat (a newer /campaign replaces the older one)."""
        with self._db.tx() as tx:
            tx.run("INSERT INTO campaign_posts (campaign, chat_id, thread_id, message_id, shown, state)"
                   " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (campaign, chat_id) DO UPDATE SET"
                   " thread_id = excluded.thread_id, message_id = excluded.message_id, shown = excluded.shown,"
                   " state = excluded.state", (name, chat_id, thread_id, message_id, shown, state))

    def shown(self, name: str, chat_id: int, text: str) -> None:
        with self._db.tx() as tx:
            tx.run("UPDATE campaign_posts SET shown = ? WHERE campaign = ? AND chat_id = ?", (text, name, chat_id))

    def announce(self, name: str, chat_id: int, was: str | None, now: str) -> bool:
        """Move the state announced in a chat from ``was`` to ``now``: True for the one instance that moved it
        (and so tells the chat)."""
        with self._db.tx() as tx:
            return tx.run("UPDATE campaign_posts SET state = ? WHERE campaign = ? AND chat_id = ? AND"
                          " state IS NOT DISTINCT FROM ?" if self._db.engine == "postgresql" else
                          "UPDATE campaign_posts SET state = ? WHERE campaign = ? AND chat_id = ? AND state IS ?",
                          (now, name, chat_id, was)) > 0

    def retire_post(self, name: str, chat_id: int) -> None:
        """The message says no more (its campaign ended, or it is gone): kept as -1, so none is posted again."""
        with self._db.tx() as tx:
            tx.run("UPDATE campaign_posts SET message_id = -1 WHERE campaign = ? AND chat_id = ?", (name, chat_id))

    def last_done(self, name: str) -> float | None:
        """When a recipient of ``name`` last ended (sent, failed, expired): how recently it finished."""
        row = self._db.one("SELECT MAX(done_at) AS at FROM campaign_recipients WHERE campaign = ?", (name,))
        return float(row["at"]) if row and row["at"] is not None else None
