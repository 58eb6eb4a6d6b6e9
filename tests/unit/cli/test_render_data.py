"""`reins data sample` shows a pair's answers side by side on a wide terminal and stacked at 80 columns; inspect's
length-bias line says what the figures mean."""

from __future__ import annotations

import io

from rich.console import Console

from engine.cli.render_data import sample_view
from engine.data.inspect_text import bias_line

RESULT = {"source": "p.jsonl", "format": "trl", "rows": 3, "seed": 0,
          "sample": [{"row": 2, "prompt": "Why?", "chosen": "Because.", "rejected": "No idea."}]}


def lines_at(width: int) -> list[str]:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(sample_view(RESULT, width))
    return console.export_text().splitlines()


def test_answers_side_by_side_when_wide_and_stacked_at_80_columns() -> None:
    wide = lines_at(120)
    assert any("chosen" in line and "rejected" in line for line in wide)
    narrow = lines_at(80)
    assert not any("chosen" in line and "rejected" in line for line in narrow)
    assert [i for i, line in enumerate(narrow) if "chosen" in line] < [i for i, line in enumerate(narrow)
                                                                        if "rejected" in line]


def test_bias_line_reads_share_interval_and_ratio() -> None:
    bias = {"pairs": 288, "share_chosen_longer": 0.2569, "ci95": [0.2099, 0.3104], "same_length": 2,
            "length_ratio": 0.718}
    assert bias_line(bias) == ("chosen longer in 26% of 288 pairs (95% CI 21%–31%; 2 equal), mean length ratio "
                                "chosen/rejected 0.72×")
