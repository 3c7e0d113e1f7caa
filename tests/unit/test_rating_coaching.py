"""The coaching rule of the HR rating view, on its own."""

from __future__ import annotations


def test_coaching_rule_never_lists_the_median_or_above() -> None:
    from bot.services.standings import coaching_cutoffs, needs_coaching

    scores = [5, 5, 5, 5, 4, 4, 4, 11 / 3, 3, 2]
    q1, median = coaching_cutoffs(scores, 3.0)
    assert median == 4 and 3.6 < q1 < 3.8
    listed = [s for s in scores if needs_coaching(s, 3.0, q1, median)]
    assert listed == [11 / 3, 3, 2]
    # A strong group: nobody below the threshold, only the lower quartile under the median.
    strong = [5.0] * 8 + [4.5, 4.8]
    q1, median = coaching_cutoffs(strong, 3.0)
    assert [s for s in strong if needs_coaching(s, 3.0, q1, median)] == [4.5, 4.8]
    # Everyone equal: nobody is below the median, so nobody is listed.
    q1, median = coaching_cutoffs([4.0] * 9, 3.0)
    assert not any(needs_coaching(4.0, 3.0, q1, median) for _ in range(9))
