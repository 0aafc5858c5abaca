"""The oracle's stable mark in Python (PriceOracle._stable, issue 19): the
reference the contract tests hold it to, and what the tooling uses to say when
an account the mark holds becomes liquidatable.

The mark follows the feed at most `rate` billionths of itself a second, and in
full once a move has stood `window` seconds. A round that stood a whole window
was followed in full, so the mark starts there exactly: the newest such round
within the STABLE_ROUNDS newest (never past the round the feed was configured
at); without one, at the median of the rounds read, which no single bad round
can be. From the start it moves towards each later round's answer for as long
as that answer stood.
"""

RATE_UNIT = 10**9  # PriceOracle.RATE_UNIT: the rate is in billionths of the price a second
STABLE_ROUNDS = 8  # PriceOracle.STABLE_ROUNDS


def stable_mark(rounds: list[tuple[int, int]], now: int, rate: int, window: int, baseline: int = 0) -> int:
    """The stable mark at `now` of `rounds` ([(price WAD, updated_at)], oldest
    first; index `baseline` is the round the feed was configured at, never
    walked past), all of them readable and in time order."""
    price, updated_at = rounds[-1]
    if rate == 0 or now - updated_at >= window:
        return price
    # dev: newest first, as the contract walks them.
    walked, i, start = [rounds[-1]], len(rounds) - 1, None
    while len(walked) < STABLE_ROUNDS and i > baseline:
        i -= 1
        walked.append(rounds[i])
        if rounds[i + 1][1] - rounds[i][1] >= window:
            start = len(walked) - 1  # it stood a window: the mark was its price when the next round came
            break
    if start is None:
        start = median_round([p for p, _ in walked], price)
    mark = walked[start][0]
    for k in range(start - 1, -1, -1):
        until = now if k == 0 else walked[k - 1][1]
        step = mark * rate * (until - walked[k][1]) // RATE_UNIT
        target = walked[k][0]
        mark = min(target, mark + step) if target > mark else max(target, mark - min(step, mark))
    return mark


def median_round(answers: list[int], latest: int) -> int:
    """The index of the median answer (newest first on equal answers); of two
    middle ones, the farther from `latest` (the lower on a tie)."""
    order = sorted(range(len(answers)), key=lambda k: answers[k])
    low, high = order[(len(answers) - 1) // 2], order[len(answers) // 2]
    return high if abs(answers[high] - latest) > abs(answers[low] - latest) else low
