"""The console's words, read from pingfan's one catalogue (alerts/i18n, keys `web.*`).

Templates call `t("key", name=value)`; a missing key shows the key itself.
"""

from __future__ import annotations

from typing import Any

from alerts import i18n


class Texts:
    """The console's words in one language: its own keys are `web.*` in alerts/i18n; a key
    that is a shared name there (`platform.weibo`, `label.neutral`...) is read as it is."""

    def __init__(self, language: str) -> None:
        self.language = i18n.lang_of(language)
        self._texts = i18n.CATALOGUES[self.language]

    def __call__(self, key: str, **values: Any) -> str:
        text = self._texts.get(f"web.{key}", self._texts.get(key))
        if text is None:
            return key
        return text.format(**values) if values else text
