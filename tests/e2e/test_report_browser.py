"""The HTML report opens in headless Chromium (Debian's) with nothing fetched, and its charts
are drawn: the screenshot holds the bar colour of the charts."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from ctop_node.reports.evaluation import build_report
from ctop_node.reports.render import write_report
from ctop_node.store import SqlStore
from tests.unit.reports.test_report_days import DAYS, _history

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BAR = (0x3B, 0x6E, 0xA5)  # render.py's bar colour


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")
def test_html_report_renders_its_charts_in_headless_chromium(
    store: SqlStore, record_dict: dict[str, Any], tmp_path: Path
) -> None:
    _history(store, record_dict)
    report = build_report(store, "KZ", DAYS[0], DAYS[-1], now=datetime(2026, 11, 4, tzinfo=UTC))
    (page,) = write_report(report, tmp_path / "out", "html")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1200,2400",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with Image.open(shot) as img:
        colours = img.convert("RGB").getcolors(maxcolors=1 << 24) or []
    bar = 0
    for n, px in colours:
        assert isinstance(px, tuple)
        if all(abs(int(a) - b) <= 8 for a, b in zip(px, BAR, strict=True)):
            bar += n
    assert bar > 2000, f"no chart bars drawn ({bar} pixels of the bar colour)"
