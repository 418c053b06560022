"""The text catalogue (alerts/i18n): both languages say the same things, and each shared name
is said only there."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from alerts import i18n
from alerts.i18n import en, zh

ALERTS = Path(i18n.__file__).resolve().parent.parent
SHARED_NAMES = ("platform.", "severity.", "kind.", "state.", "metric.", "label.", "button.")


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_both_languages_have_the_same_keys() -> None:
    assert sorted(set(zh.TEXT) - set(en.TEXT)) == []
    assert sorted(set(en.TEXT) - set(zh.TEXT)) == []


def test_both_languages_fill_the_same_placeholders() -> None:
    differ = [
        f"{key}: zh {sorted(placeholders(zh.TEXT[key]))}, en {sorted(placeholders(en.TEXT[key]))}"
        for key in sorted(set(zh.TEXT) & set(en.TEXT))
        if placeholders(zh.TEXT[key]) != placeholders(en.TEXT[key])
    ]
    assert differ == []


def test_the_detector_sees_placeholders() -> None:
    assert placeholders("{n} 条，{share}（{lb}）") == {"n", "share", "lb"}
    assert placeholders("{{literal}} {x}") == {"x"}
    assert placeholders("none") == set()


def test_an_unknown_language_reads_chinese() -> None:
    assert i18n.t("fr", "platform.weibo") == "微博"
    assert i18n.t("en", "platform.weibo") == "Weibo"
    assert i18n.name("en", "label", "negative") == "negative"
    assert i18n.name("zh", "metric", "unknown-platform") == "unknown-platform"


def test_units_read_the_catalogue() -> None:
    assert i18n.duration("zh", 2 * 86400) == "2 天"
    assert i18n.duration("en", 6 * 3600) == "6 h"
    assert i18n.duration("en", 90) == "2 min"
    assert i18n.hours_minutes("zh", 200 * 60) == "3 小时 20 分钟"
    assert i18n.join_terms("zh", ["甲", "乙"]) == "甲、乙"
    assert i18n.change("zh", 5, 0) == "新增" and i18n.change("en", 5, 0) == "new"


def _said_outside(word: str) -> list[str]:
    """Where a string in alerts/ (docstrings aside, and outside the catalogue) holds `word`."""
    found = []
    for path in sorted(ALERTS.rglob("*.py")):
        if path.parent.name == "i18n" and path.name in ("zh.py", "en.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and word in node.value
            ):
                found.append(f"{path.relative_to(ALERTS.parent)}:{node.lineno}")
    return found


@pytest.mark.parametrize(
    "word",
    sorted(
        {
            value
            for key, value in zh.TEXT.items()
            if key.startswith(SHARED_NAMES) and len(value) >= 2 and "{" not in value
        }
        - {"UGC"}
    ),
)
def test_each_chinese_name_is_said_once(word: str) -> None:
    # charts.py lists characters the chart font must have, not words a reader sees
    allowed = {"alerts/digest/charts.py"}
    places = [p for p in _said_outside(word) if p.split(":")[0] not in allowed]
    assert places == [], f"{word!r} belongs in alerts/i18n/zh.py only"


def _prefix(path: str, call: ast.Call) -> str | None:
    """The catalogue section a call reads its literal key from, or None when the call is not
    a catalogue read. Each part reads through its own helper: the bot's `self.t`/`.line`
    (bot.*), the digest's `i18n.t` and summary `t` (digest.*), the wording's `say.t`
    (alert.*); `i18n.t`/`catalogue.t` anywhere else reads the key as written."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
    if name not in ("t", "line", "template"):
        return None
    if path.startswith("alerts/bot/") and owner != "i18n":
        return "bot."
    if path.startswith("alerts/digest/") and owner == "i18n":
        return "digest."
    if path == "alerts/i18n/digest_summary.py" and isinstance(func, ast.Name):
        return "digest."
    if path == "alerts/wording.py" and owner in ("say", "self"):
        return "alert."
    if owner in ("i18n", "catalogue"):
        return ""
    return None


def test_every_key_the_code_reads_is_in_the_catalogue() -> None:
    missing = []
    read = 0
    for path in sorted(ALERTS.rglob("*.py")):
        where = str(path.relative_to(ALERTS.parent))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or (prefix := _prefix(where, node)) is None:
                continue
            literal = [
                a.value
                for a in node.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
            if not literal:
                continue  # a key built at run time (f"label.{label}")
            read += 1
            if prefix + literal[0] not in zh.TEXT:
                missing.append(f"{where}:{node.lineno} {prefix}{literal[0]}")
    assert read > 150, "the scan finds the catalogue reads"
    assert missing == []
