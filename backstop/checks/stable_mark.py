"""The oracle's stable mark in Python (PriceOracle._stable, issue 19): the
reference the contract tests hold it to, and what the tooling uses to say when
an account the mark holds becomes liquidatable.

The mark follows the feed at most `rate` billionths of itself a second, and in
full once a move has stood `window` seconds: it starts at the round in effect
`window` seconds ago (or the oldest of the STABLE_ROUNDS newest rounds, or the
round the feed was configured at) and moves towards each later round's answer
for as long as that answer stood.
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
    horizon = now - window
    walked, i = [rounds[-1]], len(rounds) - 1
    while len(walked) < STABLE_ROUNDS and rounds[i][1] > horizon and i > baseline:
        i -= 1
        walked.append(rounds[i])
    mark = walked[-1][0]
    for k in range(len(walked) - 2, -1, -1):
        until = now if k == 0 else walked[k - 1][1]
        step = mark * rate * (until - walked[k][1]) // RATE_UNIT
        target = walked[k][0]
        mark = min(target, mark + step) if target > mark else max(target, mark - min(step, mark))
    return mark
