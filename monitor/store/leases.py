"""Leases and request budgets shared by several workers on one PostgreSQL database.

A lease is a row of `leases` (migration p004): a name (`source:weibo:comments`,
`identity:weibo:3f2a…`), the worker that holds it and until when. A worker claims a lease
that is free, its own, or expired, in one statement that skips a row another transaction has
locked (`FOR UPDATE SKIP LOCKED`), so claims never wait on each other; a name never claimed
before gets its row in the same statement. Every time is the database server's (`now()`,
`clock_timestamp()`): machines whose clocks disagree still agree on who holds what. A change
of owner bumps the lease's `fence`; a write made under a lease checks owner, fence and expiry
in its own transaction and holds the row (`FOR SHARE`) until it commits, so a worker that
lost a lease cannot commit after the new owner took it.

A request budget is one row per platform identity: GCRA's next slot (seconds since the
epoch), taken in one `UPDATE … RETURNING`, so any number of workers together keep to
`requests_per_minute` with at most `burst` back to back.

Two connections, on purpose:
- `Leases` (claims, renewals, releases, budgets) runs on a connection of its own, async
  and in autocommit (coordination.py), so the event loop never waits on them;
- `check_held` runs on the store's own connection, synchronous, inside the store's write
  transaction: it must lock the lease row in the same transaction as the writes it guards,
  which only that connection can do.

Rows of comment threads' leases (`source:weibo:comments:<post id>`) are deleted when their
holder gives them back, and any source lease nobody has held for a day is purged now and
then, so the table keeps to what is in use. Deleting such a row is safe: the next claim
creates it again with a new fence, and owners are unique per process, so no old holder's
(owner, fence) matches it.

The queries are PostgreSQL's only: on SQLite one process holds the database (its run lock),
and the runtime (monitor/runtime/leases.py) never asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.store.backend import Backend
from monitor.store.coordination import CoordinationConnection

STALE_AFTER = "1 day"  # a source lease nobody held for this long is purged


class LeaseLost(Exception):
    """A write under a lease this worker no longer holds (it expired, another took it).
    Not a StoreError: the database is fine; the run stops and its writes roll back."""


@dataclass(frozen=True)
class Held:
    """A lease as its holder knows it: the fence is what its writes check."""

    name: str
    owner: str
    fence: int


@dataclass(frozen=True)
class LeaseRow:
    name: str
    owner: str | None
    expires_at: datetime | None
    fence: int
    taken_at: datetime | None


def check_held(sql: Backend, held: Held) -> None:
    """Inside a write transaction on the store's own connection (`sql`): raise LeaseLost
    unless `held` is still ours and unexpired; the row stays locked against a takeover until
    the transaction ends. Synchronous by design: the lock must be taken in the transaction
    of the writes it guards."""
    row = sql.execute(
        "SELECT 1 FROM leases WHERE name = ? AND owner = ? AND fence = ?"
        " AND expires_at > now() FOR SHARE",
        (held.name, held.owner, held.fence),
    ).fetchone()
    if row is None:
        raise LeaseLost(f"{held.name}: the lease passed to another worker")


_CLAIM = """
WITH taken AS (
    UPDATE leases SET
        fence = CASE WHEN owner IS NOT DISTINCT FROM %(owner)s THEN fence ELSE fence + 1 END,
        taken_at = CASE WHEN owner IS NOT DISTINCT FROM %(owner)s THEN taken_at ELSE now() END,
        owner = %(owner)s,
        expires_at = now() + make_interval(secs => %(seconds)s)
    WHERE name = (
        SELECT name FROM leases
        WHERE name = %(name)s AND (owner IS NULL OR owner = %(owner)s OR expires_at < now())
        FOR UPDATE SKIP LOCKED
    )
    RETURNING fence
), created AS (
    INSERT INTO leases (name, owner, expires_at, fence, taken_at)
    SELECT %(name)s, %(owner)s, now() + make_interval(secs => %(seconds)s), 1, now()
    WHERE NOT EXISTS (SELECT 1 FROM taken)
    ON CONFLICT (name) DO NOTHING
    RETURNING fence
)
SELECT fence FROM taken UNION ALL SELECT fence FROM created
"""

_RENEW = """
UPDATE leases SET expires_at = now() + make_interval(secs => %(seconds)s)
FROM unnest(%(names)s::text[], %(owners)s::text[], %(fences)s::bigint[]) AS held(name, owner, fence)
WHERE leases.name = held.name COLLATE "C" AND leases.owner = held.owner COLLATE "C"
    AND leases.fence = held.fence AND leases.expires_at > now()
