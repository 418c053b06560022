"""The daemon's scoring worker carries the model and nothing else."""

from __future__ import annotations

import subprocess
import sys

import pytest

from monitor.runtime import scoring_worker
from monitor.runtime.scorer import Scorer

# Libraries of the daemon that the worker must not import (each costs MB in every process).
DAEMON_ONLY = ("aiohttp", "sqlite_utils", "telegram", "jinja2", "matplotlib", "jieba", "rich")


@pytest.mark.timeout(120)
async def test_the_worker_imports_only_the_model() -> None:
    scorer = Scorer("default", pooled=True)
    try:
        await scorer.start()
        assert [p.label for p in await scorer.predict(["太感人了", "堵死了，差评"])] == [
            "positive",
            "negative",
        ]
        pool = scorer._pool
        assert pool is not None
        modules = set(pool.submit(scoring_worker.imported_modules).result(timeout=60))
    finally:
        scorer.close()
    assert "nlp.sentiment" in modules and "marisa_trie" in modules
    assert not {m.split(".")[0] for m in modules} & set(DAEMON_ONLY)
    assert "monitor.cli" not in modules and "monitor.store" not in modules


def test_the_console_entry_imports_the_cli_only_when_it_runs() -> None:
    # The spawned worker re-runs the `pingfan` script: importing its entry must be cheap.
    code = "import sys, monitor.__main__; print('monitor.cli' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    version = subprocess.run(
        [sys.executable, "-m", "monitor", "--help"], capture_output=True, text=True, check=True
    )
    assert "pingfan" in version.stdout


def test_no_numpy_matplotlib_or_pkg_resources_in_the_daemons_imports() -> None:
    # Digest charts are drawn in a process of their own (files.write_digest(charts_apart)).
    code = (
        "import sys, monitor.cli, monitor.runtime.daemon, nlp.segment, monitor.demo,"
        " alerts.digest.scheduler, alerts.bot;"
        "print(sorted({'numpy', 'matplotlib', 'pkg_resources'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
