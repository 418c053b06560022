"""The console's aiohttp application: sessions, CSRF, roles, and the login and logout routes.

Every request passes `guard`:
- `/login` and `/static/*` are open; everything else needs a session (cookie `pingfan_session`,
  HttpOnly, SameSite=Lax, Secure when `[web] base_url` is https). Without one, a page
  redirects to `/login?next=...` and `/api/*` answers 401.
- Every POST carries a hidden `csrf_token`: the session's own; on `/login`, the one of the
  `pingfan_login` cookie set with the form (double submit). A wrong or missing one is 403.
- Only editors may POST (besides `/logout`); a viewer's POST is 403.
Answers carry a Content-Security-Policy that allows this origin only: no CDN, no font or
script from elsewhere can load even if a template tried.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from alerts.safe_text import mask
from alerts.web import accounts
from alerts.web.texts import Texts
from alerts.web.views import ResultCache, local_time, number, percent
from monitor.config import Config
from monitor.store import Store
from monitor.store.console import ConsoleQueries, WebSession

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "pingfan_session"
LOGIN_COOKIE = "pingfan_login"
OPEN_PATHS = ("/login", "/static/")
MAX_TRACKED_NAMES = 10_000  # failed-login counters kept in memory
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'"
)
# A hash to check against when the account does not exist, so that an unknown name takes
# as long to refuse as a wrong password.
_NO_SUCH_USER = accounts.hash_password("not a password of anyone", salt=b"\0" * 16)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Console:
    """What every handler shares; the store is used from the loop's thread only."""

    config: Config
    store: Store
    queries: ConsoleQueries
    now: Callable[[], datetime]
    texts: Texts
    templates: jinja2.Environment
    live_every: float = 2.0  # real seconds between two looks for news (server-sent events)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    failures: dict[str, int] = field(default_factory=dict)  # failed logins in a row, per name
    threads: ResultCache = field(default_factory=ResultCache)
    keywords: ResultCache = field(  # a thread's, by its newest comment
        default_factory=lambda: ResultCache(max_age=600.0, max_entries=1024)
    )

    @property
    def secure_cookies(self) -> bool:
        return self.config.web.base_url.lower().startswith("https://")

    @property
    def zone(self) -> str:
        return self.config.ui.timezone


CONSOLE = web.AppKey("console", Console)
SESSION = web.RequestKey("session", WebSession)


def console_of(request: web.Request) -> Console:
    return request.app[CONSOLE]


def session_of(request: web.Request) -> WebSession:
    session = request.get(SESSION)
    assert session is not None, "guard lets no request without a session through"
    return session


def build_app(
    config: Config,
    store: Store,
    *,
    now: Callable[[], datetime] | None = None,
    live_every: float = 2.0,
    stop: asyncio.Event | None = None,
) -> web.Application:
    from alerts.web import live, pages

    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    texts = Texts(config.ui.language)
    console = Console(
        config=config,
        store=store,
        queries=store.console,
        now=now or (lambda: datetime.now(UTC)),
        texts=texts,
        templates=templates,
        live_every=live_every,
        stop=stop or asyncio.Event(),
    )
    templates.globals.update(
        t=texts,
        lang=texts.language,
        when=lambda moment: local_time(moment, config.ui.timezone),
        num=number,
        pct=percent,
        mask=mask,
    )
    app = web.Application(middlewares=[guard])
    app[CONSOLE] = console
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_static("/static/", HERE / "static", append_version=True)
    pages.add_routes(app)
    live.add_routes(app)

    async def on_shutdown(app: web.Application) -> None:
        console.stop.set()  # server-sent event streams end

    app.on_shutdown.append(on_shutdown)
    return app


def compile_templates(app: web.Application) -> None:
    """Compile every page's template now (about half a second on a loaded machine), so that
    the first view of each page after a start does not pay for it (`serve` calls this)."""
    templates = app[CONSOLE].templates
    for name in templates.list_templates(extensions=["html"]):
        templates.get_template(name)


