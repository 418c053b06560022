"""The digest's headline lines in words, from its facts (`Digest.facts()`, also kept in the outbox
evidence, so a chat message can be rebuilt from the alert alone).

The lines hold numbers, our own words, partner and topic names from the config, and terms
cut down to letters and digits: no user text, no markup, so every chat can show them as they
are (each sink still escapes for its own format)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from alerts import i18n

_NOT_WORD = re.compile(r"[^\w]+")


def clean_term(term: str) -> str:
    """A keyword as a chat may show it: letters and digits only."""
    return _NOT_WORD.sub("", str(term))[:20]


def summary_lines(facts: Mapping[str, Any], language: str) -> list[str]:
    lang = i18n.lang_of(language)

    def t(key: str, **values: object) -> str:
        return i18n.t(lang, f"digest.{key}", **values)

    lines: list[str] = []
    if facts.get("has_data"):
        for reach in facts.get("reach", []):
            platform = i18n.platform_name(lang, reach.get("platform"))
            metric = i18n.name(lang, "metric", str(reach.get("platform")))
            views = i18n.compact(lang, reach.get("views"))
            gained = reach.get("gained")
            if not reach.get("readings"):
                read_at = str(reach.get("read_at") or "")[:10] or "–"
                lines.append(
                    t("sum.reach_stale", platform=platform, metric=metric, views=views, at=read_at)
                )
                continue
            if gained is None:
                lines.append(t("sum.reach_unknown", platform=platform, metric=metric, views=views))
                continue
            previous = reach.get("gained_previous")
            change = ""
            if previous is not None:
                ratio = i18n.change(lang, gained, previous)
                change = _paren(lang, t("sum.change", ratio=ratio))
            mark = ""
            passed = reach.get("marks_passed") or []
            if passed:
                marks = i18n.join_terms(lang, (i18n.compact(lang, m) for m in passed))
                mark = t("sum.mark_passed", marks=marks)
            elif reach.get("next_mark") and reach.get("views") is not None:
                mark = t(
                    "sum.mark_next",
                    mark=i18n.compact(lang, reach["next_mark"]),
                    left=i18n.compact(lang, reach["next_mark"] - reach["views"]),
                )
            lines.append(
                t(
                    "sum.reach",
                    platform=platform,
                    metric=metric,
                    views=views,
                    gained=i18n.compact(lang, gained),
                    change=change,
                    mark=mark,
                )
            )
        lines.append(
            t(
                "sum.volume",
                posts=i18n.count(facts.get("posts", 0)),
                posts_change=_paren(lang, i18n.change(
                    lang, facts.get("posts"), facts.get("posts_previous"))),
                comments=i18n.count(facts.get("comments", 0)),
                comments_change=_paren(lang, i18n.change(
                    lang, facts.get("comments"), facts.get("comments_previous"))),
                authors=i18n.count(facts.get("authors", 0)),
                engagement=i18n.compact(lang, facts.get("engagement", 0)),
            )
        )  # fmt: skip
        sentiment = facts.get("sentiment", {})
        scored = sum(int(sentiment.get(k) or 0) for k in ("positive", "neutral", "negative"))
        shares = sentiment.get("shares")
        if scored and shares:
            # Mean calibrated probabilities with their 90% interval (nlp.shares).
            previous = sentiment.get("negative_mean_previous")
            lines.append(
                t(
                    "sum.sentiment_shares",
                    pos=_share(lang, shares["positive"]),
                    neu=_share(lang, shares["neutral"]),
                    neg=_share(lang, shares["negative"]),
                    neg_change=_paren(lang, i18n.points(shares["negative"][0], previous))
                    if previous is not None
                    else "",
                )
            )
        elif scored:
            negative = int(sentiment.get("negative") or 0) / scored
            previous = sentiment.get("negative_share_previous")
            lines.append(
                t(
                    "sum.sentiment",
                    pos=i18n.pct(int(sentiment.get("positive") or 0) / scored),
                    neu=i18n.pct(int(sentiment.get("neutral") or 0) / scored),
                    neg=i18n.pct(negative),
                    neg_change=_paren(lang, i18n.points(negative, previous))
                    if previous is not None
                    else "",
                )
            )
        if scored:
            terms = [clean_term(w) for w in facts.get("negative_terms", [])]
            terms = [w for w in terms if w]
            if terms:
                lines.append(t("sum.drivers", terms=i18n.join_terms(lang, terms)))
        else:
            lines.append(t("sum.sentiment_none"))
        threads = int(facts.get("threads") or 0)
        if threads:
            lines.append(t("sum.threads", n=threads, calmed=int(facts.get("threads_calmed") or 0)))
        else:
            lines.append(t("sum.threads_none"))
        if facts.get("ugc"):
            lines.append(
                t("sum.ugc", n=facts["ugc"], nominations=int(facts.get("nominations") or 0))
            )
    else:
        lines.append(t("sum.no_data"))
    alerts = int(facts.get("alerts") or 0)
    if facts.get("acks_recorded"):
        lines.append(t("sum.alerts", n=alerts, acked=int(facts.get("alerts_acked") or 0)))
    else:
        lines.append(t("sum.alerts_no_ack", n=alerts))
    if facts.get("coordination"):
        lines.append(t("sum.coordination", n=facts["coordination"]))
    downtime = {p: s for p, s in (facts.get("downtime") or {}).items() if s and s >= 60}
    if downtime:
        parts = [
            t(
                "sum.health_part",
                platform=i18n.platform_name(lang, p),
                duration=i18n.hours_minutes(lang, s),
            )
            for p, s in downtime.items()
        ]
        lines.append(t("sum.health", parts=i18n.t(lang, "sep.clause").join(parts)))
    elif facts.get("has_data"):  # without data, "no interruption" would claim too much
        lines.append(t("sum.health_ok"))
    return lines


def _share(language: str, share: Any) -> str:
    """[estimate, low, high] as `61%（58–64%）` (zh) or `61% (58–64%)`."""
    estimate, low, high = (float(v) for v in share)
    return f"{estimate:.0%}" + i18n.t(language, "paren", text=f"{low:.0%}–{high:.0%}")


def _paren(language: str, text: str) -> str:
    if not text or text == "–":
        return ""
    return i18n.t(language, "paren", text=text)
