"""Reviewer allocation cost: the heap-based allocate() against the previous scanning version.

Run: .venv/bin/python benchmarks/homework_allocation.py [N ...]   (default 100 1000 5000, k=5)

Project-wide assignments allocate thousands of members at once (schools play the part of study
groups). ``allocate_scan`` below is a verbatim copy of lms/homework/allocation.py's allocate()
before the heap (it scanned the whole pool for every pair: O(N^2 k)); both run on the same inputs
and seed, and their results are checked to be identical.
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lms.homework.allocation import (  # noqa: E402
    DEFAULT_REVIEWS,
    Allocation,
    AllocationError,
    Pair,
    Participant,
    _check_unique,
    allocate,
)

# --- baseline: copied from lms/homework/allocation.py before the heap -----------------------------


def allocate_scan(
    submitters: Sequence[Participant],
    reviewers: Sequence[Participant],
    *,
    reviews_per_reviewer: int = DEFAULT_REVIEWS,
    reviews_per_submission: int | None = None,
    existing: Iterable[Pair] = (),
    exclude_same_group: bool = False,
    rng: random.Random | None = None,
    preferred: Collection[int] | None = None,
) -> Allocation:
    """Allocate new reviewer→submission pairs.

    ``reviews_per_reviewer`` is what each reviewer owes in total (existing pairs count).
    ``reviews_per_submission`` caps what each submission receives; None means "no cap": rounds
    go on while reviewers still owe reviews, so every reviewer can reach the required number even
    when there are fewer submissions than reviewers.
    ``preferred``: reviewers picked before the others at equal group standing (the members who
    submitted: those who never did are the likeliest never to review, and a submission whose
    reviewers are all inactive gets no peer grade).
    """
    if reviews_per_reviewer < 0:
        raise AllocationError("reviews_per_reviewer must be >= 0")
    if reviews_per_submission is not None and reviews_per_submission < 0:
        raise AllocationError("reviews_per_submission must be >= 0")
    _check_unique(submitters, "submitters")
    _check_unique(reviewers, "reviewers")
    rng = rng if rng is not None else random.Random()  # noqa: S311 - fairness, not secrecy

    taken: set[Pair] = set()
    for pair in existing:
        if pair.reviewer == pair.author:
            raise AllocationError(f"existing pair {pair} is a self-review")
        if pair in taken:
            raise AllocationError(f"existing pair {pair} appears twice")
        taken.add(pair)

    group_of: dict[int, int | None] = {p.id: p.group for p in submitters}
    for p in reviewers:
        group_of.setdefault(p.id, p.group)
    # Sorted ids, then a seeded shuffle: deterministic given the seed, whatever the input order.
    authors = sorted(p.id for p in submitters)
    rng.shuffle(authors)
    order = {a: i for i, a in enumerate(authors)}
    pool = sorted(p.id for p in reviewers)
    rng.shuffle(pool)
    # A random rank breaks ties fairly but reproducibly.
    rank = {rid: i for i, rid in enumerate(pool)}

    favour = set(pool) if preferred is None else set(preferred)
    load = Counter(pair.reviewer for pair in taken)  # existing work counts towards the workload
    received = Counter(pair.author for pair in taken)
    capacity = {rid: max(0, reviews_per_reviewer - load[rid]) for rid in pool}
    target = reviews_per_submission
    result = Allocation()

    def same_group(reviewer: int, author: int) -> bool:
        g = group_of.get(reviewer)
        return g is not None and g == group_of.get(author)

    def eligible(reviewer: int, author: int) -> bool:
        return reviewer != author and Pair(reviewer, author) not in taken

    def add(reviewer: int, author: int) -> None:
        pair = Pair(reviewer, author)
        taken.add(pair)
        result.pairs.append(pair)
        if exclude_same_group and same_group(reviewer, author):
            result.fallbacks.add(pair)
        load[reviewer] += 1
        received[author] += 1
        capacity[reviewer] -= 1

    def remove(pair: Pair) -> None:
        taken.discard(pair)
        result.pairs.remove(pair)
        result.fallbacks.discard(pair)
        load[pair.reviewer] -= 1
        received[pair.author] -= 1
        capacity[pair.reviewer] += 1

    def pick(author: int) -> int | None:
        candidates = [r for r in pool if capacity[r] > 0 and eligible(r, author)]
        if not candidates:
            return None
        # Other groups first (when asked), then preferred reviewers, then the lowest workload,
        # then the random rank.
        return min(
            candidates,
            key=lambda r: (exclude_same_group and same_group(r, author), r not in favour, load[r], rank[r]),
        )

    def repair(author: int, allow_same_group: bool, only: set[int] | None = None) -> bool:
        """Free a slot for ``author`` by a swap among the new pairs.

        Greedy can corner itself: the only reviewer with capacity left may be the author or
        someone already reviewing them. Swap: a new pair (r2, a2) becomes (r, a2) and (r2, author),
        which keeps every count except the author's, who gains one.
        """
        free = [r for r in pool if capacity[r] > 0 and (only is None or r in only)]
        for r in free:
            for pair in list(result.pairs):
                r2, a2 = pair.reviewer, pair.author
                if not (eligible(r, a2) and eligible(r2, author)) or r2 == r:
                    continue
                if not allow_same_group and (same_group(r, a2) or same_group(r2, author)):
                    continue
                remove(pair)
                add(r, a2)
                add(r2, author)
                return True
        return False

    level = 0
    while authors and pool:
        level += 1
        if target is not None and level > target:
            break
        progress = False
        # Everyone below this level, lowest received first: late submissions are served first.
        waiting = sorted((a for a in authors if received[a] < level), key=lambda a: (received[a], order[a]))
        for author in waiting:
            while received[author] < level and any(capacity.values()):
                reviewer = pick(author)
                fallback = reviewer is not None and exclude_same_group and same_group(reviewer, author)
                if (
                    reviewer is not None
                    and not fallback
                    and reviewer not in favour
                    and repair(author, allow_same_group=not exclude_same_group, only=favour)
                ):
                    pass  # a swap let a preferred reviewer take it after all
                elif reviewer is not None and not fallback:
                    add(reviewer, author)
                elif exclude_same_group and repair(author, allow_same_group=False):
                    pass  # a swap found an outsider after all: better than a same-group pair
                elif reviewer is not None:
                    add(reviewer, author)  # same group, reported in fallbacks
                elif not repair(author, allow_same_group=True):
                    break  # nobody can review this author any more; the others still go on
                progress = True
        if not any(capacity.values()) or (waiting and not progress):
            break  # all work given out, or stuck: more levels cannot add anything

    if target is not None:
        result.missing_reviews = {a: target - received[a] for a in sorted(authors) if received[a] < target}
    result.spare_capacity = {r: capacity[r] for r in sorted(pool) if capacity[r] > 0}
    return result


# --- the run ---------------------------------------------------------------------------------------


def members(n: int, seed: int) -> tuple[list[Participant], list[Participant]]:
    """n members in schools of about 30; about 80% of them submitted."""
    rng = random.Random(seed)
    people = [Participant(i, i // 30) for i in range(1, n + 1)]
    submitters = [p for p in people if rng.random() < 0.8]
    return submitters, people


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t0, out


def main(sizes: list[int]) -> None:
    k = 5
    print(f"{'N':>6} {'pairs':>7} {'scan (old)':>12} {'heap (new)':>12} {'ratio':>8}")
    for n in sizes:
        submitters, people = members(n, n)
        kw = {"reviews_per_reviewer": k, "reviews_per_submission": k, "exclude_same_group": True,
              "preferred": {p.id for p in submitters}}  # fmt: skip
        old_t, old = timed(allocate_scan, submitters, people, rng=random.Random(7), **kw)
        new_t, new = timed(allocate, submitters, people, rng=random.Random(7), **kw)
        assert new.pairs == old.pairs and new.fallbacks == old.fallbacks, "results differ"
        assert new.missing_reviews == old.missing_reviews and new.spare_capacity == old.spare_capacity
        print(f"{n:>6} {len(new.pairs):>7} {old_t:>11.3f}s {new_t:>11.3f}s {old_t / new_t:>7.1f}x")


if __name__ == "__main__":
    main([int(x) for x in sys.argv[1:]] or [100, 1000, 5000])
