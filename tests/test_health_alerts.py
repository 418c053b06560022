from datetime import UTC, datetime

from alerts.health import blocked_alert, recovered_alert

AT = datetime(2019, 8, 1, 3, 0, tzinfo=UTC)


def test_blocked_alert_speaks_chinese_by_default_and_english_on_request() -> None:
    zh = blocked_alert("weibo", "Weibo answered HTTP 432", 30, AT)
    en = blocked_alert("douyin", "empty body", 30, AT, language="en")
    assert zh.title == "微博采集暂停：被平台拦截" and "30 分钟" in zh.text
    assert en.title.startswith("Douyin collection paused") and "30 min" in en.text
    assert zh.severity == en.severity == "critical" and zh.kind == "collector_health"


def test_one_outage_one_key_and_recovery_has_its_own() -> None:
    first = blocked_alert("weibo", "x", 30, AT)
    again = blocked_alert("weibo", "y", 30, AT)
    recovered = recovered_alert("weibo", AT)
    assert first.dedupe_key == again.dedupe_key != recovered.dedupe_key
    assert recovered.severity == "info" and recovered.title == "微博采集已恢复"
