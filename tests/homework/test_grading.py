"""Grade arithmetic: rubric and weighted forms, median/mean, host override, grade for reviewing."""

import pytest

from lms.homework.grading import (
    Aggregate,
    Criterion,
    Form,
    GradingError,
    Strictness,
    consensus,
    distance,
    peer_grade,
    review_qualities,
    reviewing_grade,
    submission_grade,
)

# A rubric: "Problem" levels 0/1/2/4, "Evidence" levels 0/3/6. Max 4 + 6 = 10 points.
RUBRIC = Form(
    (
        Criterion("Problem", levels=(0, 1, 2, 4)),
        Criterion("Evidence", levels=(0, 3, 6)),
    )
)


# --- rubric arithmetic -------------------------------------------------------------------------


def test_rubric_adds_points():
    assert RUBRIC.max_points == 10
    # Problem 2 + Evidence 6 = 8 of 10 → 0.8 → 8.0 on the 10-point homework scale, 4.0 out of 5.
    a = {"Problem": 2, "Evidence": 6}
    assert RUBRIC.points(a) == 8
    assert RUBRIC.fraction(a) == pytest.approx(0.8)
    assert RUBRIC.grade(a) == pytest.approx(8.0)
    assert RUBRIC.grade(a, out_of=5) == pytest.approx(4.0)


def test_weighted_form():
    # Weighted criteria form: Design 0..10 weight 3, Reflection 0..5 weight 1.
    form = Form((Criterion("Design", max_points=10, weight=3), Criterion("Reflection", max_points=5, weight=1)))
    # Design 7/10 = 0.7, Reflection 5/5 = 1.0 → (3×0.7 + 1×1.0) / 4 = 3.1 / 4 = 0.775.
    a = {"Design": 7, "Reflection": 5}
    assert form.fraction(a) == pytest.approx(0.775)
    assert form.grade(a) == pytest.approx(7.75)
    assert form.points(a) == 12
    # Scores in a weighted form need not be whole numbers.
    assert form.fraction({"Design": 2.5, "Reflection": 0}) == pytest.approx(3 * 0.25 / 4)


@pytest.mark.parametrize(
    ("assessment", "message"),
    [
        ({"Problem": 3, "Evidence": 0}, "not a level"),
        ({"Problem": 4}, "not scored: Evidence"),
        ({"Problem": 4, "Evidence": 6, "Style": 1}, "unknown criteria: Style"),
    ],
)
def test_invalid_assessment(assessment, message):
    with pytest.raises(GradingError, match=message):
        RUBRIC.fraction(assessment)


def test_weighted_form_range_checked():
    form = Form((Criterion("Design", max_points=10),))
    with pytest.raises(GradingError, match="outside"):
        form.fraction({"Design": 11})
    with pytest.raises(GradingError, match="outside"):
        form.fraction({"Design": -1})


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Form(()), "at least one criterion"),
        (lambda: Form((Criterion("A", 1), Criterion("A", 2))), "same name"),
        (lambda: Criterion("", 1), "needs a name"),
        (lambda: Criterion("A", 0), "more than 0"),
        (lambda: Criterion("A", levels=(1, 1)), "same points"),
        (lambda: Criterion("A", levels=(-1, 2)), "negative level"),
        (lambda: Criterion("A", 2, weight=-1), "negative weight"),
        (lambda: Form((Criterion("A", 2, weight=0),)), "add up to 0"),
    ],
)
def test_invalid_forms(build, message):
    with pytest.raises(GradingError, match=message):
        build()


# --- peer grade, host grade --------------------------------------------------------------------


def test_median_and_mean():
    grades = [6, 9, 7, 2]
    assert peer_grade(grades) == pytest.approx(6.5)  # median of 2 6 7 9 = (6+7)/2
    assert peer_grade(grades, "mean") == pytest.approx(6.0)  # 24/4
    assert peer_grade([6, 9, 7], Aggregate.MEDIAN) == 7
    # Weighted mean: (6×1 + 9×0.5 + 7×0.5 + 2×0) / 2 = 14 / 2 = 7.
    assert peer_grade(grades, "mean", weights=[1, 0.5, 0.5, 0]) == pytest.approx(7.0)
    # All weights 0: plain mean rather than no grade.
    assert peer_grade(grades, "mean", weights=[0, 0, 0, 0]) == pytest.approx(6.0)
    assert peer_grade([]) is None


def test_peer_grade_invalid():
    with pytest.raises(ValueError):
        peer_grade([1], "mode")
    with pytest.raises(GradingError, match="only apply to the mean"):
        peer_grade([1, 2], "median", weights=[1, 1])
    with pytest.raises(GradingError, match="one weight per grade"):
        peer_grade([1, 2], "mean", weights=[1])
    with pytest.raises(GradingError, match="negative"):
        peer_grade([1, 2], "mean", weights=[1, -1])


def test_submission_grade_host_overrides():
    assert submission_grade(7.0, 9.0) == 9.0  # default: the host grades (DOMAIN.md §9)
    assert submission_grade(7.0, 9.0, host_weight=0.5) == pytest.approx(8.0)
    assert submission_grade(7.0, None) == 7.0
    assert submission_grade(None, 6.0) == 6.0
    assert submission_grade(None, None) is None
    assert submission_grade(7.0, 9.0, override=3.0) == 3.0
    assert submission_grade(None, None, override=0.0) == 0.0
    with pytest.raises(GradingError, match="host_weight"):
        submission_grade(1.0, 2.0, host_weight=1.5)


