"""Runtime state: each platform's circuit and each source's schedule and last outcome."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.models import from_iso, to_utc_iso
from monitor.store.connection import Queries


@dataclass(frozen=True)
class CircuitRow:
    platform: str
    state: str  # closed | open | half_open
    reason: str
    open_until: datetime | None
    cooldown: float
    probes: int


@dataclass(frozen=True)
class SourceRow:
    name: str
    platform: str
    due_at: datetime | None
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    last_status: str | None
    failures: int
    last_rows: int
    last_requests: int


def _time(text: str | None) -> datetime | None:
    return from_iso(text) if text else None


def _iso(moment: datetime | None) -> str | None:
    return to_utc_iso(moment) if moment else None


class RuntimeQueries(Queries):
    def circuit(self, platform: str) -> CircuitRow | None:
        row = self._named(
            "SELECT platform, state, reason, open_until, cooldown, probes FROM circuits"
            " WHERE platform = ?",
            (platform,),
        ).fetchone()
        if row is None:
            return None
        return CircuitRow(
            platform=row["platform"],
            state=row["state"],
            reason=row["reason"],
            open_until=_time(row["open_until"]),
            cooldown=row["cooldown"],
            probes=row["probes"],
        )

    def save_circuit(self, circuit: CircuitRow, now: datetime) -> None:
        with self.sql.atomic():
            self.sql.execute(
                "INSERT INTO circuits (platform, state, reason, open_until, cooldown, probes,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (platform) DO UPDATE SET"
                " state = excluded.state, reason = excluded.reason,"
                " open_until = excluded.open_until, cooldown = excluded.cooldown,"
                " probes = excluded.probes, updated_at = excluded.updated_at",
                (
                    circuit.platform,
                    circuit.state,
                    circuit.reason,
                    _iso(circuit.open_until),
                    circuit.cooldown,
                    circuit.probes,
                    to_utc_iso(now),
                ),
            )

    def circuits(self) -> list[CircuitRow]:
        names = [
            r[0]
            for r in self.sql.execute("SELECT platform FROM circuits ORDER BY platform").fetchall()
        ]
        return [row for name in names if (row := self.circuit(name)) is not None]

    def source(self, name: str) -> SourceRow | None:
        row = self._named(
            f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE name = ?", (name,)
        ).fetchone()
        return _source_row(row) if row else None

    def sources(self) -> list[SourceRow]:
        rows = self._named(
            f"SELECT {_SOURCE_COLUMNS} FROM sources ORDER BY platform, name"
        ).fetchall()
        return [_source_row(row) for row in rows]

    def bring_forward(self, name: str, due_at: datetime) -> bool:
        """Make source `name` due at `due_at` if it was due later (True if it moved). A
        source that never ran is due anyway."""
        row = self.source(name)
        if row is None or row.due_at is None or row.due_at <= due_at:
            return False
        with self.sql.atomic():
            self.sql.execute(
                "UPDATE sources SET due_at = ? WHERE name = ?", (to_utc_iso(due_at), name)
            )
        return True

    def record_source_run(
        self,
        name: str,
        platform: str,
        *,
        status: str,
        at: datetime,
        due_at: datetime,
        rows: int = 0,
        requests: int = 0,
        error: str | None = None,
    ) -> None:
        """One source run's outcome and its next due time, in one statement."""
        ok = status == "ok"
        with self.sql.atomic():
            self.sql.execute(
                "INSERT INTO sources (name, platform, due_at, last_run_at, last_success_at,"
                " last_error_at, last_error, last_status, failures, last_rows, last_requests)"
                " VALUES (:name, :platform, :due, :at, :success, :error_at, :error, :status,"
                " :failed, :rows, :requests)"
                " ON CONFLICT (name) DO UPDATE SET due_at = :due, last_run_at = :at,"
                " last_success_at = coalesce(:success, sources.last_success_at),"
                " last_error_at = coalesce(:error_at, sources.last_error_at),"
                " last_error = coalesce(:error, sources.last_error), last_status = :status,"
                " failures = CASE WHEN :ok = 1 THEN 0 ELSE sources.failures + :failed END,"
                " last_rows = :rows, last_requests = :requests",
                {
                    "name": name,
                    "platform": platform,
                    "due": to_utc_iso(due_at),
                    "at": to_utc_iso(at),
                    "success": to_utc_iso(at) if ok else None,
                    "error_at": to_utc_iso(at) if error else None,
                    "error": error,
                    "status": status,
                    "ok": ok,
                    "failed": 0 if ok or status == "skipped" else 1,
                    "rows": rows,
                    "requests": requests,
                },
            )


_SOURCE_COLUMNS = (
    "name, platform, due_at, last_run_at, last_success_at, last_error_at, last_error,"
    " last_status, failures, last_rows, last_requests"
)


def _source_row(row: Mapping[str, Any]) -> SourceRow:
    return SourceRow(
        name=row["name"],
        platform=row["platform"],
        due_at=_time(row["due_at"]),
        last_run_at=_time(row["last_run_at"]),
        last_success_at=_time(row["last_success_at"]),
        last_error_at=_time(row["last_error_at"]),
        last_error=row["last_error"],
        last_status=row["last_status"],
        failures=row["failures"],
        last_rows=row["last_rows"],
        last_requests=row["last_requests"],
    )
