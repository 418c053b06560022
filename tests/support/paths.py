"""Where the repository is, for tests that read its shipped files (config.toml, fixtures)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
