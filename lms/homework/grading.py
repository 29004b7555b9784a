"""Grade arithmetic for peer-reviewed homework: pure functions, no database.

- A :class:`Form` is either a rubric (criteria with levels worth points) or a weighted criteria
  form (each criterion scored 0..max with a weight). Both reduce to a fraction in [0, 1].
- The submission grade comes from the peer reviews (median or weighted mean) and the host's grade;
  a host override always wins.
- The grade for reviewing rewards reviews close to the consensus, like Moodle Workshop's
  "comparison with the best assessment", and counts completed reviews towards the required 5
  (DOMAIN.md §9: 5 peer reviews = 5 points).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum

REQUIRED_REVIEWS = 5  # DOMAIN.md §9
REVIEW_POINTS = 5.0  # DOMAIN.md §9: 5 peer reviews are worth 5 points
HOMEWORK_POINTS = 10.0  # DOMAIN.md §9: research homework 10 (host)


class GradingError(ValueError):
    """Invalid form, assessment or grading parameter (the message says which)."""


@dataclass(frozen=True)
class Criterion:
    """One criterion.

    Rubric criterion: give ``levels`` (the points of each level); a score must be one of them and
    ``max_points`` is the highest level. Weighted-form criterion: no levels, any score in
    0..``max_points``. ``weight`` None means "weigh by the points", so a rubric adds up its points
    plainly (sum of points / sum of maxima), the arithmetic teachers expect from a rubric.
    """

    name: str
    max_points: float = 0.0
    levels: tuple[float, ...] = ()
    weight: float | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise GradingError("a criterion needs a name")
        if self.levels:
            if len(set(self.levels)) != len(self.levels):
                raise GradingError(f"criterion {self.name!r} has two levels with the same points")
            if min(self.levels) < 0:
                raise GradingError(f"criterion {self.name!r} has a negative level")
            object.__setattr__(self, "max_points", float(max(self.levels)))
        if self.max_points <= 0:
            raise GradingError(f"criterion {self.name!r} must be worth more than 0 points")
        if self.weight is not None and self.weight < 0:
            raise GradingError(f"criterion {self.name!r} has a negative weight")

    @property
    def effective_weight(self) -> float:
        return self.max_points if self.weight is None else self.weight

    def check(self, points: float) -> float:
        if self.levels and points not in self.levels:
            raise GradingError(f"{points} is not a level of criterion {self.name!r}")
        if not 0 <= points <= self.max_points:
            raise GradingError(f"{points} is outside 0..{self.max_points} for criterion {self.name!r}")
        return float(points)

    def fraction(self, points: float) -> float:
        return self.check(points) / self.max_points


Assessment = Mapping[str, float]  # criterion name -> points given


@dataclass(frozen=True)
class Form:
    """A rubric or weighted criteria form: the ordered criteria of one assignment."""

    criteria: tuple[Criterion, ...]

    def __post_init__(self) -> None:
        if not self.criteria:
            raise GradingError("a form needs at least one criterion")
        names = [c.name for c in self.criteria]
        if len(set(names)) != len(names):
            raise GradingError("two criteria have the same name")
        if sum(c.effective_weight for c in self.criteria) <= 0:
            raise GradingError("the criteria weights add up to 0")

    @property
    def total_weight(self) -> float:
        return sum(c.effective_weight for c in self.criteria)

    @property
    def max_points(self) -> float:
        return sum(c.max_points for c in self.criteria)

    def fractions(self, assessment: Assessment) -> dict[str, float]:
        """Each criterion's score as a fraction of its maximum; every criterion must be scored."""
        known = {c.name for c in self.criteria}
        extra = set(assessment) - known
        if extra:
            raise GradingError(f"unknown criteria: {', '.join(sorted(extra))}")
        missing = [c.name for c in self.criteria if c.name not in assessment]
        if missing:
            raise GradingError(f"criteria not scored: {', '.join(missing)}")
        return {c.name: c.fraction(assessment[c.name]) for c in self.criteria}

    def points(self, assessment: Assessment) -> float:
        """Plain sum of the points given (what a rubric shows as "17 / 20")."""
        self.fractions(assessment)  # validates
        return float(sum(assessment[c.name] for c in self.criteria))

    def fraction(self, assessment: Assessment) -> float:
        """Weighted score in [0, 1]."""
        f = self.fractions(assessment)
        return sum(c.effective_weight * f[c.name] for c in self.criteria) / self.total_weight

    def grade(self, assessment: Assessment, out_of: float = HOMEWORK_POINTS) -> float:
        return self.fraction(assessment) * out_of


class Aggregate(StrEnum):
    MEDIAN = "median"  # robust to one careless or hostile reviewer
    MEAN = "mean"  # optionally weighted, e.g. by each reviewer's grade for reviewing


