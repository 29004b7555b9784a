"""Homework forms. The rubric's criteria and levels are repeated rows read by ``rubric_from_form``."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, DateTimeLocalField, FloatField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from lms.core.forms import RICH_TEXT, choices

FORMAT = "%Y-%m-%dT%H:%M"


class AssignmentForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    instructions = TextAreaField(_l("Instructions"), validators=[Optional(), Length(max=50000)], render_kw=RICH_TEXT)
    attachments_allowed = BooleanField(_l("Attachments allowed"), default=True)
    submission_opens_at = DateTimeLocalField(_l("Submission opens"), format=FORMAT, validators=[Optional()])
    submission_due_at = DateTimeLocalField(_l("Submission deadline"), format=FORMAT, validators=[Optional()])
    review_due_at = DateTimeLocalField(_l("Review deadline"), format=FORMAT, validators=[Optional()])
    closes_at = DateTimeLocalField(_l("Grading ends (closed)"), format=FORMAT, validators=[Optional()])
    accept_late = BooleanField(_l("Accept late first submissions during the review phase"))
    reviews_per_member = IntegerField(_l("Reviews each member must do"), default=5,
                                      validators=[NumberRange(0, 20)])  # fmt: skip
    reviews_per_submission = IntegerField(_l("Reviews each submission should get (empty: as many as each member "
                                             "must do)"), validators=[Optional(), NumberRange(1, 20)])  # fmt: skip
    reviewers_must_submit = BooleanField(_l("Participants without a submission do not review"), default=True)
    anonymous = BooleanField(_l("Anonymous reviews (authors and reviewers do not see each other's names)"),
                             default=True)  # fmt: skip
    exclude_own_group = BooleanField(_l("Do not allocate reviews within one's own study group (when possible)"),
                                     default=True)  # fmt: skip
    grade_strategy = SelectField(_l("Peer grade"), choices=choices(
        {"median": _l("Median of the peer reviews"), "mean": _l("Mean of the peer reviews"),
         "weighted": _l("Mean weighted by each reviewer's grade for reviewing")}, blank=None),
        description=_l("Weighted: each review counts in proportion to its reviewer's grade for reviewing in this "
                       "assignment (reviews done, agreement with the median of the reviews). That grade never "
                       "depends on peer grades, so it is computed once, first; when every weight is 0 the plain "
                       "mean is used."))  # fmt: skip
    host_weight = FloatField(_l("Weight of the host's grade (1 = the host's grade replaces the peer grade)"),
                             default=1.0, validators=[NumberRange(0, 1)])  # fmt: skip
    quality_share = FloatField(_l("Share of the grade for reviewing that depends on agreement with the consensus"),
                               default=0.5, validators=[NumberRange(0, 1)])  # fmt: skip
    form_kind = SelectField(_l("Criteria form"), choices=choices(
        {"rubric": _l("Rubric: criteria with levels"), "weighted": _l("Weighted criteria: score 0 to maximum")},
        blank=None))  # fmt: skip


def rubric_from_form(form_data, kind: str) -> dict:
    """Criteria rows c<i>_name, c<i>_desc, c<i>_max, c<i>_weight, c<i>_l<j>_points, c<i>_l<j>_label.

    Empty rows are skipped; services.parse_form validates the rest.
    """
    criteria = []
    for i in range(20):
        name = (form_data.get(f"c{i}_name") or "").strip()
        if not name:
            continue
        item = {"name": name, "description": form_data.get(f"c{i}_desc") or ""}
        if kind == "weighted":
            item["max_points"] = form_data.get(f"c{i}_max") or ""
            item["weight"] = form_data.get(f"c{i}_weight") or "1"
        else:
            levels = []
            for j in range(10):
                points = (form_data.get(f"c{i}_l{j}_points") or "").strip()
                label = form_data.get(f"c{i}_l{j}_label") or ""
                if points:
                    levels.append({"points": points, "label": label})
            item["levels"] = levels
        criteria.append(item)
    return {"kind": kind, "criteria": criteria}


class SubmissionForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)])
    body = TextAreaField(_l("Text"), validators=[Optional(), Length(max=50000)], render_kw=RICH_TEXT)
    files = MultipleFileField(_l("Attachments"))


class ReviewForm(FlaskForm):
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=5000)])


class GradeForm(FlaskForm):
    grade = FloatField(_l("Host grade"), validators=[Optional(), NumberRange(0, 10)])
    override = FloatField(_l("Override"), validators=[Optional(), NumberRange(0, 10)])
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=5000)])
