"""WeCom (企业微信) group robot: a `text` message to the webhook URL in `url_env`.

Plain text, not markdown: WeCom's markdown has no escaping, so a comment could add a link;
and without `mentioned_list` no one is @-mentioned whatever the text says. The content is
cut at line boundaries to 2,048 bytes (WeCom's text limit), keeping the link and footer.
WeCom answers HTTP 200 with `errcode`: 0 is success, 45009 is its rate limit (20 messages a
minute per robot; over it, the robot is throttled, so the sink pauses for `PAUSE_SECONDS`),
93000 an invalid webhook URL (key).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from alerts import chat_markup, safe_text
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
_RETRY = {-1, 45033}  # system busy, too many concurrent calls: again in a minute
_PAUSE = {45009}  # API frequency limit: the robot is throttled, the sink pauses
# What WeCom's and DingTalk's robot documentation gives for a robot over 20 messages a
# minute: it is throttled for 10 minutes, so retrying sooner only prolongs it.
PAUSE_SECONDS = 600.0
RETRY_SECONDS = 60.0
_BROKEN = {93000, 40001, 40014, 42001, 93004, 93008}  # bad key/token, robot removed


class WecomSink(Sink):
    type = "wecom"
    per_minute = 20

    def __init__(self, label: str, config: SinkConfig, env: Mapping[str, str]) -> None:
        super().__init__(label, config, env)
        self._url = self.secret(config.url_env, env)

    def payload(self, message: Outgoing) -> dict[str, object]:
        if chat_markup.is_digest(message):
            return chat_markup.wecom_payload(message)  # markdown, within the service's limit
        content = safe_text.fit_lines(
            message.plain_lines(), TEXT_LIMIT_BYTES, safe_text.utf8_len, keep_last=2
        )
        return {"msgtype": "text", "text": {"content": content}}

    async def send(self, message: Outgoing) -> None:
        _, body = await post_json(self, self._url, self.payload(message))
        check_errcode(self, body, _RETRY, _BROKEN, _PAUSE)
        self.meter.sent()


def check_errcode(
    sink: Sink,
    body: object,
    retry: Collection[int],
    broken: Collection[int],
    pause: Collection[int] = (),
) -> None:
    """WeCom and DingTalk: HTTP 200 with {"errcode": 0} is success, anything else is not.
    A code in `pause` (the robot is throttled) holds the sink for `PAUSE_SECONDS`: the
    delivery waits that long, and nothing overtakes it."""
    if not isinstance(body, dict) or "errcode" not in body:
        raise RejectedError("answer without errcode")
    code = body.get("errcode")
    if code == 0:
        return
    reason = f"errcode {code}: {sink.redact(str(body.get('errmsg', ''))[:160])}"
    if code in pause:
        raise TransientError(f"{reason} (throttled; pausing 10 minutes)", PAUSE_SECONDS)
    if code in retry:
        raise TransientError(reason, RETRY_SECONDS)
    if code in broken:
        raise PermanentError(reason)
    raise RejectedError(reason)