RETURNING leases.name
"""

_TAKE_REQUEST = """
UPDATE request_budgets SET next_at = greatest(next_at, t.at) + %(interval)s
FROM (SELECT coalesce(CAST(%(at)s AS DOUBLE PRECISION),
                      extract(epoch FROM clock_timestamp())::double precision) AS at) AS t
WHERE identity = %(identity)s AND EXISTS (
    SELECT 1 FROM leases
    WHERE name = %(lease)s AND owner = %(owner)s AND expires_at > now()
)
RETURNING greatest(next_at - %(burst)s * %(interval)s - t.at, 0)
"""


class Leases:
    """The leases and budgets, on a connection of their own (async; see the docstring)."""

    def __init__(self, conn: CoordinationConnection) -> None:
        self.conn = conn

    async def claim(self, name: str, owner: str, seconds: float) -> Held | None:
        """Hold `name` for `seconds` from now (the server's now) if it is free, ours, or
        expired; None when another worker holds it (or is just writing under it)."""
        rows = await self.conn.fetch(_CLAIM, {"name": name, "owner": owner, "seconds": seconds})
        return Held(name, owner, int(rows[0][0])) if rows else None

    async def renew(self, held: list[Held], seconds: float) -> set[str]:
        """Extend the leases still ours (same fence), in one statement; returns the names
        renewed."""
        if not held:
            return set()
        rows = await self.conn.fetch(
            _RENEW,
            {
                "seconds": seconds,
                "names": [lease.name for lease in held],
                "owners": [lease.owner for lease in held],
                "fences": [lease.fence for lease in held],
            },
        )
        return {name for (name,) in rows}

    async def release(self, held: Held, *, forget: bool = False) -> None:
        """Give `held` up at once (a no-op when it is no longer ours); `forget`: delete its
        row too (a comment thread's: claimed again, it starts afresh)."""
        action = "DELETE FROM leases"
        if not forget:
            action = "UPDATE leases SET owner = NULL, expires_at = NULL"
        await self.conn.fetch(
            f"{action} WHERE name = %s AND owner = %s AND fence = %s",
            (held.name, held.owner, held.fence),
        )

    async def release_all(self, owner: str) -> int:
        """Everything `owner` holds, given up (a clean stop)."""
        rows = await self.conn.fetch(
            "UPDATE leases SET owner = NULL, expires_at = NULL WHERE owner = %s RETURNING name",
            (owner,),
        )
        return len(rows)

    async def purge_stale(self) -> int:
        """Delete the source leases (comment threads' mostly) nobody has held for a day."""
        rows = await self.conn.fetch(
            "DELETE FROM leases WHERE name LIKE 'source:%%'"
            " AND coalesce(expires_at, taken_at, '-infinity') < now() - CAST(%s AS INTERVAL)"
            " RETURNING name",
            (STALE_AFTER,),
        )
        return len(rows)

    async def open_budget(self, identity: str) -> None:
        """The identity's budget row, created once (full: its first requests go out now)."""
        await self.conn.fetch(
            "INSERT INTO request_budgets (identity, next_at) VALUES (%s, 0) ON CONFLICT DO NOTHING",
            (identity,),
        )

    async def take_request(
        self,
        identity: str,
        held: Held,
        *,
        interval: float,
        burst: int,
        at: float | None = None,
    ) -> float | None:
        """Reserve the identity's next request slot, in one statement: seconds to wait for
        it (0: now). `at` is the time now in seconds (None: the server's clock). None when
        `held`, the identity's lease, is no longer this worker's (or its budget was never
        opened): nothing was reserved."""
        rows = await self.conn.fetch(
            _TAKE_REQUEST,
            {
                "identity": identity,
                "lease": held.name,
                "owner": held.owner,
                "interval": interval,
                "burst": burst,
                "at": at,
            },
        )
        return float(rows[0][0]) if rows else None

    async def lease(self, name: str) -> LeaseRow | None:
        found = await self._leases_where("name = %s", name)
        return found[0] if found else None

    async def leases(self, prefix: str = "") -> list[LeaseRow]:
        pattern = prefix.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        return await self._leases_where("name LIKE %s", pattern)

    async def _leases_where(self, where: str, value: str) -> list[LeaseRow]:
        rows = await self.conn.fetch(
            f"SELECT name, owner, expires_at, fence, taken_at FROM leases WHERE {where}"
            " ORDER BY name",
            (value,),
        )
        return [LeaseRow(*row) for row in rows]

    async def close(self) -> None:
        await self.conn.close()
