"""The Open Platform closer to its documentation: a used-up quota (28003017) pauses only that
grant until the quota resets, and a token near its expiry raises one health alert."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from monitor.collectors.douyin_open import BEIJING, quota_resets_at, read_grants
from monitor.config import ConfigError
from monitor.runtime.circuit import CircuitState
from monitor.sim import douyin as sim_douyin
from tests.support.douyin import KOLS, OFFICIAL, Rig, rig
from tests.support.sim import MID_CAMPAIGN

QUOTA_TITLE = "抖音开放平台配额已用完"
EXPIRY_TITLE = "抖音开放平台授权即将过期"
AUTHORS = [OFFICIAL, *list(KOLS)[:2]]


def grant_value(sec_uid: str, expiry: str = "") -> str:
    value = f"{sim_douyin.open_id_for(sec_uid)}:{sim_douyin.access_token_for(sec_uid)}"
    return f"{value}:{expiry}" if expiry else value


@pytest.fixture
def grants(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    entries = []
    for index, sec_uid in enumerate(AUTHORS):
        name = f"PINGFAN_TEST_DOUYIN_TOKEN_{index}"
        monkeypatch.setenv(name, grant_value(sec_uid))
        entries.append(f"{sec_uid}={name}")
    yield entries


def open_requests(r: Rig, token: str) -> int:
    """Requests the simulator's Open Platform site received for one grant's open_id."""
    sec_uid = next(a for a in AUTHORS if sim_douyin.access_token_for(a) == token)
    open_id = sim_douyin.open_id_for(sec_uid)
    log = r.server.sim.request_log
    return sum(1 for site, q in log if site == "douyin_open" and f"open_id={open_id}" in q)


async def test_a_used_up_quota_pauses_that_grant_until_it_resets(
    tmp_path: Path, grants: list[str]
) -> None:
    async with rig(tmp_path, mode="open_platform", open_platform_token_envs=grants) as r:
        token = sim_douyin.access_token_for(OFFICIAL)
        r.server.sim.quota_used_open_tokens.add(token)
        report = await r.run_pass()
        assert not report.blocked and r.circuit.state is CircuitState.CLOSED, "one grant only"
        sent = open_requests(r, token)
        assert sent == 1, "the first refusal pauses the grant: no retry, no second source"
        assert r.alert_titles() == [QUOTA_TITLE]
        assert r.post_ids(), "the other grants were collected"
        r.runtime_clock.advance(3600)
        await r.run_pass()
        assert open_requests(r, token) == sent and r.alert_titles() == [QUOTA_TITLE]
        r.server.sim.quota_used_open_tokens.clear()
        resets = quota_resets_at(r.runtime_clock.now())
        r.runtime_clock.advance((resets - r.runtime_clock.now()).total_seconds() + 1)
        report = await r.run_pass()
        assert open_requests(r, token) > sent, "resumed once the quota reset"
        assert all(s.status == "ok" for s in report.steps), report.summary()


async def test_a_token_near_its_expiry_raises_one_alert(
    tmp_path: Path, grants: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    expiry = (MID_CAMPAIGN + timedelta(days=4)).astimezone(BEIJING).strftime("%Y-%m-%d")
    monkeypatch.setenv("PINGFAN_TEST_DOUYIN_TOKEN_1", grant_value(AUTHORS[1], expiry))
    async with rig(tmp_path, mode="open_platform", open_platform_token_envs=grants) as r:
        await r.run_pass()
        assert r.alert_titles() == [], "more than 3 days left"
        r.runtime_clock.advance(timedelta(days=1, hours=12).total_seconds())
        await r.run_pass()
        await r.run_pass()
        assert r.alert_titles() == [EXPIRY_TITLE], "one alert, not one per request or pass"
        (text,) = [a["text"] for a in r.store.query("SELECT text FROM alerts")]
        assert KOLS[AUTHORS[1]] in text and expiry in text
        assert sim_douyin.access_token_for(AUTHORS[1]) not in text


def test_the_expiry_is_read_from_the_grant_variable() -> None:
    (grant,) = read_grants(("MS4wLjABAAAAx=PF_T",), {"PF_T": "oid:act.secret:2019-09-01"})
    assert grant.token == "act.secret"
    assert grant.expires == datetime(2019, 9, 1, tzinfo=BEIJING)
    (grant,) = read_grants(("MS4wLjABAAAAx=PF_T",), {"PF_T": "oid:act.secret:1567267200"})
    assert grant.expires == datetime(2019, 9, 1, tzinfo=BEIJING)
    (grant,) = read_grants(("MS4wLjABAAAAx=PF_T",), {"PF_T": "oid:act.secret"})
    assert grant.expires is None
    with pytest.raises(ConfigError, match=r"\$PF_T.*expiry"):
        read_grants(("MS4wLjABAAAAx=PF_T",), {"PF_T": "oid:act.secret:next week"})


def test_the_quota_resets_at_midnight_beijing_time() -> None:
    at = datetime.fromisoformat("2019-08-25T23:30:00+08:00")
    assert quota_resets_at(at) == datetime.fromisoformat("2019-08-26T00:00:00+08:00")
    assert quota_resets_at(at.replace(hour=0, minute=0)) == at.replace(day=26, hour=0, minute=0)
