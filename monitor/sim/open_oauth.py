"""The Open Platform's OAuth for refresh, as documented: `POST /oauth/refresh_token/` (form
`client_key`, `grant_type=refresh_token`, `refresh_token`) issues a new access token for 15
days and leaves the refresh token as it was; `POST /oauth/renew_refresh_token/` (form
`client_key`, `refresh_token`) issues a new refresh token for 30 days, voids the old one and
works five times per grant. Answers are `{"data": {…, "error_code", "description"},
"message"}` with lifetimes in seconds.

Expiry is scripted in simulated time: `token_expiry[access_token]` and
`refresh_expiry[refresh_token]` (a refresh token not scripted lasts 30 days from its first
use). The accounts' first grants are `douyin.access_token_for` / `refresh_token_for`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from monitor.sim import douyin

CLIENT_KEY = "awsimclientkey0001"  # the app's client_key the simulated platform knows
ACCESS_LIFETIME = timedelta(days=15)
REFRESH_LIFETIME = timedelta(days=30)
MOST_RENEWALS = 5


def refresh_token_for(sec_uid: str) -> str:
    """The refresh token of this account's first grant."""
    return "rft.sim" + hashlib.sha256(f"refresh:{sec_uid}".encode()).hexdigest()[:40]


def _issued(kind: str, sec_uid: str, serial: int) -> str:
    return f"{kind}.sim" + hashlib.sha256(f"{kind}:{sec_uid}:{serial}".encode()).hexdigest()[:40]


def _answer(**data: Any) -> dict[str, Any]:
    return {"data": {**data, "error_code": 0, "description": ""}, "message": "success"}


def _error(code: int, description: str) -> dict[str, Any]:
    return {"data": {"error_code": code, "description": description}, "message": "error"}


class OAuthBook:
    """Which access and refresh tokens are live, for whom, and until when."""

    def __init__(self, grants: Mapping[str, str]) -> None:
        self._first = grants  # the first access tokens: token → sec_uid
        self.token_expiry: dict[str, datetime] = {}
        self.refresh_expiry: dict[str, datetime] = {}
        self.issued: dict[str, str] = {}  # access tokens issued by a refresh → sec_uid
        self._refresh: dict[str, str] | None = None  # live refresh token → sec_uid
        self.renewals: dict[str, int] = {}  # sec_uid → renewals so far
        self.refreshes: dict[str, int] = {}  # sec_uid → access tokens issued so far

    def owner(self, access_token: str, now: datetime) -> str | None:
        """The account whose live access token this is; None when unknown or expired."""
        expiry = self.token_expiry.get(access_token)
        if expiry is not None and now >= expiry:
            return None
        return self.issued.get(access_token) or self._first.get(access_token)

    def expired(self, access_token: str, now: datetime) -> bool:
        expiry = self.token_expiry.get(access_token)
        return expiry is not None and now >= expiry

    def _refresh_owners(self) -> dict[str, str]:
        if self._refresh is None:
            self._refresh = {refresh_token_for(uid): uid for uid in set(self._first.values())}
        return self._refresh

    def _check(self, form: Mapping[str, str], now: datetime) -> str | dict[str, Any]:
        """The refresh token's account, or the error to answer."""
        token = form.get("refresh_token", "")
        if not form.get("client_key") or not token:
            return _error(10005, "缺少参数")
        if form.get("client_key") != CLIENT_KEY:
            return _error(10013, "client_key 错误")
        sec_uid = self._refresh_owners().get(token)
        if sec_uid is None or now >= self.refresh_expiry.setdefault(token, now + REFRESH_LIFETIME):
            return _error(10010, "refresh_token 过期")  # a voided one answers the same
        return sec_uid

    def refresh(self, form: Mapping[str, str], now: datetime) -> dict[str, Any]:
        if form.get("grant_type") != "refresh_token":
            return _error(10005, "缺少参数")
        checked = self._check(form, now)
        if not isinstance(checked, str):
            return checked
        sec_uid, refresh_token = checked, form["refresh_token"]
        serial = self.refreshes[sec_uid] = self.refreshes.get(sec_uid, 0) + 1
        access_token = _issued("act", sec_uid, serial)
        self.issued[access_token] = sec_uid
        self.token_expiry[access_token] = now + ACCESS_LIFETIME
        return _answer(
            access_token=access_token,
            expires_in=str(int(ACCESS_LIFETIME.total_seconds())),
            open_id=douyin.open_id_for(sec_uid),
            refresh_token=refresh_token,
            refresh_expires_in=str(int((self.refresh_expiry[refresh_token] - now).total_seconds())),
            scope="video.list,item.comment,data.external.user",
        )

    def renew(self, form: Mapping[str, str], now: datetime) -> dict[str, Any]:
        checked = self._check(form, now)
        if not isinstance(checked, str):
            return checked
        sec_uid = checked
        if self.renewals.get(sec_uid, 0) >= MOST_RENEWALS:
            return _error(10020, "超过刷新次数限制")
        serial = self.renewals[sec_uid] = self.renewals.get(sec_uid, 0) + 1
        owners = self._refresh_owners()
        del owners[form["refresh_token"]]  # the old one is void from now on
        renewed = _issued("rft", sec_uid, serial)
        owners[renewed] = sec_uid
        self.refresh_expiry[renewed] = now + REFRESH_LIFETIME
        return _answer(refresh_token=renewed, expires_in=int(REFRESH_LIFETIME.total_seconds()))
