"""WeCom (企业微信) group robot: a `text` message to the webhook URL in `url_env`.

Plain text, not markdown: WeCom's markdown has no escaping, so a comment could add a link;
and without `mentioned_list` no one is @-mentioned whatever the text says. The content is
cut at line boundaries to 2,048 bytes (WeCom's text limit), keeping the link and footer.
WeCom answers HTTP 200 with `errcode`: 0 is success, 45009 is its rate limit, 93000 an
invalid webhook URL (key).
"""

from __future__ import annotations

from collections.abc import Mapping

from alerts import render
from alerts.digest import chat as digest_chat
from alerts.sinks.base import (
    Outgoing,
    PermanentError,
    RejectedError,
    Sink,
    TransientError,
    post_json,
)
from monitor.config import SinkConfig

TEXT_LIMIT_BYTES = 2048
_RETRY = {-1, 45009, 45033}  # system busy, rate limited, too many concurrent calls
_BROKEN = {93000, 40001, 40014, 42001, 93004, 93008}  # bad key/token, robot removed


class WecomSink(Sink):
    type = "wecom"
    per_minute = 20

    def __init__(self, label: str, config: SinkConfig, env: Mapping[str, str]) -> None:
        super().__init__(label, config, env)
        self._url = self.secret(config.url_env, env)

    def payload(self, message: Outgoing) -> dict[str, object]:
        if digest_chat.is_digest(message):
            return digest_chat.wecom_payload(message)  # markdown, within the service's limit
        content = render.fit_lines(
            message.plain_lines(), TEXT_LIMIT_BYTES, render.utf8_len, keep_last=2
        )
        return {"msgtype": "text", "text": {"content": content}}

    async def send(self, message: Outgoing) -> None:
        _, body = await post_json(self, self._url, self.payload(message))
        check_errcode(self, body, _RETRY, _BROKEN)


def check_errcode(sink: Sink, body: object, retry: set[int], broken: set[int]) -> None:
    """WeCom and DingTalk: HTTP 200 with {"errcode": 0} is success, anything else is not."""
    if not isinstance(body, dict) or "errcode" not in body:
        raise RejectedError("answer without errcode")
    code = body.get("errcode")
    if code == 0:
        return
    reason = f"errcode {code}: {sink.redact(str(body.get('errmsg', ''))[:160])}"
    if code in retry:
        raise TransientError(reason, 60.0)
    if code in broken:
        raise PermanentError(reason)
    raise RejectedError(reason)
