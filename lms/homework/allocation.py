"""Allocation of peer reviewers to submissions: pure logic, no database.

The caller passes who submitted, who may review, how many reviews each reviewer owes and each
submission should get, and the pairs that already exist; it gets back the *new* pairs only, so
running it again after a late submission or a late joiner never moves existing work.

Properties (checked by tests/homework/test_allocation.py over many random cases):
- nobody reviews their own submission, and no pair (reviewer, author) appears twice;
- rounds: every submission gets its r-th review before any gets its (r+1)-th, so received
  counts stay within one of each other while reviewers have capacity;
- within a round the reviewer with the lowest workload is picked first (ties broken by the rng);
- with ``exclude_same_group`` a reviewer from another group is always preferred; a same-group
  reviewer is used only when nobody else can take the review, and such pairs are reported as
  fallbacks, so small groups never leave anyone waiting;
- given the same inputs and an ``random.Random`` with the same seed, the result is identical.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

DEFAULT_REVIEWS = 5  # DOMAIN.md §9: 5 peer reviews count in the score


@dataclass(frozen=True)
class Participant:
    """A submitter or a reviewer: the user id and the study group (None = no group)."""

    id: int
    group: int | None = None


@dataclass(frozen=True, order=True)
class Pair:
    """``reviewer`` reviews the submission of ``author``."""

    reviewer: int
    author: int


@dataclass
class Allocation:
    """Result of :func:`allocate`.

    ``pairs``: the new pairs, in the order they were made. ``fallbacks``: those new pairs that
    join two members of the same group although ``exclude_same_group`` was asked.
    ``missing_reviews``: submission author -> reviews still lacking towards
    ``reviews_per_submission`` (only when a target was given). ``spare_capacity``: reviewer ->
    reviews they still owe but could not be given (no eligible submission left).
    """

    pairs: list[Pair] = field(default_factory=list)
    fallbacks: set[Pair] = field(default_factory=set)
    missing_reviews: dict[int, int] = field(default_factory=dict)
    spare_capacity: dict[int, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.missing_reviews and not self.spare_capacity


class AllocationError(ValueError):
    """Invalid input to :func:`allocate` (the message says which)."""


def _check_unique(people: Sequence[Participant], what: str) -> None:
    seen: set[int] = set()
    for p in people:
        if p.id in seen:
            raise AllocationError(f"{what} lists user {p.id} twice")
        seen.add(p.id)


def allocate(
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

    # Reviewers with capacity left, kept up to date by add/remove: no scan of the pool per pair.
    free_fav = {r for r in pool if capacity[r] > 0 and r in favour}
    free_other = {r for r in pool if capacity[r] > 0 and r not in favour}
    # Heap of (not preferred, load, rank, reviewer) with lazy deletion: an entry whose load is no
    # longer the reviewer's, or whose reviewer is full, is dropped when it surfaces. Popping in
    # this order and skipping the ineligible gives the same reviewer as a min() over the whole pool
    # (ranks are unique), in O(log N) plus the skipped: the author's own reviewers and, with
    # exclude_same_group, the author's group.
    heap = [(r not in favour, load[r], rank[r], r) for r in pool if capacity[r] > 0]
    heapq.heapify(heap)

    def same_group(reviewer: int, author: int) -> bool:
        g = group_of.get(reviewer)
        return g is not None and g == group_of.get(author)

    def eligible(reviewer: int, author: int) -> bool:
        return reviewer != author and Pair(reviewer, author) not in taken

    def set_capacity(reviewer: int, delta: int) -> None:
        capacity[reviewer] += delta
        free = free_fav if reviewer in favour else free_other
        if capacity[reviewer] > 0:
            free.add(reviewer)
            heapq.heappush(heap, (reviewer not in favour, load[reviewer], rank[reviewer], reviewer))
        else:
            free.discard(reviewer)

    def add(reviewer: int, author: int) -> None:
        pair = Pair(reviewer, author)
        taken.add(pair)
        result.pairs.append(pair)
        if exclude_same_group and same_group(reviewer, author):
            result.fallbacks.add(pair)
        load[reviewer] += 1
        received[author] += 1
        set_capacity(reviewer, -1)

    def remove(pair: Pair) -> None:
        taken.discard(pair)
        result.pairs.remove(pair)
        result.fallbacks.discard(pair)
        load[pair.reviewer] -= 1
        received[pair.author] -= 1
        set_capacity(pair.reviewer, +1)

    def pick(author: int) -> int | None:
        # Other groups first (when asked), then preferred reviewers, then the lowest workload,
        # then the random rank.
        skipped = []
        seen: set[int] = set()
        found = fallback = None
        while heap:
            entry = heapq.heappop(heap)
            r = entry[3]
            if r in seen or capacity[r] <= 0 or entry[1] != load[r]:
                continue  # stale or duplicate: a current entry exists, or the reviewer is full
            seen.add(r)
            skipped.append(entry)
            if not eligible(r, author):
                continue
            if exclude_same_group and same_group(r, author):
                if fallback is None:
                    fallback = r
                continue
            found = r
            break
        for entry in skipped:
            heapq.heappush(heap, entry)
        return found if found is not None else fallback

    def repair(author: int, allow_same_group: bool, only: set[int] | None = None) -> bool:
        """Free a slot for ``author`` by a swap among the new pairs.

        Greedy can corner itself: the only reviewer with capacity left may be the author or
        someone already reviewing them. Swap: a new pair (r2, a2) becomes (r, a2) and (r2, author),
        which keeps every count except the author's, who gains one.
        """
        if only is favour:
            free = sorted(free_fav, key=rank.__getitem__)
        else:
            free = sorted(free_fav | free_other, key=rank.__getitem__)
            if only is not None:
                free = [r for r in free if r in only]
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
            while received[author] < level and (free_fav or free_other):
                reviewer = pick(author)
                fallback = reviewer is not None and exclude_same_group and same_group(reviewer, author)
                if (
                    reviewer is not None
                    and not fallback
                    and reviewer not in favour
                    and free_fav
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
        if not (free_fav or free_other) or (waiting and not progress):
            break  # all work given out, or stuck: more levels cannot add anything

    if target is not None:
        result.missing_reviews = {a: target - received[a] for a in sorted(authors) if received[a] < target}
    result.spare_capacity = {r: capacity[r] for r in sorted(pool) if capacity[r] > 0}
    return result


def reassign(
    stale: Sequence[Pair],
    candidates: Sequence[Participant],
    *,
    existing: Iterable[Pair] = (),
    groups: dict[int, int | None] | None = None,
    exclude_same_group: bool = False,
    max_load: int | None = None,
    rng: random.Random | None = None,
) -> dict[Pair, Pair]:
    """Move reviews nobody started to other reviewers: returns stale pair -> its new pair.

    ``existing`` are all current pairs (the stale ones included); ``candidates`` the reviewers who
    may take more work (they finished theirs). Same rules as :func:`allocate`: never oneself, never
    a pair twice, another group first when asked, then the lowest workload (the moved pairs count),
    then a random rank; ``max_load`` caps a candidate's total. A stale pair nobody can take stays.
    """
    rng = rng if rng is not None else random.Random()  # noqa: S311 - fairness, not secrecy
    taken = set(existing)
    group_of = dict(groups or {})
    for p in candidates:
        group_of.setdefault(p.id, p.group)
    pool = sorted({p.id for p in candidates})
    rng.shuffle(pool)
    rank = {rid: i for i, rid in enumerate(pool)}
    load = Counter(pair.reviewer for pair in taken)
    moved: dict[Pair, Pair] = {}
    for old in sorted(set(stale)):
        author = old.author
        g = group_of.get(author)
        options = [
            r
            for r in pool
            if r != author
            and r != old.reviewer
            and Pair(r, author) not in taken
            and (max_load is None or load[r] < max_load)
        ]
        if not options:
            continue
        new = min(
            options,
            key=lambda r: (exclude_same_group and g is not None and group_of.get(r) == g, load[r], rank[r]),
        )
        taken.discard(old)
        load[old.reviewer] -= 1
        pair = Pair(new, author)
        taken.add(pair)
        load[new] += 1
        moved[old] = pair
    return moved
