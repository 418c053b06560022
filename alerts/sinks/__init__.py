"""Alert sinks, one module each, and the explicit registry that builds them from the config.

| type | module | rate limit | form |
| --- | --- | --- | --- |
| console | console.py | – | plain text on stdout |
| jsonl | jsonl.py | – | one JSON object per alert in `path` |
| telegram | telegram.py | 20/min per chat | HTML, split at 4,096, ack/mute buttons |
| wecom | wecom.py | 20/min | text, 2,048 bytes |
| dingtalk | dingtalk.py | 20/min | text, signed with `secret_env` |
| feishu | feishu.py | 100/min, 5/s | post (rich text), signed with `secret_env` |
| webhook | webhook.py | 60/min | the jsonl object as JSON, HMAC header with `secret_env` |
| apprise | apprise.py | 1/s, 20/min per URL | text or markdown, one sink per URL in `urls_env` |
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping

from alerts.sinks.apprise import AppriseSink
from alerts.sinks.base import (
    Meter,
    Outgoing,
    PermanentError,
    RejectedError,
    Sink,
    SinkError,
    TransientError,
)
from alerts.sinks.console import ConsoleSink
from alerts.sinks.dingtalk import DingtalkSink
from alerts.sinks.feishu import FeishuSink
from alerts.sinks.jsonl import JsonlSink
from alerts.sinks.telegram import TelegramSink
from alerts.sinks.webhook import WebhookSink
from alerts.sinks.wecom import WecomSink
from monitor.config import Config, SinkConfig, apprise_urls

__all__ = [
    "REGISTRY",
    "Meter",
    "Outgoing",
    "PermanentError",
    "RejectedError",
    "Sink",
    "SinkError",
    "TransientError",
    "build_sinks",
    "sink_label",
]

REGISTRY: dict[str, type[Sink]] = {
    "console": ConsoleSink,
    "jsonl": JsonlSink,
    "telegram": TelegramSink,
    "wecom": WecomSink,
    "dingtalk": DingtalkSink,
    "feishu": FeishuSink,
    "webhook": WebhookSink,
    "apprise": AppriseSink,
}


def sink_label(sink: SinkConfig, chat_id: int | None = None) -> str:
    """A stable name without secrets: the type and what it points at (env name, path, chat)."""
    where = sink.url_env or sink.token_env or sink.urls_env or (sink.path.name if sink.path else "")
    label = f"{sink.type}:{where}" if where else sink.type
    return f"{label}:{chat_id}" if chat_id is not None else label


def build_sinks(config: Config, env: Mapping[str, str] | None = None) -> list[Sink]:
    """One sink per enabled [[sinks]] entry (one per chat for Telegram), in file order."""
    environment = os.environ if env is None else env
    sinks: list[Sink] = []
    for entry in config.enabled_sinks():
        if entry.type == "telegram":
            for chat_id in entry.chat_ids:
                sinks.append(TelegramSink(sink_label(entry, chat_id), entry, environment, chat_id))
        elif entry.type == "apprise":
            sinks += _apprise_sinks(entry, environment)
        else:
            sinks.append(REGISTRY[entry.type](sink_label(entry), entry, environment))
    # two entries pointing at the same place still get distinct labels
    seen: Counter[str] = Counter()
    for sink in sinks:
        seen[sink.label] += 1
        if seen[sink.label] > 1:
            sink.label = f"{sink.label}#{seen[sink.label]}"
    return sinks


def _apprise_sinks(entry: SinkConfig, env: Mapping[str, str]) -> list[Sink]:
    """One sink per URL (numbered when there are several); without any, one that says so
    when it opens (and is then marked broken, with one health line)."""
    urls = apprise_urls(env.get(entry.urls_env or "", ""))
    if len(urls) <= 1:
        return [AppriseSink(sink_label(entry), entry, env, urls[0] if urls else None)]
    return [
        AppriseSink(f"{sink_label(entry)}:{n}", entry, env, url, n)
        for n, url in enumerate(urls, start=1)
    ]
