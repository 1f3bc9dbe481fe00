"""The report's files: one JSON, one CSV per table, one self-contained HTML page.

The HTML opens offline: its charts are SVG drawn by matplotlib (Agg, no browser, nothing
downloaded) and inlined, with no script, font or stylesheet fetched from anywhere.
"""

from __future__ import annotations

import csv
import html
import io
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display on a customs server
import matplotlib.pyplot as plt
import orjson
from matplotlib import font_manager

from ctop_node.i18n import _

FORMATS = ("html", "json", "csv")
# Chinese and Kazakh labels: DejaVu has Cyrillic, a CJK font (Debian's WenQuanYi, Noto CJK)
# covers Chinese when installed; glyphs are drawn into the SVG as paths, so the file does not
# depend on the reader's fonts.
_CJK_FONTS = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC")


def _fonts() -> list[str]:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return ["DejaVu Sans", *(f for f in _CJK_FONTS if f in installed)]


def _titles() -> dict[str, str]:
    return {
        "volumes_sent": _("Report: our records by day, crossing point, channel and outcome"),
        "outbox_outcomes": _("Report: outbox entries by day, peer and outcome"),
        "channels": _("Report: channels the records took"),
        "volumes_refused": _("Report: records refused or rejected at ingest"),
        "volumes_received": _("Report: messages received from peers"),
        "records_received": _("Report: record versions stored from peers by crossing point"),
        "timeliness": _("Report: timeliness (seconds; median, p90, p99)"),
        "outages": _("Report: outage windows of the online channel (retried entries)"),
        "lock_share": _("Report: records that went by smart lock, and why"),
        "rejections": _("Report: rejections by code and field"),
        "versions_per_record": _("Report: versions per record (amendments)"),
        "discrepancies": _("Report: discrepancies by kind"),
        "received_by_type": _("Report: received messages by type (control results included)"),
        "reconciliation": _("Report: reconciliation with the peer's signed manifest"),
    }


def write_json(report: dict[str, Any], out: Path) -> Path:
    path = out / "report.json"
    path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2, default=str))
    return path


def write_csv(report: dict[str, Any], out: Path) -> list[Path]:
    written = []
    for name, table in report["tables"].items():
        path = out / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(table["columns"])
            w.writerows(table["rows"])
        written.append(path)
    return written


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    with warnings.catch_warnings():
        # Without a CJK font a Chinese label shows empty boxes; the report is still written.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: inline SVG


def _bar(labels: list[str], values: list[float], title: str, *, horizontal: bool = False) -> str:
    fig, ax = plt.subplots(figsize=(7, 3.2))
    if not labels:
        labels, values = ["-"], [0]
    if horizontal:
        ax.barh(labels, values, color="#3b6ea5")
    else:
        ax.bar(labels, values, color="#3b6ea5")
        ax.tick_params(axis="x", labelrotation=30)
    ax.set_title(title)
    return _svg(fig)


