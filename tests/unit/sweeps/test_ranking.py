"""Ranking sweep members: best only when its interval excludes the runner-up's; seeds ranked by their mean."""

from __future__ import annotations

from engine.sweeps.ranking import PointResult, Score, higher_is_better, rank_points, tie_note


def point(label: str, *scores: Score) -> PointResult:
    return PointResult(label, {"method.beta": label}, [], list(scores))


def test_best_only_when_the_intervals_are_apart() -> None:
    apart = [point("0.1", Score(0.70, 0.62, 0.78)), point("0.5", Score(0.50, 0.41, 0.59))]
    rank_points(apart, higher=True)
    assert [(p.rank, p.mark) for p in apart] == [(1, "best"), (2, "")]
    close = [point("0.1", Score(0.60, 0.50, 0.70)), point("0.5", Score(0.55, 0.45, 0.65)),
             point("1.0", Score(0.30, 0.20, 0.40))]
    rank_points(close, higher=True)
    assert [(p.rank, p.mark) for p in close] == [(1, "tied"), (2, "tied"), (3, "")]
    assert tie_note(close).startswith("tied: 1 other point overlaps the top one's interval")
    assert tie_note(apart) is None


def test_the_tie_note_says_why_no_point_is_best() -> None:
    three = [point(b, Score(v, v - 0.15, v + 0.15)) for b, v in (("0.05", 0.25), ("0.1", 0.22), ("0.5", 0.21))]
    rank_points(three, higher=True)
    assert tie_note(three).startswith("tied: 2 other points overlap the top one's interval")
    bare = [point("0.1", Score(0.094)), point("0.5", Score(0.094))]  # one seed of a figure without an interval
    rank_points(bare, higher=True)
    assert "no interval" in tie_note(bare) and "--seeds" in tie_note(bare)


def test_without_intervals_nothing_is_called_best() -> None:
    points = [point("a", Score(0.40)), point("b", Score(0.35))]
    rank_points(points, higher=False)  # a loss: lower is better
    assert [(p.label, p.rank, p.mark) for p in points] == [("a", 2, "tied"), ("b", 1, "tied")]


def test_seeds_rank_by_mean_and_show_their_spread() -> None:
    steady = point("0.1", Score(0.60, 0.55, 0.65), Score(0.62, 0.57, 0.67))
    noisy = point("0.5", Score(0.80, 0.70, 0.90), Score(0.30, 0.20, 0.40))
    rank_points([steady, noisy], higher=True)
    assert steady.rank == 1 and noisy.rank == 2  # mean 0.61 beats 0.55
    assert noisy.spread == (0.30, 0.80) and noisy.interval == (0.20, 0.90)
    assert steady.mark == "tied"  # the noisy point's range reaches above the steady one's
    lone = point("x", Score(0.5), Score(0.7))
    assert lone.interval == (0.5, 0.7)  # seeds without a CI: their range


def test_unscored_points_are_unranked_and_direction_defaults() -> None:
    done, waiting = point("a", Score(0.9, 0.8, 1.0)), point("b")
    rank_points([done, waiting], higher=True)
    assert done.rank == 1 and waiting.rank is None and waiting.mean is None
    assert higher_is_better("eval:loss", None) is False and higher_is_better("headline", None) is True
    assert higher_is_better("eval:loss", "max") is True
