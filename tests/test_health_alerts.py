from datetime import UTC, datetime

from alerts.health import blocked_alert, recovered_alert

AT = datetime(2019, 8, 1, 3, 0, tzinfo=UTC)


def test_blocked_alert_speaks_chinese_by_default_and_english_on_request() -> None:
    zh = blocked_alert("weibo", "Weibo answered HTTP 432", 1800, AT)
    en = blocked_alert("douyin", "empty body", 1800, AT, language="en")
    assert zh.title == "微博采集暂停：被平台拦截" and "30 分钟" in zh.text
    assert en.title.startswith("Douyin collection paused") and "30 min" in en.text
    assert zh.severity == en.severity == "critical" and zh.kind == "collector_health"


def test_one_outage_one_key_and_recovery_has_its_own() -> None:
    first = blocked_alert("weibo", "x", 1800, AT)
    again = blocked_alert("weibo", "y", 1800, AT)
    recovered = recovered_alert("weibo", AT)
    assert first.dedupe_key == again.dedupe_key != recovered.dedupe_key
    assert recovered.severity == "info" and recovered.title == "微博采集已恢复"


def test_the_title_names_the_cause_and_a_short_pause_is_in_seconds() -> None:
    cookie = blocked_alert("weibo", "login: false", 1800, AT, cause="cookie")
    down = blocked_alert("douyin", "3 sources in a row failed", 45, AT, cause="unreachable")
    assert cookie.title == "微博采集暂停：登录 Cookie 已失效" and "更新 Cookie" in cookie.text
    assert down.title == "抖音采集暂停：无法连接" and "45 秒后" in down.text
    english = blocked_alert("douyin", "x", 45, AT, language="en", cause="unreachable")
    assert english.title == "Douyin collection paused: the platform is unreachable"
    assert "for 45 s" in english.text
