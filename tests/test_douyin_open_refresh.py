"""The Open Platform's tokens and old videos, against the simulator's fake Open Platform:
opt-in refresh (access token refreshed, refresh token renewed, through the documented OAuth
endpoints, kept in memory only), one expiry alert for either token, and videos over 30 days
old marked "no longer reported" instead of zero."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from monitor.collectors.douyin_open import BEIJING, read_grants, read_oauth
from monitor.config import ConfigError
from monitor.errors import ParseError
from monitor.export import export_records
from monitor.parse.douyin_open import TokenRefused, parse_open_video, read_token_answer
from monitor.runtime.clock import VirtualClock
from monitor.sim import douyin as sim_douyin
from monitor.sim.open_oauth import CLIENT_KEY, refresh_token_for
from tests.support.douyin import KOLS, OFFICIAL, Rig, douyin_config, rig
from tests.support.sim import MID_CAMPAIGN

EXPIRY_TITLE = "抖音开放平台授权即将过期"
REFRESH_EXPIRY_TITLE = "抖音开放平台刷新令牌即将过期"
AUTHORS = [OFFICIAL, *list(KOLS)[:2]]
KOL = AUTHORS[1]
CLIENT_KEY_ENV = "PINGFAN_TEST_DOUYIN_CLIENT_KEY"
REFRESH_ON = {"open_platform_refresh": True, "open_platform_client_key_env": CLIENT_KEY_ENV}


def env_name(sec_uid: str) -> str:
    return f"PINGFAN_TEST_DOUYIN_TOKEN_{AUTHORS.index(sec_uid)}"


def grant_value(
    sec_uid: str, expires: datetime | None = None, refresh_expires: datetime | None = None
) -> str:
    """`open_id:access_token:expiry:refresh_token:refresh_expiry` (expiries in unix seconds)."""
    stamp = lambda moment: str(int(moment.timestamp())) if moment else ""  # noqa: E731
    return ":".join(
        (sim_douyin.open_id_for(sec_uid), sim_douyin.access_token_for(sec_uid), stamp(expires),
         refresh_token_for(sec_uid), stamp(refresh_expires))
    )  # fmt: skip


@pytest.fixture
def grants(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Three grants with refresh tokens and no expiry written; the app's client_key."""
    for sec_uid in AUTHORS:
        monkeypatch.setenv(env_name(sec_uid), grant_value(sec_uid))
    monkeypatch.setenv(CLIENT_KEY_ENV, CLIENT_KEY)
    yield [f"{sec_uid}={env_name(sec_uid)}" for sec_uid in AUTHORS]


def oauth_calls(r: Rig, path: str) -> int:
    """OAuth calls the fake Open Platform received (it checks their form fields itself: a
    wrong or missing one gets an error answer, and no new token)."""
    return sum(1 for site, q in r.server.sim.request_log if site == "douyin_open" and q == path)


def refreshes(r: Rig) -> int:
    return oauth_calls(r, "/oauth/refresh_token/")


def renewals(r: Rig) -> int:
    return oauth_calls(r, "/oauth/renew_refresh_token/")


def kol_requests(r: Rig) -> int:
    open_id = sim_douyin.open_id_for(KOL)
    log = r.server.sim.request_log
    return sum(1 for site, q in log if site == "douyin_open" and f"open_id={open_id}" in q)


def secrets_seen(r: Rig) -> set[str]:
    """Every token the fake platform knows for the KOL: the first ones and those it issued."""
    book = r.server.sim.open_oauth
    issued = {token for token, owner in book.issued.items() if owner == KOL}
    renewed = {token for token in book.refresh_expiry if token.startswith("rft.")}
    return {sim_douyin.access_token_for(KOL), refresh_token_for(KOL), *issued, *renewed}


def stored_bytes(folder: Path) -> bytes:
    """The database with its journal files, as they are on disk."""
    return b"".join(path.read_bytes() for path in sorted(folder.glob("pingfan.db*")))


