"""The red-flag rules on real training logs: per log, the alerts a careful reading expects against those the rules
raise, a rule × run confusion table, and recall / false-alarm figures for the tuning set and the held-out set.

    python bench/health_corpus.py [--corpus tests/traces/public] [--verbose]

The corpus is `tests/traces/public/` (real `trainer_state.json` logs with their source and a reading of each in
`manifest.json`). Prints figures; asserts nothing (`tests/unit/verdict/test_public_corpus.py` holds the verdicts).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.verdict.healthcheck import check  # noqa: E402


def judge(corpus: Path) -> list[dict]:
    """Each manifest entry with the alerts the rules raise on its log."""
    rows = []
    for entry in json.loads((corpus / "manifest.json").read_text()):
        result = check(str(corpus / entry["file"]))
        raised = sorted({a.rule for a in result.alerts})
        rows.append({**entry, "raised": raised, "assumed": result.assumed})
    return rows


def figures(rows: list[dict]) -> dict[str, float | int]:
    """Recall of the expected alerts, broken runs fully named, healthy runs with any warning, extra alerts."""
    expected = sum(len(r["expected_alerts"]) for r in rows)
    found = sum(len(set(r["expected_alerts"]) & set(r["raised"])) for r in rows)
    broken = [r for r in rows if r["verdict"] == "broken"]
    healthy = [r for r in rows if r["verdict"] == "healthy"]
    return {
        "logs": len(rows), "expected alerts": expected, "raised of them": found,
        "recall": found / expected if expected else 1.0,
        "broken runs": len(broken),
        "broken runs with every expected alert": sum(set(r["expected_alerts"]) <= set(r["raised"]) for r in broken),
        "broken runs with no alert at all": sum(not r["raised"] for r in broken),
        "healthy runs": len(healthy), "healthy runs with a warning": sum(bool(r["raised"]) for r in healthy),
        "extra alerts (not expected) on any run": sum(len(set(r["raised"]) - set(r["expected_alerts"])) for r in rows),
    }


def confusion(rows: list[dict]) -> str:
    """Rule × run: `✓` expected and raised, `✗` expected and missed, `!` raised but not expected."""
    rules = sorted({a for r in rows for a in (*r["expected_alerts"], *r["raised"])})
    width = max(len(r["file"]) for r in rows) - 5
    head = " " * width + "  " + " ".join(f"{i:>2}" for i in range(1, len(rules) + 1))
    lines = [head]
    for r in rows:
        marks = []
        for rule in rules:
            exp, got = rule in r["expected_alerts"], rule in r["raised"]
            marks.append(" ✓" if exp and got else " ✗" if exp else " !" if got else " ·")
        held = "*" if r["held_out"] else " "
        lines.append(f"{r['file'][:-5]:<{width}}{held} " + " ".join(marks))
    lines.append("")
    lines += [f"{i:>2} {rule}" for i, rule in enumerate(rules, 1)]
    lines.append("* held out: the rules were tuned without them (the blind check: tests/traces/public/README.md)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "traces" / "public")
    parser.add_argument("--verbose", action="store_true", help="also print each log's assumed method and alerts")
    args = parser.parse_args()
    rows = judge(args.corpus)
    print(confusion(rows))
    print()
    for label, part in (("tuning set", [r for r in rows if not r["held_out"]]),
                        ("held-out set", [r for r in rows if r["held_out"]]), ("all", rows)):
        f = figures(part)
        print(f"{label}: " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in f.items()))
    if args.verbose:
        print()
        for r in rows:
            print(f"{r['file']}: assumed {r['assumed']}; expected {r['expected_alerts']}; raised {r['raised']}")


if __name__ == "__main__":
    main()
