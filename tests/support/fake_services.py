"""Local fakes of the services alerts go to, on 127.0.0.1: the Telegram Bot API and the WeCom,
DingTalk, Feishu and generic webhooks, answering with their real JSON shapes and error codes.

Each service records what it accepted (`received[service]`), checks what the real one checks
(token, key, signature, size limits, HTML that parses), and can be taken down (`down`) or
made to fail the next requests (`fail_next`).

The Telegram fake parses HTML the way the Bot API does (only its tags, entities resolved) and
reports entities as the real server does, including the ones it finds in plain text (urls,
@mentions): a test can see exactly which links and mentions a message would carry.

It also plays the chat side for the team bot (alerts/bot/): a test puts a person's message or
button press in the queue (`tg_message`, `tg_press`), and `getUpdates` hands it out as the real
server does (long polling, `offset` confirms); `editMessageText`, `editMessageReplyMarkup` and
`answerCallbackQuery` check what the real ones check and keep each message's current state
(`tg_messages`). `wait_until` waits for the bot's answer, as a person would.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import re
import socket
import time
import urllib.parse
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from types import TracebackType
from typing import Any

from aiohttp import web

TELEGRAM_TOKEN = "123456:TEST-token-for-the-fake-bot-api"
WECOM_KEY = "wecom-test-key-0000"
DINGTALK_TOKEN = "dingtalk-test-token"
DINGTALK_SECRET = "SECdingtalk-test-secret"
FEISHU_TOKEN = "feishu-test-hook"
FEISHU_SECRET = "feishu-test-secret"
WEBHOOK_SECRET = "webhook-test-secret"
CHAT_ID = -1001234567890
BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "pingfan",
    "username": "pingfan_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
# People in the tests' chats: ALICE and BOB are in the team's group, MALLORY is not.
ALICE = {"id": 1001, "is_bot": False, "first_name": "Alice", "language_code": "zh-hans"}
BOB = {"id": 1002, "is_bot": False, "first_name": "Bob", "last_name": "Li"}
MALLORY = {"id": 6666, "is_bot": False, "first_name": "Mallory"}
STRANGER_CHAT_ID = -1009999999999
_TELEGRAM_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "tg-spoiler": "spoiler",
    "blockquote": "blockquote",
}
_AUTO_URL = re.compile(
    r"(?i)\b(?:https?://[^\s]+|(?:[a-z0-9-]+\.)+(?:cn|com|net|org|cc|me|io|top|xyz)\b[^\s]*)"
)
_AUTO_MENTION = re.compile(r"(?<![\w])@[A-Za-z0-9_]{1,32}")


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class TelegramHtml(HTMLParser):
    """Telegram's HTML parse mode: the text the user sees and its entities (UTF-16 offsets)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""
        self.entities: list[dict[str, Any]] = []
        self.stack: list[tuple[str, int, dict[str, str]]] = []
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TELEGRAM_TAGS:
            self.error = f'Unsupported start tag "{tag}"'
            return
        self.stack.append((tag, utf16(self.text), {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            self.error = f'Can\'t find end tag corresponding to start tag "{tag}"'
            return
        name, start, attrs = self.stack.pop()
        entity: dict[str, Any] = {
            "type": _TELEGRAM_TAGS[name],
            "offset": start,
            "length": utf16(self.text) - start,
        }
        if name == "a":
            entity["url"] = attrs.get("href", "")
        self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.text += data


def parse_telegram_html(html: str) -> tuple[str, list[dict[str, Any]]]:
    parser = TelegramHtml()
    parser.feed(html)
    parser.close()
    if parser.error or parser.stack:
        raise ValueError(parser.error or "unclosed tag")
    entities = list(parser.entities)
    for match in _AUTO_URL.finditer(parser.text):
        entities.append(
            {
                "type": "url",
                "offset": utf16(parser.text[: match.start()]),
                "length": utf16(match.group(0)),
            }
        )
    for match in _AUTO_MENTION.finditer(parser.text):
        if len(match.group(0)) >= 6:  # usernames have at least 5 characters
            entities.append(
                {
                    "type": "mention",
                    "offset": utf16(parser.text[: match.start()]),
                    "length": utf16(match.group(0)),
                }
            )
    return parser.text, sorted(entities, key=lambda e: (e["offset"], e["type"]))


@dataclass
class FakeServices:
    telegram_token: str = TELEGRAM_TOKEN
    chats: set[int] = field(default_factory=lambda: {CHAT_ID})
    dingtalk_secret: str | None = DINGTALK_SECRET
    feishu_secret: str | None = FEISHU_SECRET
    webhook_secret: str | None = WEBHOOK_SECRET
    received: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    down: set[str] = field(default_factory=set)
    fail_next: dict[str, deque[tuple[int, dict[str, Any]]]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    port: int = 0
    _runner: web.AppRunner | None = None
    # the chat side of the Bot API: queued updates, and every message's current state
    tg_updates: list[dict[str, Any]] = field(default_factory=list)
    tg_messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    tg_confirmed: int = 0  # the highest update_id the bot confirmed (getUpdates offset - 1)
    tg_commands: list[dict[str, Any]] = field(default_factory=list)
    _tg_sequence: int = 0
    _tg_queries: set[str] = field(default_factory=set)  # callback query ids handed out
    _tg_news: asyncio.Event | None = None  # set when an update is queued
    _tg_seen: asyncio.Event | None = None  # set after every Bot API call
    _closing: bool = False
    # when set (a test's virtual clock), each accepted message records it as `received_at`
    clock: Callable[[], Any] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def telegram_base_url(self) -> str:
        return f"{self.base}/bot"

    @property
    def wecom_url(self) -> str:
        return f"{self.base}/cgi-bin/webhook/send?key={WECOM_KEY}"

    @property
    def dingtalk_url(self) -> str:
        return f"{self.base}/robot/send?access_token={DINGTALK_TOKEN}"

    @property
    def feishu_url(self) -> str:
        return f"{self.base}/open-apis/bot/v2/hook/{FEISHU_TOKEN}"

    @property
    def webhook_url(self) -> str:
        return f"{self.base}/hook"

    def env(self) -> dict[str, str]:
        """Environment variables as the tests' sink configs name them."""
        return {
            "PF_TEST_TELEGRAM": self.telegram_token,
            "PF_TEST_WECOM": self.wecom_url,
            "PF_TEST_DINGTALK": self.dingtalk_url,
            "PF_TEST_DINGTALK_SECRET": DINGTALK_SECRET,
            "PF_TEST_FEISHU": self.feishu_url,
            "PF_TEST_FEISHU_SECRET": FEISHU_SECRET,
            "PF_TEST_WEBHOOK": self.webhook_url,
            "PF_TEST_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }

    async def __aenter__(self) -> FakeServices:
        self._tg_news = asyncio.Event()
        self._tg_seen = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._telegram)
        app.router.add_post("/cgi-bin/webhook/send", self._wecom)
        app.router.add_post("/robot/send", self._dingtalk)
        app.router.add_post("/open-apis/bot/v2/hook/{token}", self._feishu)
        app.router.add_post("/hook", self._webhook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing = True
        if self._tg_news is not None:
            self._tg_news.set()  # a long poll still waiting returns now
        if self._runner is not None:
            await self._runner.cleanup()

    def texts(self, service: str) -> list[str]:
        """What each accepted message shows (the text a person reads)."""
        return [item["text"] for item in self.received[service]]

    # --- shared -----------------------------------------------------------------------

    def _gate(self, service: str, queue: bool = True) -> web.Response | None:
        self.requests[service] += 1
        if service in self.down:
            return web.Response(status=503, text="Service Unavailable")
        queued = self.fail_next[service]
        if queued and queue:
            status, body = queued.popleft()
            return web.json_response(body, status=status)
        return None

    # --- the chat side, for the team bot -----------------------------------------------

    def tg_message(
        self,
        text: str,
        *,
        user: dict[str, Any] = ALICE,
        chat_id: int = CHAT_ID,
        chat_type: str = "supergroup",
    ) -> int:
        """Queue a person's message (a command when it starts with "/"); its update_id."""
        self.chats.add(chat_id)  # the bot is a member of any chat a message comes from
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = user["first_name"]
        else:
            chat["title"] = "平凡大连人运营群" if chat_id == CHAT_ID else "路人群"
        message: dict[str, Any] = {
            "message_id": 100_000 + self._tg_sequence,
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16(command)}]
        return self._queue_update({"message": message})

    def tg_press(
        self,
        message: dict[str, Any],
        data: str,
        *,
        user: dict[str, Any] = ALICE,
        markup: dict[str, Any] | None = None,
    ) -> int:
        """Queue a press on a button of `message` (as the server holds it now) sending `data`;
        `markup` replaces the keyboard the server reports (a client showing an old one)."""
        current = self.tg_messages.get((message["chat"]["id"], message["message_id"]), message)
        shown = {k: v for k, v in current.items() if k != "html"}
        if markup is not None:
            shown["reply_markup"] = markup
        query = {
            "id": f"cq{self._tg_sequence + 1}",
            "from": user,
            "message": shown,
            "chat_instance": f"ci{shown['chat']['id']}",
            "data": data,
        }
        self._tg_queries.add(query["id"])
        return self._queue_update({"callback_query": query})

    def bot_messages(self, chat_id: int = CHAT_ID) -> list[dict[str, Any]]:
        """The bot's messages in a chat, oldest first, each as it reads now (after edits)."""
        return [
            self.tg_messages[(chat_id, item["message_id"])]
            for item in self.received["telegram"]
            if item["chat"]["id"] == chat_id
        ]

    def answers(self) -> list[dict[str, Any]]:
        """Every answerCallbackQuery, in order."""
        return self.received["telegram_answers"]

    async def wait_until(self, ready: Callable[[], object], timeout: float = 15.0) -> None:
        """Until `ready()` holds, re-checked after each Bot API call; TimeoutError after
        `timeout` seconds (a hang guard, not a timing assertion)."""
        assert self._tg_seen is not None, "use the fake inside `async with`"
        async with asyncio.timeout(timeout):
            while True:
                self._tg_seen.clear()
                if ready():
                    return
                await self._tg_seen.wait()

    def _queue_update(self, body: dict[str, Any]) -> int:
        self._tg_sequence += 1
        update = {"update_id": self._tg_sequence, **body}
        self.tg_updates.append(update)
        if self._tg_news is not None:
            self._tg_news.set()
        return self._tg_sequence

    # --- Telegram Bot API ---------------------------------------------------------------

    async def _telegram(self, request: web.Request) -> web.Response:
        try:
            return await self._telegram_method(request)
        finally:
            if self._tg_seen is not None:
                self._tg_seen.set()

    async def _telegram_method(self, request: web.Request) -> web.Response:
        # queued failures are for sendMessage; getMe (the bot's start) answers normally
        gate = self._gate("telegram", queue=request.match_info["method"] == "sendMessage")
        if gate is not None:
            return gate
        if request.match_info["token"] != self.telegram_token:
            return _tg_error(401, "Unauthorized")
        params = await _telegram_params(request)
        method = request.match_info["method"]
        if method == "getMe":
            return web.json_response({"ok": True, "result": BOT_USER})
        if method == "getUpdates":
            return await self._tg_get_updates(params)
        if method in ("deleteWebhook", "setMyCommands"):
            if method == "setMyCommands":
                self.tg_commands = list(params.get("commands") or [])
            return web.json_response({"ok": True, "result": True})
        if method == "answerCallbackQuery":
            return self._tg_answer(params)
        if method in ("editMessageText", "editMessageReplyMarkup"):
            return self._tg_edit(method, params)
        if method == "sendDocument":
            return self._tg_document(params)
        if method != "sendMessage":
            return _tg_error(404, "Not Found")
        return self._tg_send(params)

    def _tg_document(self, params: dict[str, Any]) -> web.Response:
        """sendDocument, recorded in `received["telegram_documents"]` (chat and caption)."""
        try:
            chat_id = int(params.get("chat_id", 0))
        except (TypeError, ValueError):
            return _tg_error(400, "Bad Request: chat not found")
        if chat_id not in self.chats:
            return _tg_error(400, "Bad Request: chat not found")
        documents = self.received["telegram_documents"]
        message = {
            "message_id": 10_000 + len(documents) + 1,
            "from": BOT_USER,
            "chat": {"id": chat_id, "type": "supergroup"},
            "date": int(time.time()),
            "caption": str(params.get("caption", "")),
        }
        documents.append({**message, "received_at": self._now()})
        return web.json_response({"ok": True, "result": message})

    def _now(self) -> Any:
        return self.clock() if self.clock is not None else None

    async def _tg_get_updates(self, params: dict[str, Any]) -> web.Response:
        assert self._tg_news is not None
        offset = int(params.get("offset") or 0)
        if offset:
            self.tg_confirmed = max(self.tg_confirmed, offset - 1)
            self.tg_updates = [u for u in self.tg_updates if u["update_id"] >= offset]
        wanted = params.get("allowed_updates") or None
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 50.0)
        while True:
            self._tg_news.clear()
            ready = [u for u in self.tg_updates if wanted is None or any(k in u for k in wanted)][
                : int(params.get("limit") or 100)
            ]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._closing:
                return web.json_response({"ok": True, "result": ready})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._tg_news.wait(), remaining)

    def _tg_answer(self, params: dict[str, Any]) -> web.Response:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._tg_queries:
            return _tg_error(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        if any(a["callback_query_id"] == query_id for a in self.answers()):
            return _tg_error(400, "Bad Request: QUERY_ID_INVALID")
        self.received["telegram_answers"].append(
            {
                "callback_query_id": query_id,
                "text": str(params.get("text") or ""),
                "show_alert": bool(params.get("show_alert")),
            }
        )
        return web.json_response({"ok": True, "result": True})

    def _tg_edit(self, method: str, params: dict[str, Any]) -> web.Response:
        try:
            key = (int(params.get("chat_id", 0)), int(params.get("message_id", 0)))
        except (TypeError, ValueError):
            return _tg_error(400, "Bad Request: message to edit not found")
        current = self.tg_messages.get(key)
        if current is None:
            return _tg_error(400, "Bad Request: message to edit not found")
        updated = dict(current)
        if method == "editMessageText":
            parsed = self._tg_text(params)
            if isinstance(parsed, web.Response):
                return parsed
            updated["text"], updated["entities"], updated["html"] = parsed
        markup = params.get("reply_markup")
        problem = _tg_markup_problem(markup)
        if problem:
            return _tg_error(400, problem)
        if markup and markup.get("inline_keyboard"):
            updated["reply_markup"] = markup
        else:
            updated.pop("reply_markup", None)
        same = all(updated.get(k) == current.get(k) for k in ("text", "entities", "reply_markup"))
        if same:
            return _tg_error(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        updated["edit_date"] = int(time.time())
        self.tg_messages[key] = updated
        self.received["telegram_edits"].append({"method": method, **updated})
        result = {k: v for k, v in updated.items() if k != "html"}
        return web.json_response({"ok": True, "result": result})

    def _tg_text(
        self, params: dict[str, Any]
    ) -> tuple[str, list[dict[str, Any]], str] | web.Response:
        html = str(params.get("text", ""))
        if params.get("parse_mode") == "HTML":
            try:
                text, entities = parse_telegram_html(html)
            except ValueError as err:
                return _tg_error(400, f"Bad Request: can't parse entities: {err}")
        else:
            text, entities = html, []
        if not text.strip():
            return _tg_error(400, "Bad Request: message text is empty")
        if utf16(text) > 4096:
            return _tg_error(400, "Bad Request: message is too long")
        return text, entities, html

    def _tg_send(self, params: dict[str, Any]) -> web.Response:
        try:
            chat_id = int(params.get("chat_id", 0))
        except (TypeError, ValueError):
            return _tg_error(400, "Bad Request: chat not found")
        if chat_id not in self.chats:
            return _tg_error(400, "Bad Request: chat not found")
        parsed = self._tg_text(params)
        if isinstance(parsed, web.Response):
            return parsed
        text, entities, html = parsed
        markup = params.get("reply_markup")
        problem = _tg_markup_problem(markup)
        if problem:
            return _tg_error(400, problem)
        message_id = len(self.received["telegram"]) + 1
        message = {
            "message_id": message_id,
            "from": BOT_USER,
            "chat": {"id": chat_id, "title": "平凡大连人运营群", "type": "supergroup"},
            "date": int(time.time()),
            "text": text,
            "entities": entities,
        }
        if markup:
            message["reply_markup"] = markup
        self.received["telegram"].append({**message, "html": html, "received_at": self._now()})
        self.tg_messages[(chat_id, message_id)] = {**message, "html": html}
        return web.json_response({"ok": True, "result": message})

    # --- webhooks -----------------------------------------------------------------------

    async def _wecom(self, request: web.Request) -> web.Response:
        gate = self._gate("wecom")
        if gate is not None:
            return gate
        if request.query.get("key") != WECOM_KEY:
            return web.json_response(
                {"errcode": 93000, "errmsg": "invalid webhook url, hint: [fake]"}
            )
        body = await request.json()
        kind = body.get("msgtype")
        limits = {"text": 2048, "markdown": 4096}  # bytes, as WeCom's group robot counts them
        if kind not in limits:
            return web.json_response({"errcode": 40008, "errmsg": "invalid message type"})
        content = body[kind].get("content", "")
        if len(content.encode()) > limits[kind]:
            return web.json_response(
                {"errcode": 40058, "errmsg": f"content exceed max length {limits[kind]}"}
            )
        self.received["wecom"].append(
            {**body, "text": content, "payload": body, "received_at": self._now()}
        )
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _dingtalk(self, request: web.Request) -> web.Response:
        gate = self._gate("dingtalk")
        if gate is not None:
            return gate
        if request.query.get("access_token") != DINGTALK_TOKEN:
            return web.json_response({"errcode": 300001, "errmsg": "token is not exist"})
        if self.dingtalk_secret:
            stamp = request.query.get("timestamp", "")
            # aiohttp has already url-decoded the query value
            expected = base64.b64encode(
                hmac.new(
                    self.dingtalk_secret.encode(),
                    f"{stamp}\n{self.dingtalk_secret}".encode(),
                    hashlib.sha256,
                ).digest()
            ).decode()
            if request.query.get("sign") != expected:
                return web.json_response({"errcode": 310000, "errmsg": "sign not match"})
        body = await request.json()
        content = body.get("text", {}).get("content", "")
        self.received["dingtalk"].append(
            {**body, "text": content, "payload": body, "received_at": self._now()}
        )
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _feishu(self, request: web.Request) -> web.Response:
        gate = self._gate("feishu")
        if gate is not None:
            return gate
        if request.match_info["token"] != FEISHU_TOKEN:
            return web.json_response(
                {
                    "code": 19001,
                    "data": {},
                    "msg": "param invalid: incoming webhook access token invalid",
                }
            )
        body = await request.json()
        if self.feishu_secret:
            stamp = body.get("timestamp", "")
            key = f"{stamp}\n{self.feishu_secret}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            if body.get("sign") != expected:
                return web.json_response(
                    {
                        "code": 19021,
                        "data": {},
                        "msg": "sign match fail or timestamp is not within one hour from "
                        "current time",
                    }
                )
        if len(json.dumps(body).encode()) > 30_000:
            return web.json_response({"code": 9499, "data": {}, "msg": "Bad Request"})
        post = body.get("content", {}).get("post", {})
        locale = next(iter(post.values()), {})
        lines = [
            "".join(element.get("text", "") for element in row) for row in locale.get("content", [])
        ]
        text = "\n".join([locale.get("title", ""), *lines])
        self.received["feishu"].append({**body, "text": text, "payload": body})
        return web.json_response({"code": 0, "data": {}, "msg": "success"})

    async def _webhook(self, request: web.Request) -> web.Response:
        gate = self._gate("webhook")
        if gate is not None:
            return gate
        raw = await request.read()
        if self.webhook_secret:
            expected = hmac.new(self.webhook_secret.encode(), raw, hashlib.sha256).hexdigest()
            if request.headers.get("X-Pingfan-Signature") != f"sha256={expected}":
                return web.Response(status=401, text="bad signature")
        body = json.loads(raw)
        self.received["webhook"].append({**body, "payload": body})
        return web.Response(status=204)


def _tg_markup_problem(markup: Any) -> str | None:
    """What the Bot API says about an inline keyboard it refuses; None when it is fine."""
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                return "Bad Request: BUTTON_DATA_INVALID"
            if not str(button.get("text", "")).strip():
                return "Bad Request: text buttons are unallowed in the inline keyboard"
    return None


def _tg_error(code: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": code, "description": description}, status=code
    )


async def _telegram_params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        body = await request.json()
        return dict(body) if isinstance(body, dict) else {}
    form = await request.post() if request.can_read_body else {}
    params: dict[str, Any] = {}
    for key, value in dict(form).items():
        text = str(value)
        try:
            params[key] = json.loads(text) if key != "text" else text
        except ValueError:
            params[key] = text
    params.update(urllib.parse.parse_qsl(request.query_string))
    return params