async def test_refresh_off_a_refresh_token_near_its_expiry_raises_one_alert(
    tmp_path: Path, grants: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh_expires = MID_CAMPAIGN + timedelta(days=4)
    monkeypatch.setenv(env_name(KOL), grant_value(KOL, refresh_expires=refresh_expires))
    async with rig(tmp_path, mode="open_platform", open_platform_token_envs=grants) as r:
        await r.run_pass()
        assert r.alert_titles() == [], "more than 3 days left"
        r.advance(days=1, hours=12)
        await r.run_pass()
        r.advance(minutes=30)
        await r.run_pass()
        assert r.alert_titles() == [REFRESH_EXPIRY_TITLE], "one alert, not one per pass"
        (text,) = [a["text"] for a in r.store.query("SELECT text FROM alerts")]
        assert KOLS[KOL] in text and "refresh_token" in text
        assert f"{refresh_expires.astimezone(BEIJING):%Y-%m-%d %H:%M}" in text
        assert refresh_token_for(KOL) not in text
        assert refreshes(r) == renewals(r) == 0, "refresh is opt-in"


async def test_opt_in_refresh_replaces_the_access_token_before_it_expires(
    tmp_path: Path,
    grants: list[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    expires = MID_CAMPAIGN + timedelta(days=4)
    monkeypatch.setenv(env_name(KOL), grant_value(KOL, expires=expires))
    options = {"open_platform_token_envs": grants, **REFRESH_ON}
    async with rig(tmp_path, mode="open_platform", **options) as r:
        book = r.server.sim.open_oauth
        book.token_expiry[sim_douyin.access_token_for(KOL)] = expires  # the platform agrees
        report = await r.run_pass()
        assert refreshes(r) == 0, "more than 3 days left: nothing refreshed yet"
        r.advance(days=1, hours=12)
        report = await r.run_pass()
        assert all(s.status == "ok" for s in report.steps), report.summary()
        assert refreshes(r) == 1 and book.refreshes == {KOL: 1}, "one refresh, for that grant"
        assert r.alert_titles() == [], "refreshed: no expiry alert"
        r.advance(days=3)  # past the first token's expiry: only the new one works now
        before = kol_requests(r)
        report = await r.run_pass()
        assert all(s.status == "ok" for s in report.steps), report.summary()
        assert kol_requests(r) > before and refreshes(r) == 1, "the new token lasts 15 days"
        assert r.alert_titles() == []
        secrets = secrets_seen(r)
        assert len(secrets) >= 3
        logged, stored = caplog.text, stored_bytes(tmp_path)
        assert stored, "the database was read"
        for secret in secrets:
            assert secret not in logged, "no token is ever logged"
            assert secret.encode() not in stored, "refreshed tokens live in memory only"


async def test_opt_in_refresh_renews_the_refresh_token_and_uses_the_new_one(
    tmp_path: Path, grants: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh_expires = MID_CAMPAIGN + timedelta(days=4)
    monkeypatch.setenv(env_name(KOL), grant_value(KOL, refresh_expires=refresh_expires))
    options = {"open_platform_token_envs": grants, **REFRESH_ON}
    async with rig(tmp_path, mode="open_platform", **options) as r:
        book = r.server.sim.open_oauth
        book.refresh_expiry[refresh_token_for(KOL)] = refresh_expires
        await r.run_pass()
        assert renewals(r) == 0
        r.advance(days=1, hours=12)
        await r.run_pass()
        assert renewals(r) == 1 and book.renewals == {KOL: 1}
        assert r.alert_titles() == [], "renewed: no expiry alert"
        r.advance(days=3)  # the first refresh token has expired (and was voided anyway)
        r.server.sim.expired_open_tokens.add(sim_douyin.access_token_for(KOL))
        report = await r.run_pass()
        assert all(s.status == "ok" for s in report.steps), report.summary()
        assert refreshes(r) == 1 and book.refreshes == {KOL: 1}, "refreshed with the new one"
        assert r.alert_titles() == [] and renewals(r) == 1


async def test_a_refused_refresh_raises_one_expiry_alert_and_is_not_retried_in_a_loop(
    tmp_path: Path, grants: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    expires = MID_CAMPAIGN + timedelta(days=2)
    monkeypatch.setenv(env_name(KOL), grant_value(KOL, expires=expires))
    options = {"open_platform_token_envs": grants, **REFRESH_ON}
    async with rig(tmp_path, mode="open_platform", **options) as r:
        # the refresh token ran out before pingfan started: the platform answers 10010
        r.server.sim.open_oauth.refresh_expiry[refresh_token_for(KOL)] = MID_CAMPAIGN
        report = await r.run_pass()
        assert all(s.status == "ok" for s in report.steps), "the old token still works"
        assert refreshes(r) == 1 and r.alert_titles() == [EXPIRY_TITLE]
        (text,) = [a["text"] for a in r.store.query("SELECT text FROM alerts")]
        assert "10010" in text and KOLS[KOL] in text
        for _ in range(3):
            r.advance(minutes=10)
            await r.run_pass()
        assert refreshes(r) == 1, "not again within the hour"
        r.advance(hours=1)
        await r.run_pass()
        assert refreshes(r) == 2 and r.alert_titles() == [EXPIRY_TITLE], "one alert only"


async def test_refresh_on_an_expired_token_once_then_an_expired_login(
    tmp_path: Path, grants: list[str]
) -> None:
    """Without a known expiry, the API's 28001008 makes one refresh; a refresh that is refused
    leaves the expired login as before, with no loop."""
    options = {"open_platform_token_envs": grants, **REFRESH_ON}
    async with rig(tmp_path, mode="open_platform", **options) as r:
        r.server.sim.expired_open_tokens.add(sim_douyin.access_token_for(KOL))
        report = await r.run_pass()
        assert all(s.status == "ok" for s in report.steps), report.summary()
        assert refreshes(r) == 1 and r.alert_titles() == []
        (issued,) = r.server.sim.open_oauth.issued
        r.server.sim.expired_open_tokens.add(issued)
        r.server.sim.open_oauth.refresh_expiry[refresh_token_for(KOL)] = r.clock.now()
        r.advance(hours=2)
        report = await r.run_pass()
        assert report.blocked and refreshes(r) == 2, "one refused refresh, then the block"


def test_refresh_needs_the_client_key_and_a_refresh_token_in_every_grant(
    tmp_path: Path,
) -> None:
    config = douyin_config(None, tmp_path, mode="open_platform", **REFRESH_ON)
    clock = VirtualClock(MID_CAMPAIGN)
    with_refresh = read_grants((f"{KOL}=T",), {"T": grant_value(KOL)})
    with pytest.raises(ConfigError, match=rf"\${CLIENT_KEY_ENV} .*client_key"):
        read_oauth(config, with_refresh, {}, clock)
    without = read_grants((f"{KOL}=T",), {"T": "oid:act.secret"})
    with pytest.raises(ConfigError, match="no refresh token") as refused:
        read_oauth(config, without, {CLIENT_KEY_ENV: CLIENT_KEY}, clock)
    assert "act.secret" not in str(refused.value)
    assert read_oauth(config, with_refresh, {CLIENT_KEY_ENV: CLIENT_KEY}, clock) is not None
    off = douyin_config(None, tmp_path, mode="open_platform")
    assert read_oauth(off, without, {}, clock) is None, "off by default: nothing needed"


def test_the_grant_variable_carries_both_tokens_and_their_expiries() -> None:
    (grant,) = read_grants(("MS4wLjABAAAAx=T",), {"T": "oid:act.a:2019-09-01:rft.b:1568304000"})
    assert (grant.token, grant.refresh_token) == ("act.a", "rft.b")
    assert grant.expires == datetime(2019, 9, 1, tzinfo=BEIJING)
    assert grant.refresh_expires == datetime(2019, 9, 13, tzinfo=BEIJING)
    (grant,) = read_grants(("MS4wLjABAAAAx=T",), {"T": "oid:act.a::rft.b:"})
    assert grant.expires is None and grant.refresh_expires is None
    assert "rft.b" not in repr(grant) and "act.a" not in repr(grant)
    with pytest.raises(ConfigError, match=r"\$T"):
        read_grants(("MS4wLjABAAAAx=T",), {"T": "oid:act.a:::rft.b:extra"})


def test_oauth_answers_are_read_as_documented() -> None:
    url = "https://open.douyin.com/oauth/refresh_token/"
    body = (
        '{"data": {"access_token": "act.new", "description": "", "error_code": 0, '
        '"expires_in": "1296000", "open_id": "oid", "refresh_expires_in": 86400, '
        '"refresh_token": "rft.same", "scope": "video.list"}, "message": "success"}'
    )
    answer = read_token_answer(200, body, url)
    assert (answer.access_token, answer.refresh_token) == ("act.new", "rft.same")
    assert (answer.expires_in, answer.refresh_expires_in) == (1296000, 86400)
    assert "act.new" not in repr(answer) and "rft.same" not in repr(answer)
    refused = (
        '{"data": {"error_code": 10020, "description": "超过刷新次数限制"}, "message": "error"}'
    )
    with pytest.raises(TokenRefused, match="10020") as err:
        read_token_answer(200, refused, url)
    assert err.value.code == 10020
    with pytest.raises(ParseError, match="refresh_token"):
        read_token_answer(200, '{"data": {"error_code": 0, "access_token": "act.x"}}', url)
    with pytest.raises(TokenRefused, match="HTTP 502"):
        read_token_answer(502, "act.x in an error page", url)
    odd = '{"data": {"refresh_token": "r", "expires_in": "soon", "refresh_expires_in": true}}'
    assert read_token_answer(200, odd, url).expires_in is None


def test_an_old_video_is_no_longer_reported_only_when_its_counts_are_gone() -> None:
    now = MID_CAMPAIGN
    created = int((now - timedelta(days=31)).timestamp())
    zeros = {"play_count": 0, "digg_count": 0, "comment_count": 0, "share_count": 0}
    old = {"item_id": "@v", "title": "t", "create_time": created, "statistics": zeros}
    post = parse_open_video(old, now, "uid", "name").post
    assert post.counts_no_longer_reported
    assert (post.plays, post.likes, post.comments, post.shares) == (None, None, None, None)
    counted = {**old, "statistics": {**zeros, "play_count": 900, "digg_count": 40}}
    post = parse_open_video(counted, now, "uid", "name").post
    assert not post.counts_no_longer_reported and (post.plays, post.likes) == (900, 40)
    young = {**old, "create_time": int((now - timedelta(days=29)).timestamp())}
    post = parse_open_video(young, now, "uid", "name").post
    assert not post.counts_no_longer_reported and post.likes == 0


async def test_videos_over_30_days_old_are_marked_no_longer_reported_never_zero(
    tmp_path: Path, grants: list[str]
) -> None:
    async with rig(tmp_path, mode="open_platform", open_platform_token_envs=grants) as r:
        await r.run_pass()
        now = r.clock.now()
        want = {
            sim_douyin.open_item_id(p.id): p
            for p in r.world.posts_until(now)
            if p.platform == "douyin" and p.author_id in AUTHORS and not p.removed
        }
        old = {i for i, p in want.items() if now - p.created_at > timedelta(days=30)}
        young = set(want) - old
        assert old and young
        rows = {row["id"]: row for row in r.store.query("SELECT * FROM posts")}
        for item_id in old:
            row = rows[item_id]
            assert row["counts_no_longer_reported"] == 1
            assert [row[k] for k in ("plays", "likes", "comments", "shares", "reposts")] == [
                None
            ] * 5
        assert all(rows[i]["counts_no_longer_reported"] == 0 and rows[i]["likes"] for i in young)
        zero = r.store.query("SELECT count(*) AS n FROM post_metrics WHERE plays = 0 OR likes = 0")
        assert next(iter(zero))["n"] == 0, "no zero reading is recorded for an old video"

        # The newest video that is still reported crosses 30 days while pingfan watches it.
        newest_first = sorted(young, key=lambda i: want[i].created_at, reverse=True)
        by_author = [
            i for i in newest_first if want[i].author_id == want[newest_first[0]].author_id
        ]
        crossing = by_author[min(len(by_author), 20) - 1]  # on the first page of its listing
        before = rows[crossing]["likes"]
        age = now - want[crossing].created_at
        r.advance(seconds=(timedelta(days=30, hours=1) - age).total_seconds())
        await r.run_pass()
        records = {rec["id"]: rec for rec in export_records(r.store, "posts")}
        record = records[crossing]
        assert record["counts_no_longer_reported"] is True
        assert record["plays"] is None and record["likes"] is None, "export shows null"
        history = r.store.query(
            "SELECT likes FROM post_metrics WHERE post_id = :id ORDER BY observed_at",
            {"id": crossing},
        )
        readings = [row["likes"] for row in history]
        assert readings and readings[0] == before and 0 not in readings, "history keeps reality"
        assert any(rec["likes"] for rec in records.values()), "the young ones still count"


def test_oauth_form_fields_are_the_documented_ones() -> None:
    """The fake checks the form as the real endpoint documents it."""
    from monitor.sim.open_oauth import OAuthBook

    book = OAuthBook({sim_douyin.access_token_for(KOL): KOL})
    now = MID_CAMPAIGN
    form = {"client_key": CLIENT_KEY, "refresh_token": refresh_token_for(KOL)}
    assert book.refresh(form, now)["data"]["error_code"] == 10005, "grant_type is required"
    stranger = {**form, "client_key": "another app", "grant_type": "refresh_token"}
    assert book.refresh(stranger, now)["data"]["error_code"] == 10013
    answer = book.refresh({**form, "grant_type": "refresh_token"}, now)["data"]
    assert answer["error_code"] == 0 and answer["expires_in"] == "1296000"
    assert book.owner(answer["access_token"], now) == KOL
    assert book.owner(answer["access_token"], now + timedelta(days=15)) is None
    for _ in range(5):
        renewed = book.renew(form, now)["data"]
        assert renewed["error_code"] == 0
        form = {**form, "refresh_token": renewed["refresh_token"]}
    assert book.renew(form, now)["data"]["error_code"] == 10020, "five renewals at most"


def test_doctor_reads_the_grants_and_the_client_key_as_run_will(
    tmp_path: Path, grants: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.doctor import run_checks

    def grant_check(**douyin: object) -> tuple[str, str]:
        options = {"open_platform_token_envs": grants, **douyin}
        config = douyin_config(None, tmp_path, mode="open_platform", **options)
        (check,) = [c for c in run_checks(config) if c.name == "douyin grants"]
        return check.status, check.detail

    status, detail = grant_check()
    assert status == "ok" and "3 grant(s)" in detail and "not refreshed" in detail
    status, detail = grant_check(**REFRESH_ON)
    assert status == "ok" and CLIENT_KEY_ENV in detail and CLIENT_KEY not in detail
    monkeypatch.delenv(CLIENT_KEY_ENV)
    status, detail = grant_check(**REFRESH_ON)
    assert status == "fail" and CLIENT_KEY_ENV in detail
    monkeypatch.setenv(env_name(KOL), "oid-only")
    status, detail = grant_check()
    assert status == "fail" and env_name(KOL) in detail