def _charts(report: dict[str, Any]) -> list[str]:
    tables = report["tables"]
    per_day: Counter[str] = Counter()
    for row in tables["volumes_sent"]["rows"]:
        per_day[row[0]] += row[-1]
    received_day: Counter[str] = Counter()
    for row in tables["volumes_received"]["rows"]:
        received_day[row[0]] += row[-1]
    days = sorted(set(per_day) | set(received_day))
    fig, ax = plt.subplots(figsize=(7, 3.2))
    x = range(len(days))
    ax.bar([i - 0.2 for i in x], [per_day[d] for d in days], width=0.4, label=_("Report: sent"))
    ax.bar(
        [i + 0.2 for i in x],
        [received_day[d] for d in days],
        width=0.4,
        label=_("Report: received"),
    )
    ax.set_xticks(list(x), days, rotation=30)
    ax.legend()
    ax.set_title(_("Report: volumes per day"))
    charts = [_svg(fig)]

    outcomes: Counter[str] = Counter()
    for row in tables["volumes_sent"]["rows"]:
        if row[3] != "to_send":
            outcomes[row[3]] += row[-1]
    for row in tables["outbox_outcomes"]["rows"]:
        outcomes[row[2]] += row[3]
    charts.append(
        _bar(list(outcomes), list(outcomes.values()), _("Report: outcomes"), horizontal=True)
    )

    channels = {row[0]: row[1] for row in tables["channels"]["rows"]}
    charts.append(_bar(list(channels), list(channels.values()), _("Report: channels")))

    fig, ax = plt.subplots(figsize=(7, 3.2))
    for name in ("clearance_to_receipt", "receipt_to_planned_crossing"):
        hist = report["histograms"][name]
        if hist:
            ax.step([b / 3600 for b, _n in hist], _cumulative(hist), where="post", label=name)
    ax.set_xlabel(_("Report: hours"))
    ax.set_ylim(0, 1.05)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    ax.set_title(_("Report: timeliness (cumulative share)"))
    charts.append(_svg(fig))

    rej = tables["rejections"]["rows"]
    charts.append(
        _bar(
            [f"{r[0]} {r[1]}" for r in rej],
            [r[3] for r in rej],
            _("Report: rejections by code"),
            horizontal=True,
        )
    )
    return charts


def table_titles() -> dict[str, str]:
    """The title of each report table, in the current language."""
    return _titles()


def chart_svgs(report: dict[str, Any]) -> list[str]:
    """The report's charts, each a standalone SVG document (the UI's report page shows them
    as images), titles in the current language. pyplot is not thread-safe: callers that
    run in several threads serialise their calls."""
    plt.rcParams["font.family"] = _fonts()
    return _charts(report)


def _cumulative(hist: list[list[int]] | list[tuple[int, int]]) -> list[float]:
    total = sum(n for _b, n in hist)
    seen, out = 0, []
    for _b, n in hist:
        seen += n
        out.append(seen / total)
    return out


def _table(title: str, table: dict[str, Any]) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table["columns"])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in table["rows"]
    )
    return f"<h2>{html.escape(title)}</h2><table><tr>{head}</tr>{body}</table>"


_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:70em}"
    "table{border-collapse:collapse;margin-bottom:1.5em}"
    "td,th{border:1px solid #bbb;padding:2px 6px;font-size:90%}"
    ".charts svg{max-width:48%;height:auto;display:inline-block}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:2px 1em}"
)


def write_html(report: dict[str, Any], out: Path) -> Path:
    plt.rcParams["font.family"] = _fonts()
    titles = _titles()
    heading = html.escape(_("Report: CTOP exchange evaluation"))
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{heading}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{heading} {html.escape(report['party'])}</h1>",
        "<p>"
        + html.escape(
            _("Report: period {start} to {end}, aggregates only, no record content").format(
                start=report["period"]["from"], end=report["period"]["to"]
            )
        )
        + "</p>",
        "<dl>",
    ]
    for key, value in report["totals"].items():
        parts.append(f"<dt>{html.escape(key)}</dt><dd>{value}</dd>")
    parts.append("</dl><div class='charts'>")
    parts.extend(f"<figure>{svg}</figure>" for svg in _charts(report))
    parts.append("</div>")
    rel = report["reliability"]
    parts.append(
        "<p>"
        + html.escape(
            _(
                "Report: share by lock because the online channel failed: {share} "
                "(threshold {threshold})"
            ).format(share=rel["fallback_share"], threshold=rel["fallback_threshold"])
        )
        + "</p>"
    )
    for name, table in report["tables"].items():
        parts.append(_table(titles.get(name, name), table))
    parts.append("</body></html>")
    path = out / "report.html"
    path.write_text("".join(parts), "utf-8")
    return path


def write_report(report: dict[str, Any], out: Path, fmt: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        return [write_json(report, out)]
    if fmt == "csv":
        return write_csv(report, out)
    return [write_html(report, out)]
