"""Live updates by server-sent events: `GET /api/events`.

Every `live_every` seconds the stream looks at the store: each new alert is sent as an `alert`
event (JSON: id, kind, severity, title, time), and new posts or comments as one `threads`
event; the page shows the alert and refreshes its live parts (console.js). A comment line
every 15 s keeps proxies from closing an idle stream. The stream ends when the console stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web

from alerts.web.app import console_of
from alerts.web.views import local_time
from monitor.store.console import ConsoleQueries

KEEPALIVE_EVERY = 15.0


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/events", events)


def _event(name: str, data: dict[str, Any], event_id: int | None = None) -> bytes:
    # json.dumps never emits a raw newline, so one `data:` line holds the whole event
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _start(request: web.Request, queries: ConsoleQueries) -> tuple[int, tuple[int, int]]:
    """Where the stream starts: after the alert the page showed last (`after`, or the
    `Last-Event-ID` a reconnecting browser sends) and the content mark it was rendered at;
    without them, now."""
    after = request.headers.get("Last-Event-ID") or request.query.get("after", "")
    last_alert = int(after) if after.isdigit() else queries.newest_alert_id()
    mark = request.query.get("mark", "").split(",")
    if len(mark) == 2 and all(part.isdigit() for part in mark):
        return last_alert, (int(mark[0]), int(mark[1]))
    return last_alert, queries.content_mark()


async def events(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # nginx: pass each event on at once
        }
    )
    last_alert, last_content = _start(request, console.queries)
    quiet = 0.0
    try:
        await response.prepare(request)
        await response.write(b": connected\n\n")
        while not console.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(console.stop.wait(), console.live_every)
            if console.stop.is_set():
                break
            sent = False
            now = console.now()
            for alert in reversed(console.queries.alerts(now, after_id=last_alert, limit=50)):
                last_alert = max(last_alert, alert.id)
                await response.write(
                    _event(
                        "alert",
                        {
                            "id": alert.id,
                            "kind": alert.kind,
                            "severity": alert.severity,
                            "title": alert.title,
                            "time": local_time(alert.created_at, console.zone),
                        },
                        alert.id,
                    )
                )
                sent = True
            mark = console.queries.content_mark()
            if mark != last_content:
                last_content = mark
                await response.write(_event("threads", {"posts": mark[0], "comments": mark[1]}))
                sent = True
            quiet = 0.0 if sent else quiet + console.live_every
            if quiet >= KEEPALIVE_EVERY:
                await response.write(b": keep-alive\n\n")
                quiet = 0.0
    except ConnectionResetError:
        pass  # the page went away
    return response
