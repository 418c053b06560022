"""Headful browser mode (`[douyin] headless = false`) for real: Debian's Chromium with a window
on an Xvfb display (as the README's recipe runs it on a server), collecting from the strict
simulator, where only the page's own SDK can sign."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.douyin import expected_post_ids, rig
from tests.support.sim import bundled_world

CHROMIUM = Path("/usr/bin/chromium")
XVFB = shutil.which("Xvfb")
EARLY = bundled_world().start + timedelta(days=12)  # fewer videos: a quicker pass

# Skipped only outside CI: `make test` installs chromium and xvfb, so in CI a missing one fails.
pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM.exists() and XVFB) and not os.environ.get("CI"),
        reason="Debian's chromium or xvfb is not installed (make test installs both)",
    ),
    pytest.mark.timeout(300),
]


@pytest.fixture
def xvfb_display(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh Xvfb server on a free display (Xvfb picks it and writes its number), as
    $DISPLAY for this test; stopped afterwards."""
    assert XVFB, "Xvfb is not installed: make xvfb"
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        [XVFB, "-displayfd", str(write_end), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end) as announced:
            number = announced.readline().strip()
        assert number.isdigit(), "Xvfb did not start"
        display = f":{number}"
        monkeypatch.setenv("DISPLAY", display)
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        yield display
    finally:
        server.terminate()
        server.wait(timeout=10)


def chromium_processes() -> list[tuple[list[str], dict[str, str]]]:
    """(command line, environment) of every Chromium process this test process started."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    mine, found = {os.getpid()}, True
    while found:
        children = {pid for pid, parent in parents.items() if parent in mine} - mine
        found = bool(children)
        mine |= children
    processes = []
    for pid in mine - {os.getpid()}:
        try:
            argv = (Path(f"/proc/{pid}") / "cmdline").read_bytes().split(b"\0")
            environ = (Path(f"/proc/{pid}") / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        command = [arg.decode(errors="replace") for arg in argv if arg]
        # the browser process itself: its helpers (--type=...) rewrite their environ's memory
        # (they also rewrite their command line into one string)
        is_browser = "--type=" not in " ".join(command)
        if command and "chromium" in Path(command[0]).name and is_browser:
            pairs = (item.decode(errors="replace").partition("=") for item in environ if item)
            processes.append((command, {key: value for key, _, value in pairs}))
    return processes


async def test_headful_chromium_under_xvfb_collects_through_the_page(
    tmp_path: Path, xvfb_display: str
) -> None:
    options = {"mode": "browser", "signer": "", "chromium_path": str(CHROMIUM), "timeout": "5s",
               "headless": False}  # fmt: skip
    async with rig(tmp_path, at=EARLY, sim_options={"douyin_test_signer": False}, **options) as r:
        report = await r.run_pass()
        assert all(s.status == "ok" for s in report.steps), report.summary()
        assert r.post_ids() == expected_post_ids(r.world, r.clock.now())
        assert set(r.server.sim.douyin_signed_by) == {"page"}, "only the page's SDK signed"
        browsers = chromium_processes()
        assert len(browsers) == 1, "the browser is still open inside the rig"
        for command, environ in browsers:
            assert not any(arg.startswith("--headless") for arg in command), command[:3]
            assert environ.get("DISPLAY") == xvfb_display, "its window is on the Xvfb display"
