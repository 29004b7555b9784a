from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from lms.core.forms import choices
from lms.core.taxonomy import STAGES, SUBJECTS
from lms.courses.models import COURSE_KINDS

KIND_LABELS = {
    "ethics": _l("Professional ethics"),
    "it_methods": _l("IT application methods"),
    "integration": _l("IT and subject integration"),
    "cases": _l("Teaching cases"),
}
LESSON_KIND_LABELS = {"video": _l("Video"), "text": _l("Text"), "document": _l("Document (PDF)")}
assert set(KIND_LABELS) == set(COURSE_KINDS)


class CourseForm(FlaskForm):
    context = SelectField(_l("Offered in"), coerce=int, validate_choice=False)
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=20000)])
    stage = SelectField(_l("Stage"), choices=choices(STAGES, blank=_l("All stages")))
    subject = SelectField(_l("Subject"), choices=choices(SUBJECTS, blank=_l("All subjects")))
    kind = SelectField(_l("Kind"), choices=choices(KIND_LABELS, blank=None))
    hours = DecimalField(_l("Study hours"), places=1, default=2,
                         validators=[DataRequired(), NumberRange(min=0.1, max=200)])  # fmt: skip
    published = BooleanField(_l("Published in the course supermarket"))


class LessonForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Lesson type"), choices=choices(LESSON_KIND_LABELS, blank=None))
    body = TextAreaField(_l("Text"), validators=[Length(max=100000)])
    document = FileField(_l("PDF document"))


class QuestionForm(FlaskForm):
    prompt = StringField(_l("Question"), validators=[DataRequired(), Length(max=500)])
    kind = SelectField(
        _l("Answer type"),
        choices=choices({"single": _l("Single choice"), "multiple": _l("Multiple choice")}, blank=None),
    )
    options = TextAreaField(_l("Options, one per line"), validators=[DataRequired()])
    answer = StringField(_l("Correct options (numbers, e.g. 1 or 1,3)"), validators=[DataRequired(), Length(max=40)])


class AssignForm(FlaskForm):
    context = SelectField(_l("Workshop or region"), coerce=int, validate_choice=False)
    required = SelectField(
        _l("As"), choices=choices({"1": _l("Required"), "0": _l("Elective")}, blank=None), default="1"
    )


class EmptyForm(FlaskForm):
    """CSRF only (buttons that post)."""

    note = StringField(validators=[Optional()])
