"""The VRAM panel: a breakdown bar by term, total against the GPU size, the verdict and the suggested changes."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

# Colour and glyph per term: the glyph keeps the bar readable under NO_COLOR.
TERM_STYLE = {
    "weights": ("blue", "█"), "trainable": ("green", "▓"), "gradients": ("yellow", "▒"),
    "optimizer": ("magenta", "░"), "activations": ("cyan", "▚"), "logits": ("red", "▞"),
    "reference model": ("bright_blue", "▤"), "overhead": ("white", "▥"),
}
VERDICT_STYLE = {"fits": "bold green", "tight": "bold yellow", "won't fit": "bold red"}


def breakdown_bar(terms: list[dict[str, Any]], width: int, capacity: float | None) -> Text:
    """One line: each term a run of its glyph proportional to its size; free GPU memory as `·`."""
    total = sum(float(t.get("gib", 0)) for t in terms)
    scale = max(total, capacity or 0.0) or 1.0
    bar = Text()
    used = 0
    for t in terms:
        gib = float(t.get("gib", 0))
        if gib <= 0:
            continue
        n = max(1, round(gib / scale * width))
        n = min(n, width - used)
        colour, glyph = TERM_STYLE.get(t["name"], ("white", "#"))
        bar.append(glyph * n, style=colour)
        used += n
    if capacity and used < width:
        bar.append("·" * (width - used), style="dim")
    return bar


def render_estimate(est: dict[str, Any] | None, width: int = 34, error: str | None = None) -> Text:
    """The panel's content from an estimate as `Estimate.to_dict()` gives it."""
    text = Text()
    text.append("VRAM estimate (peak per GPU)\n", style="bold")
    if error:
        text.append("\n" + error + "\n", style="red")
        return text
    if est is None:
        text.append("\nestimating…\n", style="dim")
        return text
    gpu = est.get("gpu_memory_gib")
    total = float(est.get("total_gib", 0))
    terms = [t for t in est.get("terms", []) if t.get("bytes", 0) > 0]
    text.append(f"\n{total:.2f} GiB", style="bold")
    text.append(f" of {gpu:.1f} GiB GPU\n" if gpu else " (no GPU detected: set GPU GiB below)\n")
    text.append_text(breakdown_bar(terms, width, gpu))
    text.append("\n")
    verdict = est.get("verdict")
    if verdict:
        text.append(f"verdict: {verdict}\n", style=VERDICT_STYLE.get(verdict, "bold"))
    text.append("\n")
    for t in terms:
        colour, glyph = TERM_STYLE.get(t["name"], ("white", "#"))
        text.append(f"{glyph} ", style=colour)
        text.append(f"{t['name']:<16}{float(t['gib']):>7.2f} GiB\n")
    params, trainable = est.get("params"), est.get("trainable_params")
    if params:
        text.append(f"\n{params / 1e6:.1f}M params, {trainable / 1e6:.2f}M trainable\n", style="dim")
    suggestions = est.get("suggestions") or []
    if suggestions:
        text.append("\nto save memory:\n", style="bold")
        for s in suggestions:
            text.append(f"• {s['change']}: −{s['saves_gib']:.2f} GiB\n")
            for override in s.get("set", []):
                text.append(f"    --set {override}\n", style="dim")
    return text


class VramPanel(Static):
    """Shows the latest estimate; `show()` replaces it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(render_estimate(None), **kwargs)

    def show(self, est: dict[str, Any] | None, error: str | None = None) -> None:
        width = max(10, (self.size.width or 36) - 2)
        self.update(render_estimate(est, width=min(width, 60), error=error))
