"""DingTalk (钉钉) custom robot: a `text` message, with `at.isAtAll` false and no one listed,
so nobody is @-mentioned. With `secret_env` (加签), each request carries `timestamp` (ms) and
`sign` = urlencode(base64(HMAC-SHA256(key=secret, timestamp + "\\n" + secret))) as query
parameters. DingTalk answers HTTP 200 with `errcode`: 130101 is "send too fast" (over 20 a
minute: DingTalk throttles the robot for 10 minutes, so the sink pauses that long instead of
retrying into the throttle), 310000 a keyword, signature or IP mismatch, 300001 a bad access
token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from collections.abc import Callable, Mapping

from alerts import chat_markup, safe_text
from alerts.sinks.base import Outgoing, Sink, post_json
from alerts.sinks.wecom import check_errcode
from monitor.config import SinkConfig

TEXT_LIMIT_BYTES = 4000
_RETRY = {-1}  # system busy
_PAUSE = {130101}  # send too fast: throttled for 10 minutes
_BROKEN = {310000, 300001, 300005, 400101, 400102, 43004}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The `sign` query value (already urlencoded)."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode())


class DingtalkSink(Sink):
    type = "dingtalk"
    per_minute = 20
    now_ms: Callable[[], int] = staticmethod(lambda: int(time.time() * 1000))

    def __init__(self, label: str, config: SinkConfig, env: Mapping[str, str]) -> None:
        super().__init__(label, config, env)
        self._url = self.secret(config.url_env, env)
        self._key = self.secret(config.secret_env, env)

    def payload(self, message: Outgoing) -> dict[str, object]:
        if chat_markup.is_digest(message):
            return chat_markup.dingtalk_payload(message)  # markdown, within the service's limit
        content = safe_text.fit_lines(
            message.plain_lines(), TEXT_LIMIT_BYTES, safe_text.utf8_len, keep_last=2
        )
        return {
            "msgtype": "text",
            "text": {"content": content},
            "at": {"isAtAll": False, "atMobiles": [], "atUserIds": []},
        }

    def signed_url(self) -> str:
        if not self._key:
            return self._url
        stamp = self.now_ms()
        joiner = "&" if "?" in self._url else "?"
        return f"{self._url}{joiner}timestamp={stamp}&sign={dingtalk_sign(self._key, stamp)}"

    async def send(self, message: Outgoing) -> None:
        _, body = await post_json(self, self.signed_url(), self.payload(message))
        check_errcode(self, body, _RETRY, _BROKEN, _PAUSE)
        self.meter.sent()
