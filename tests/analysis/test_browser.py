"""Open the generated HTML in a real headless Chromium: it must render, with every point."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from greensearch.analysis import figure2, frontier_figure, pareto_frontier, write_html, write_png

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (CI: apt-get install -y chromium)"
)
_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    cmd = [str(CHROMIUM), *_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, timeout=60, check=True)


def _read_png(path: Path) -> np.ndarray:
    """Decode an 8-bit non-interlaced RGB(A) PNG (no Pillow needed)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert header is not None
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0
    bpp = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, width * bpp + 1)
    out = np.zeros((height, width * bpp), dtype=np.uint8)
    prev = [0] * (width * bpp)
    for y in range(height):
        kind, line = int(raw[y, 0]), raw[y, 1:].tolist()
        if kind == 0:
            row = line
        elif kind == 2:
            row = [(x + b) & 0xFF for x, b in zip(line, prev, strict=True)]
        else:  # sub, average, paeth: each byte depends on the one bpp to its left
            row = [0] * len(line)
            for i, x in enumerate(line):
                a = row[i - bpp] if i >= bpp else 0
                b = prev[i]
                if kind == 1:
                    pred = a
                elif kind == 3:
                    pred = (a + b) >> 1
                else:
                    c = prev[i - bpp] if i >= bpp else 0
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                row[i] = (x + pred) & 0xFF
        out[y], prev = row, row
    return out.reshape(height, width, bpp)[:, :, :3]


def test_figure2_renders_all_points_in_chromium(paper: pd.DataFrame, tmp_path: Path) -> None:
    html = write_html(figure2(paper, stage="eval", budget_f1_pct=1.0), tmp_path / "fig2.html")
    url = html.resolve().as_uri()
    dom = _chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", url).stdout.decode()
    # every variant gets a labelled marker; the oracle adds one unlabelled gold star on top
    assert dom.count('class="textpoint"') == len(paper) == 31
    oracle = pareto_frontier(paper, budget_f1_pct=1.0).oracle
    markers = len(re.findall(r'class="point[ "]', dom))
    assert markers == len(paper) + (1 if oracle is not None else 0)

    shot = tmp_path / "fig2.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,900", url)
    pixels = _read_png(shot)
    assert pixels.shape[:2] == (900, 1200)
    non_white = (pixels < 245).any(axis=2).mean()
    colours = len(np.unique(pixels.reshape(-1, 3), axis=0))
    assert non_white > 0.05, f"screenshot looks blank ({non_white:.1%} non-white)"
    assert colours > 100
    green = np.array([0x2C, 0xA0, 0x2C])  # the 'both down' marker colour is on screen
    assert (np.abs(pixels - green).sum(axis=2) < 30).sum() > 50


def test_png_export_through_kaleido(paper: pd.DataFrame, tmp_path: Path) -> None:
    out = write_png(frontier_figure(paper, budget_f1_pct=1.0), tmp_path / "frontier.png")
    pixels = _read_png(out)
    assert (pixels < 245).any(axis=2).mean() > 0.02
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50


def test_study_report_renders_in_chromium(replay_journal: str, tmp_path: Path) -> None:
    """The report of a *replayed* default-task study (modelled energies, not measured)."""
    from greensearch.analysis import study_report, write_report

    report = study_report(replay_journal, "default-replay")
    url = write_report(report, tmp_path / "report.html").resolve().as_uri()
    dom = _chromium(tmp_path, "--virtual-time-budget=15000", "--dump-dom", url).stdout.decode()
    assert dom.count('class="main-svg"') >= 3 * 2  # three figures drew (plotly: 2 svgs each)
    # Figure 2 and the frontier label every knob set
    assert dom.count('class="textpoint"') >= 2 * len(report.table)
    shot = tmp_path / "report.png"
    _chromium(
        tmp_path,
        f"--screenshot={shot}",
        "--window-size=1200,1600",
        "--virtual-time-budget=15000",
        url,
    )
    pixels = _read_png(shot)
    non_white = (pixels < 245).any(axis=2).mean()
    assert non_white > 0.05, f"screenshot looks blank ({non_white:.1%} non-white)"
    yellow = np.array([0xFF, 0xF9, 0xDC])  # the oracle box is on the first screen
    assert (np.abs(pixels.astype(int) - yellow).sum(axis=2) < 6).sum() > 1000