# --- rendering ----------------------------------------------------------------------------


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    console = console_of(request)
    session = request.get(SESSION)
    body = console.templates.get_template(template).render(
        user=session.user if session else None,
        role=session.role if session else None,
        can_write=bool(session and session.role == "editor"),
        csrf_token=session.csrf_token if session else context.pop("csrf_token", ""),
        path=request.path,
        # where this page's live updates start: nothing stored after it is missed
        live_after=console.queries.newest_alert_id() if session else 0,
        live_mark=",".join(map(str, console.queries.content_mark())) if session else "",
        **context,
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def redirect(location: str) -> web.Response:
    """See Other: after a POST the browser GETs the page (no resubmission on reload)."""
    return web.Response(status=303, headers={"Location": location})


def refuse(request: web.Request, status: int, key: str, **values: Any) -> web.Response:
    """An error page (or, under /api/, a JSON error) with a message from the catalogue."""
    message = console_of(request).texts(key, **values)
    if request.path.startswith("/api/"):
        return web.json_response({"error": message}, status=status)
    return render(request, "error.html", status=status, message=message)


# --- the guard ------------------------------------------------------------------------------


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    console = console_of(request)
    response = await _guarded(request, handler, console)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    return response


async def _guarded(request: web.Request, handler: Handler, console: Console) -> web.StreamResponse:
    if request.path.startswith(OPEN_PATHS):
        return await handler(request)
    token = request.cookies.get(SESSION_COOKIE)
    session = console.queries.session(accounts.token_hash(token), console.now()) if token else None
    if session is None:
        if request.path.startswith("/api/"):
            return web.json_response({"error": "log in first"}, status=401)
        if request.method != "GET":
            return web.Response(status=401, text="log in first")
        target = request.path_qs if request.path != "/" else ""
        query = "?" + urllib.parse.urlencode({"next": target}) if target else ""
        return redirect("/login" + query)
    request[SESSION] = session
    if request.method == "POST":
        form = await request.post()
        if not accounts.same_token(_field(form, "csrf_token"), session.csrf_token):
            log.warning("refused a POST to %s by %s: bad CSRF token", request.path, session.user)
            return refuse(request, 403, "error.csrf")
        if session.role != "editor" and request.path != "/logout":
            log.warning("refused a POST to %s by viewer %s", request.path, session.user)
            return refuse(request, 403, "error.forbidden")
    return await handler(request)


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


# --- login and logout -----------------------------------------------------------------------


def _safe_next(target: str) -> str:
    """Only a path of this site (never `//elsewhere` or a scheme) is followed after login."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


async def login_form(request: web.Request, error: str | None = None) -> web.Response:
    token = accounts.new_token()
    response = render(
        request,
        "login.html",
        status=401 if error else 200,
        error=error,
        next=_safe_next(request.query.get("next", "/")),
        csrf_token=token,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        secure=console_of(request).secure_cookies,
        path="/login",
        max_age=3600,
    )
    return response


async def login(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    form = await request.post()
    if not accounts.same_token(_field(form, "csrf_token"), request.cookies.get(LOGIN_COOKIE)):
        return await login_form(request, console.texts("login.expired"))
    name = _field(form, "username").strip().lower()
    password = _field(form, "password")
    known = console.queries.credentials(name)
    stored = known[1] if known else _NO_SUCH_USER
    matches = await asyncio.to_thread(accounts.verify_password, password, stored)
    if known is None or not matches:
        if len(console.failures) >= MAX_TRACKED_NAMES:  # names made up by the thousand
            console.failures.clear()
        failures = console.failures.get(name, 0) + 1
        console.failures[name] = failures
        log.warning("failed login for %r from %s (%d in a row)", name, request.remote, failures)
        await asyncio.sleep(accounts.login_delay(failures))
        return await login_form(request, console.texts("login.failed"))
    console.failures.pop(name, None)
    token = accounts.new_token()
    now = console.now()
    lifetime = timedelta(seconds=console.config.web.session_lifetime)
    console.queries.open_session(
        accounts.token_hash(token), name, accounts.new_token(), now, now + lifetime
    )
    log.info("%s logged in to the console", name)
    response = redirect(_safe_next(_field(form, "next") or "/"))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        secure=console.secure_cookies,
        path="/",
        max_age=int(lifetime.total_seconds()),
    )
    response.del_cookie(LOGIN_COOKIE, path="/login")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    console.queries.close_session(accounts.token_hash(token))
    response = redirect("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response