def peer_grade(
    grades: Sequence[float],
    method: Aggregate | str = Aggregate.MEDIAN,
    weights: Sequence[float] | None = None,
) -> float | None:
    """Submission grade from its peer grades; None when nobody has reviewed it yet."""
    method = Aggregate(method)
    if not grades:
        return None
    if method is Aggregate.MEDIAN:
        if weights is not None:
            raise GradingError("weights only apply to the mean")
        return float(statistics.median(grades))
    if weights is None:
        return float(statistics.fmean(grades))
    if len(weights) != len(grades):
        raise GradingError("one weight per grade is needed")
    if any(w < 0 for w in weights):
        raise GradingError("weights must not be negative")
    total = sum(weights)
    if total <= 0:
        # Every reviewer weighted 0 (e.g. all far from consensus): fall back to the plain mean
        # rather than leaving the author without a grade.
        return float(statistics.fmean(grades))
    return sum(g * w for g, w in zip(grades, weights, strict=True)) / total


def submission_grade(
    peer: float | None,
    host: float | None = None,
    *,
    override: float | None = None,
    host_weight: float = 1.0,
) -> float | None:
    """Final grade of a submission.

    The host's override wins. Otherwise host and peer grades are blended with ``host_weight``
    (default 1: DOMAIN.md §9 has the host grade the homework, peers only advise); when only one
    of them exists, it is the grade.
    """
    if not 0 <= host_weight <= 1:
        raise GradingError("host_weight must be between 0 and 1")
    if override is not None:
        return float(override)
    if host is None:
        return peer
    if peer is None:
        return float(host)
    return host_weight * host + (1 - host_weight) * peer


class Strictness(float, Enum):
    """How fast the grade for reviewing falls with distance from the consensus.

    Quality = max(0, 1 - strictness × distance); with FAIR a review half the scale away
    from the consensus earns nothing.
    """

    LAX = 1.0
    FAIR = 2.0
    STRICT = 3.0
    VERY_STRICT = 5.0


def consensus(form: Form, assessments: Sequence[Assessment]) -> dict[str, float]:
    """Per criterion, the median of the reviewers' fractions: one outlier cannot move it far."""
    if not assessments:
        raise GradingError("no assessments to build a consensus from")
    fractions = [form.fractions(a) for a in assessments]
    return {c.name: float(statistics.median(f[c.name] for f in fractions)) for c in form.criteria}


def distance(form: Form, assessment: Assessment, reference: Mapping[str, float]) -> float:
    """Weighted mean absolute difference of criterion fractions, in [0, 1]."""
    f = form.fractions(assessment)
    return sum(c.effective_weight * abs(f[c.name] - reference[c.name]) for c in form.criteria) / form.total_weight


def review_qualities(
    form: Form,
    assessments: Sequence[Assessment],
    strictness: float = Strictness.FAIR,
    reference: Mapping[str, float] | None = None,
) -> list[float | None]:
    """Quality in [0, 1] of each review of one submission, compared with the consensus.

    ``reference`` may be the host's fractions (``form.fractions(host_assessment)``), which then
    plays the part of Moodle's "best assessment". Without it the consensus is the median of the
    reviews; with a single review there is nothing to compare with, so its quality is None (the
    caller decides: usually it neither rewards nor punishes).
    """
    if strictness <= 0:
        raise GradingError("strictness must be positive")
    if reference is None:
        if len(assessments) < 2:
            return [None for _ in assessments]
        reference = consensus(form, assessments)
    return [max(0.0, 1.0 - float(strictness) * distance(form, a, reference)) for a in assessments]


def reviewing_grade(
    completed: int,
    qualities: Sequence[float | None] = (),
    *,
    required: int = REQUIRED_REVIEWS,
    points: float = REVIEW_POINTS,
    quality_share: float = 0.0,
) -> float:
    """Grade for reviewing.

    ``points`` × min(completed, required) / required counts the reviews done (DOMAIN.md §9:
    5 reviews = 5 points, extra reviews earn nothing more). ``quality_share`` in [0, 1] is the part
    of that which depends on how close the reviews were to the consensus (mean of the known
    qualities; unknown ones are left out, and with none known the quality part is granted).
    """
    if completed < 0:
        raise GradingError("completed must be >= 0")
    if required <= 0:
        raise GradingError("required must be >= 1")
    if not 0 <= quality_share <= 1:
        raise GradingError("quality_share must be between 0 and 1")
    known = [q for q in qualities if q is not None]
    if any(not 0 <= q <= 1 for q in known):
        raise GradingError("qualities must be between 0 and 1")
    quality = statistics.fmean(known) if known else 1.0
    counted = min(completed, required) / required
    return points * counted * ((1 - quality_share) + quality_share * quality)
