"""A generic webhook: the alert's JSON object (as in the jsonl sink) POSTed to the URL in
`url_env`; any 2xx is success. With `secret_env`, the body is signed:
`X-Pingfan-Signature: sha256=<hex HMAC-SHA256 of the body>`."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from alerts.sinks.base import Outgoing, Sink, post_json
from monitor.config import SinkConfig


class WebhookSink(Sink):
    type = "webhook"
    per_minute = 60

    def __init__(self, label: str, config: SinkConfig, env: Mapping[str, str]) -> None:
        super().__init__(label, config, env)
        self._url = self.secret(config.url_env, env)
        self._key = self.secret(config.secret_env, env)

    async def send(self, message: Outgoing) -> None:
        body = json.dumps(message.record(), ensure_ascii=False, sort_keys=True).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self._key:
            digest = hmac.new(self._key.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Pingfan-Signature"] = f"sha256={digest}"
        await post_json(self, self._url, {}, headers=headers, data=body)
        self.meter.sent()
