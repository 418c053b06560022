"""Leases and request budgets shared by several workers on one PostgreSQL database.

A lease is a row of `leases` (migration p004): a name (`source:weibo:comments`,
`identity:weibo:3f2a…`), the worker that holds it and until when. A worker claims a lease
that is free, its own, or expired, in one statement that skips a row another transaction has
locked (`FOR UPDATE SKIP LOCKED`), so claims never wait on each other. Every time is the
database server's (`now()`, `clock_timestamp()`): machines whose clocks disagree still agree
on who holds what. A change of owner bumps the lease's `fence`; a write made under a lease
checks owner, fence and expiry in its own transaction and holds the row (`FOR SHARE`) until
it commits, so a worker that lost a lease cannot commit after the new owner took it.

A request budget is one row per platform identity: GCRA's next slot (seconds since the
epoch), taken in one `UPDATE … RETURNING`, so any number of workers together keep to
`requests_per_minute` with at most `burst` back to back.

The queries are PostgreSQL's only: on SQLite one process holds the database (its run lock),
and the runtime (monitor/runtime/leases.py) never asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.store.connection import Queries


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


_CLAIM = """
UPDATE leases SET
    fence = CASE WHEN owner IS NOT DISTINCT FROM :owner THEN fence ELSE fence + 1 END,
    taken_at = CASE WHEN owner IS NOT DISTINCT FROM :owner THEN taken_at ELSE now() END,
    owner = :owner,
    expires_at = now() + make_interval(secs => :seconds)
WHERE name = (
    SELECT name FROM leases
    WHERE name = :name AND (owner IS NULL OR owner = :owner OR expires_at < now())
    FOR UPDATE SKIP LOCKED
)
RETURNING fence
"""

_TAKE_REQUEST = """
UPDATE request_budgets SET next_at = greatest(next_at, t.at) + :interval
FROM (SELECT coalesce(CAST(:at AS DOUBLE PRECISION),
                      extract(epoch FROM clock_timestamp())::double precision) AS at) AS t
WHERE identity = :identity AND EXISTS (
    SELECT 1 FROM leases
    WHERE name = :lease AND owner = :owner AND expires_at > now()
)
RETURNING greatest(next_at - :burst * :interval - t.at, 0)
"""


class LeaseQueries(Queries):
    def claim(self, name: str, owner: str, seconds: float) -> Held | None:
        """Hold `name` for `seconds` from now (the server's now) if it is free, ours, or
        expired; None when another worker holds it (or is just writing under it)."""
        self.sql.execute("INSERT INTO leases (name) VALUES (?) ON CONFLICT DO NOTHING", (name,))
        row = self.sql.execute(
            _CLAIM, {"name": name, "owner": owner, "seconds": seconds}
        ).fetchone()
        return Held(name, owner, int(row[0])) if row else None

    def renew(self, held: list[Held], seconds: float) -> set[str]:
        """Extend the leases still ours (same fence); returns the names renewed."""
        renewed: set[str] = set()
        for lease in held:
            row = self.sql.execute(
                "UPDATE leases SET expires_at = now() + make_interval(secs => ?)"
                " WHERE name = ? AND owner = ? AND fence = ? AND expires_at > now()"
                " RETURNING name",
                (seconds, lease.name, lease.owner, lease.fence),
            ).fetchone()
            if row:
                renewed.add(lease.name)
        return renewed

    def release(self, held: Held) -> None:
        """Give `held` up at once (a no-op when it is no longer ours)."""
        self.sql.execute(
            "UPDATE leases SET owner = NULL, expires_at = NULL"
            " WHERE name = ? AND owner = ? AND fence = ?",
            (held.name, held.owner, held.fence),
        )

    def release_all(self, owner: str) -> int:
        """Everything `owner` holds, given up (a clean stop)."""
        result = self.sql.execute(
            "UPDATE leases SET owner = NULL, expires_at = NULL WHERE owner = ?", (owner,)
        )
        return max(result.rowcount, 0)

    def check_held(self, held: Held) -> None:
        """Inside a write transaction: raise LeaseLost unless `held` is still ours and
        unexpired; the row stays locked against a takeover until the transaction ends."""
        row = self.sql.execute(
            "SELECT 1 FROM leases WHERE name = ? AND owner = ? AND fence = ?"
            " AND expires_at > now() FOR SHARE",
            (held.name, held.owner, held.fence),
        ).fetchone()
        if row is None:
            raise LeaseLost(f"{held.name}: the lease passed to another worker")

    def lease(self, name: str) -> LeaseRow | None:
        row = self._named(
            "SELECT name, owner, expires_at, fence, taken_at FROM leases WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            return None
        return LeaseRow(row["name"], row["owner"], row["expires_at"], row["fence"], row["taken_at"])

    def leases(self, prefix: str = "") -> list[LeaseRow]:
        names = self.sql.execute(
            "SELECT name FROM leases WHERE name LIKE ? ORDER BY name",
            (prefix.replace("%", r"\%").replace("_", r"\_") + "%",),
        ).fetchall()
        return [row for (name,) in names if (row := self.lease(name)) is not None]

    def take_request(
        self,
        identity: str,
        held: Held,
        *,
        interval: float,
        burst: int,
        at: float | None = None,
    ) -> float | None:
        """Reserve the identity's next request slot: seconds to wait for it (0: now). `at`
        is the time now in seconds (None: the server's clock). None when `held`, the
        identity's lease, is no longer this worker's: nothing was reserved."""
        self.sql.execute(
            "INSERT INTO request_budgets (identity, next_at) VALUES (?, 0) ON CONFLICT DO NOTHING",
            (identity,),
        )
        row = self.sql.execute(
            _TAKE_REQUEST,
            {
                "identity": identity,
                "lease": held.name,
                "owner": held.owner,
                "interval": interval,
                "burst": burst,
                "at": at,
            },
        ).fetchone()
        return float(row[0]) if row else None

    def server_time(self) -> float:
        """The database server's clock, in seconds since the epoch."""
        row = self.sql.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()
        return float(row[0])
