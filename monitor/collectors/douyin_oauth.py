"""The Douyin Open Platform's two OAuth calls for opt-in token refresh
(`[douyin] open_platform_refresh = true`), as documented:

- `POST /oauth/refresh_token/` (form: `client_key`, `grant_type=refresh_token`,
  `refresh_token`) gives a new access token for 15 days; the refresh token stays as it was.
- `POST /oauth/renew_refresh_token/` (form: `client_key`, `refresh_token`) gives a new refresh
  token for 30 days and voids the old one; five renewals at most, then the KOL authorises again.

Neither takes the app's client_secret, so pingfan never reads it. The tokens these calls return
live only in the collector's memory: never logged, never written (see douyin_open.py for why).
These calls go outside the pacer: a grant makes one every few days at most.
"""

from __future__ import annotations

import aiohttp

from monitor.parse.douyin_open import TokenAnswer, TokenRefused, read_token_answer
from monitor.runtime.body import decode_body, read_capped
from monitor.runtime.clock import Clock, outside

REFRESH_PATH = "/oauth/refresh_token/"
RENEW_PATH = "/oauth/renew_refresh_token/"


class OAuthClient:
    def __init__(
        self, base_url: str, client_key: str, clock: Clock, *, timeout: float, max_body_bytes: int
    ) -> None:
        self.base = base_url.rstrip("/")
        self._client_key = client_key  # the app's id, not a secret, but kept out of logs too
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_body_bytes = max_body_bytes

    def __repr__(self) -> str:
        return f"OAuthClient({self.base!r})"

    async def refresh(self, refresh_token: str) -> TokenAnswer:
        """A new access token (and its lifetime) for this refresh token."""
        form = {
            "client_key": self._client_key,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        return await self._post(REFRESH_PATH, form)

    async def renew(self, refresh_token: str) -> TokenAnswer:
        """A new refresh token (and its lifetime); the one given is void afterwards."""
        form = {"client_key": self._client_key, "refresh_token": refresh_token}
        return await self._post(RENEW_PATH, form)

    async def _post(self, path: str, form: dict[str, str]) -> TokenAnswer:
        url = f"{self.base}{path}"
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout, auto_decompress=False) as session,
                outside(self._clock),  # simulated time holds still while the server answers
                session.post(url, data=form) as response,
            ):
                raw = await read_capped(response, self._max_body_bytes, url)
                text, status = decode_body(raw, response.charset), response.status
        except (TimeoutError, aiohttp.ClientError) as err:
            failure = f"the Open Platform's OAuth at {path}: {type(err).__name__}"
            raise TokenRefused(failure) from err
        return read_token_answer(status, text, url)