# --- grade for reviewing -----------------------------------------------------------------------

# Three reviews of one submission with RUBRIC (weights = points: Problem 4, Evidence 6, total 10).
R1 = {"Problem": 4, "Evidence": 6}  # fractions (1.00, 1.0)
R2 = {"Problem": 2, "Evidence": 3}  # fractions (0.50, 0.5)
R3 = {"Problem": 4, "Evidence": 3}  # fractions (1.00, 0.5)
R4 = {"Problem": 1, "Evidence": 6}  # fractions (0.25, 1.0)


def test_consensus_and_distance_worked_example():
    # Consensus = per-criterion median: Problem median(1, .5, 1) = 1.0; Evidence median(1, .5, .5) = 0.5.
    ref = consensus(RUBRIC, [R1, R2, R3])
    assert ref == {"Problem": 1.0, "Evidence": 0.5}
    # R1: (4×|1-1| + 6×|1-.5|) / 10 = 3/10 = 0.3
    # R2: (4×|.5-1| + 6×|.5-.5|) / 10 = 2/10 = 0.2
    # R3: (4×0 + 6×0) / 10 = 0
    assert distance(RUBRIC, R1, ref) == pytest.approx(0.3)
    assert distance(RUBRIC, R2, ref) == pytest.approx(0.2)
    assert distance(RUBRIC, R3, ref) == 0


def test_review_qualities_worked_example():
    # Quality = max(0, 1 - strictness × distance).
    # FAIR (2): R1 1 - 0.6 = 0.4, R2 1 - 0.4 = 0.6, R3 1.0
    assert review_qualities(RUBRIC, [R1, R2, R3]) == pytest.approx([0.4, 0.6, 1.0])
    # LAX (1): 0.7, 0.8, 1.0
    assert review_qualities(RUBRIC, [R1, R2, R3], Strictness.LAX) == pytest.approx([0.7, 0.8, 1.0])
    # VERY_STRICT (5): 1 - 1.5 → 0, 1 - 1.0 = 0, 1.0
    assert review_qualities(RUBRIC, [R1, R2, R3], Strictness.VERY_STRICT) == pytest.approx([0.0, 0.0, 1.0])


def test_review_qualities_against_host_reference():
    # The host's assessment R4 (0.25, 1.0) as reference.
    # R1: (4×.75 + 6×0)/10 = 0.3 → FAIR 0.4;  R2: (4×.25 + 6×.5)/10 = 0.4 → 0.2
    ref = RUBRIC.fractions(R4)
    assert review_qualities(RUBRIC, [R1, R2], reference=ref) == pytest.approx([0.4, 0.2])
    # A single review with a reference is compared; without one there is nothing to compare.
    assert review_qualities(RUBRIC, [R4], reference=ref) == [1.0]
    assert review_qualities(RUBRIC, [R1]) == [None]
    with pytest.raises(GradingError, match="strictness"):
        review_qualities(RUBRIC, [R1, R2], strictness=0)
    with pytest.raises(GradingError, match="no assessments"):
        consensus(RUBRIC, [])


def test_reviewing_grade_counts_reviews():
    # DOMAIN.md §9: 5 reviews = 5 points, 1 point per completed review, extra reviews add nothing.
    assert reviewing_grade(0) == 0
    assert reviewing_grade(3) == pytest.approx(3.0)
    assert reviewing_grade(5) == pytest.approx(5.0)
    assert reviewing_grade(7) == pytest.approx(5.0)
    assert reviewing_grade(2, required=4, points=10) == pytest.approx(5.0)


def test_reviewing_grade_with_quality():
    # Qualities 0.4, 0.6, 1.0 (mean 2/3) from the worked example, plus two with no consensus.
    q = [0.4, 0.6, 1.0, None, None]
    # quality_share 0.5: 5 × 5/5 × (0.5 + 0.5 × 2/3) = 5 × 5/6 = 4.1667
    assert reviewing_grade(5, q, quality_share=0.5) == pytest.approx(25 / 6)
    # quality_share 1 with 4 of 5 reviews done: 5 × 4/5 × 2/3 = 8/3
    assert reviewing_grade(4, q, quality_share=1.0) == pytest.approx(8 / 3)
    # Default quality_share 0: closeness does not change the DOMAIN.md §9 count.
    assert reviewing_grade(5, q) == pytest.approx(5.0)
    # No known quality: the quality part is granted.
    assert reviewing_grade(5, [None], quality_share=1.0) == pytest.approx(5.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"completed": -1}, "completed"),
        ({"completed": 1, "required": 0}, "required"),
        ({"completed": 1, "quality_share": 2}, "quality_share"),
        ({"completed": 1, "qualities": [1.5]}, "qualities"),
    ],
)
def test_reviewing_grade_invalid(kwargs, message):
    with pytest.raises(GradingError, match=message):
        reviewing_grade(**kwargs)
