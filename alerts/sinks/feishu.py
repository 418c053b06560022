"""Feishu (飞书) custom bot: a `post` (rich text) message whose user text sits in plain
`text` elements, so nothing in it is read as markup or an <at> mention; the link is our own
`a` element. With `secret_env` (签名校验) the body carries `timestamp` (seconds) and `sign` =
base64(HMAC-SHA256 with key timestamp + "\\n" + secret over an empty message). Feishu
answers HTTP 200 with `code` (older: `StatusCode`): 0 is success, 11232 its rate limit
(100 a minute, 5 a second), 19021 a bad signature, 19001 an invalid webhook token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

from alerts import chat_markup, i18n, safe_text
from alerts.sinks.base import (
    Outgoing,
    PermanentError,
    RejectedError,
    Sink,
    TransientError,
    post_json,
)
from monitor.config import SinkConfig

BODY_LIMIT_BYTES = 20_000
_RETRY = {11232, 2200}
_BROKEN = {19001, 19021, 19022, 19024, 19002}


def feishu_sign(secret: str, timestamp: int) -> str:
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


class FeishuSink(Sink):
    type = "feishu"
    per_minute = 100
    per_second = 5
    now_s: Callable[[], int] = staticmethod(lambda: int(time.time()))

    def __init__(self, label: str, config: SinkConfig, env: Mapping[str, str]) -> None:
        super().__init__(label, config, env)
        self._url = self.secret(config.url_env, env)
        self._key = self.secret(config.secret_env, env)

    def payload(self, message: Outgoing) -> dict[str, object]:
        if chat_markup.is_digest(message):
            return self._signed(chat_markup.feishu_payload(message))  # an interactive card
        lines = [*message.body_lines()]
        body_text = safe_text.fit_lines(
            [*lines, message.footer()], BODY_LIMIT_BYTES // 2, safe_text.utf8_len, keep_last=1
        ).split("\n")
        content: list[list[dict[str, str]]] = [
            [{"tag": "text", "text": line}] for line in body_text
        ]
        link = message.link()
        if link:
            label = i18n.t(message.language, "button.open_post")
            content.insert(len(content) - 1, [{"tag": "a", "text": label, "href": link}])
        locale = "zh_cn" if i18n.lang_of(message.language) == "zh" else "en_us"
        return self._signed(
            {
                "msg_type": "post",
                "content": {"post": {locale: {"title": message.title_line(), "content": content}}},
            }
        )

    def _signed(self, payload: dict[str, object]) -> dict[str, object]:
        if self._key:
            stamp = self.now_s()
            payload["timestamp"] = str(stamp)
            payload["sign"] = feishu_sign(self._key, stamp)
        return payload

    async def send(self, message: Outgoing) -> None:
        _, body = await post_json(self, self._url, self.payload(message))
        if not isinstance(body, dict):
            raise RejectedError("answer without code")
        code = body.get("code", body.get("StatusCode"))
        if code == 0:
            self.meter.sent()
            return
        reason = (
            f"code {code}: {self.redact(str(body.get('msg', body.get('StatusMessage', ''))))[:160]}"
        )
        if code in _RETRY:
            raise TransientError(reason, 10.0)
        if code in _BROKEN:
            raise PermanentError(reason)
        raise RejectedError(reason)
