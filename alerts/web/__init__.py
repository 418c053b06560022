"""The team's web console: `pingfan web`, or inside `pingfan run` with `[web] enabled = true`.

- `build_app(config, store, now=...)`: the aiohttp application (app.py: sessions, CSRF,
  roles; pages.py: the pages and the editors' actions; live.py: server-sent events).
- `serve(config, store, stop, *, now, port)`: serve it until `stop` is set (the daemon task).
- `web_command(config, port)` and `user_command(...)`: the CLI's `pingfan web ...` (command.py).
"""

from __future__ import annotations

from alerts.web.command import serve, user_command, web_command

__all__ = ["serve", "user_command", "web_command"]
