"""Plain-text reporting shared by the command line and logs: tables, durations, per-zone totals."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Sequence

from console.engine.events import SessionSummary
from console.zones import zone_catalog


def format_duration(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a number of seconds; negative values clamp to zero."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    right_align: set[int] | frozenset[int] = frozenset(),
    wrap: dict[int, int] | None = None,
) -> str:
    """A fixed-width text table; ``wrap`` maps a column to the width it wraps at."""
    wrap = wrap or {}
    expanded: list[list[str]] = []
    for row in rows:
        cells = [
            textwrap.wrap(cell, wrap[i]) or [""] if i in wrap else [cell]
            for i, cell in enumerate(row)
        ]
        height = max(len(lines) for lines in cells)
        for line_no in range(height):
            expanded.append([lines[line_no] if line_no < len(lines) else "" for lines in cells])
    widths = [len(h) for h in headers]
    for row in expanded:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def render(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(width) if i in right_align else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([render(headers), rule, *(render(row) for row in expanded)])


#: Column headers of :func:`zone_summary_rows`.
ZONE_SUMMARY_HEADERS = ("zone", "duration", "mean µA", "charge µC", "net µC", "mean kΩ")


def format_net_charge(net_uc: float) -> str:
    """Signed charge with its direction: ``+12.3`` or ``−45.0`` (a true minus sign)."""
    text = f"{abs(net_uc):,.1f}"
    if text.strip("0.,") == "":
        return "0.0"
    return ("+" if net_uc > 0 else "−") + text


def zone_summary_rows(summary: SessionSummary) -> list[list[str]]:
    """Per-zone rows (:data:`ZONE_SUMMARY_HEADERS`) plus a total row.

    A zone visited by several steps is summed; mean current is charge over time under current,
    mean impedance is weighted by time under current. Net charge is signed: what was left one
    way under the probes (safety rule 9).
    """
    zones = zone_catalog()
    totals: dict[str, list[float]] = {}
    incomplete: set[str] = set()
    for step in summary.steps:
        entry = totals.setdefault(step.zone, [0.0, 0.0, 0.0, 0.0, 0.0])
        entry[0] += step.time_under_current_s
        entry[1] += step.charge_uc
        entry[4] += step.net_charge_uc
        if step.mean_impedance_kohm is not None and math.isfinite(step.mean_impedance_kohm):
            entry[2] += step.mean_impedance_kohm * step.time_under_current_s
            entry[3] += step.time_under_current_s
        if not step.completed:
            incomplete.add(step.zone)
    rows = []
    for zone_id, (time_on, charge, weighted_kohm, weight, net) in totals.items():
        name = zones[zone_id].name if zone_id in zones else zone_id
        if zone_id in incomplete:
            name += " (cut short)"
        rows.append(
            [
                name,
                format_duration(time_on),
                f"{charge / time_on:.0f}" if time_on else "0",
                f"{charge:,.1f}",
                format_net_charge(net),
                f"{weighted_kohm / weight:.1f}" if weight else "—",
            ]
        )
    time_all = sum(v[0] for v in totals.values())
    rows.append(
        [
            "TOTAL",
            format_duration(time_all),
            f"{summary.total_charge_uc / time_all:.0f}" if time_all else "0",
            f"{summary.total_charge_uc:,.1f}",
            format_net_charge(summary.total_net_charge_uc),
            "",
        ]
    )
    return rows
