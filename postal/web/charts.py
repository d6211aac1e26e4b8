"""Inline SVG bar charts (no JavaScript, no external assets)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from .stats import SERIES, Bucket


WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 720, 180, 36, 22, 8
CSS_CLASS = {"outgoing": "bar-out", "incoming": "bar-in", "bounced": "bar-bounced",
             "held": "bar-held"}  # fmt: skip


def _nice_max(value: int) -> int:
    for step in (4, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return step
    magnitude = 10 ** (len(str(value)) - 1)
    return ((value // magnitude) + 1) * magnitude


def volume_chart(buckets: Sequence[Bucket], label_format: str, title: str) -> Markup:
    """Outgoing, incoming, bounced and held bars side by side per bucket, with a y-axis and a
    few labels; each bar's ``<title>`` is its tooltip (and what a screen reader says)."""
    top = _nice_max(max([getattr(b, s) for b in buckets for s in SERIES] + [1]))
    plot_w, plot_h = WIDTH - PAD_LEFT, HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_w / max(len(buckets), 1)
    bar = max((slot - 2) / len(SERIES), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for fraction in (0, 0.5, 1):
        y = PAD_TOP + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{PAD_LEFT}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{PAD_LEFT - 4}" y="{y + 4:.1f}" class="axis" text-anchor="end">'
            f"{top * fraction:g}</text>"
        )
    every = max(len(buckets) // 6, 1)
    for index, bucket in enumerate(buckets):
        x = PAD_LEFT + index * slot
        label = escape(bucket.start.strftime(label_format))
        for number, series in enumerate(SERIES):
            value = getattr(bucket, series)
            height = plot_h * value / top
            parts.append(
                f'<rect x="{x + number * bar:.1f}" y="{PAD_TOP + plot_h - height:.1f}" '
                f'width="{bar:.1f}" height="{height:.1f}" class="{CSS_CLASS[series]}">'
                f"<title>{label}: {value} {series}</title></rect>"
            )
        if index % every == 0:
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 6}" class="axis">{label}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
