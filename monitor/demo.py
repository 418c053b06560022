"""`pingfan demo`: the embedded default, runnable on a fresh machine with no config at all.

It grows with the product: today it sets up a store from an embedded config and reports what
is ready; the simulator replay joins when the simulator and collectors land.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from monitor.config import config_from_dict
from monitor.doctor import render, run_checks
from monitor.status import render_status
from monitor.store import Store

DEMO_CONFIG = {
    "storage": {"path": "pingfan-demo.db"},
    "topics": [{"name": "平凡大连人"}],
    "weibo": {"cookie_env": "PINGFAN_DEMO_NO_COOKIE"},
    "douyin": {"mode": "http", "cookie_env": "PINGFAN_DEMO_NO_COOKIE"},
    "sinks": [{"type": "console"}],
}


def run_demo(out: str | None) -> int:
    out_dir = Path(out) if out else Path(tempfile.mkdtemp(prefix="pingfan-demo-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    config = config_from_dict(DEMO_CONFIG, out_dir / "demo-config.toml")
    print("pingfan demo: embedded config, output in", out_dir)
    print(render(run_checks(config)))
    with Store.open(config.storage.path) as store:
        print(render_status(store, config))
    print("(the campaign replay arrives with the simulator and collector issues)")
    return 0
