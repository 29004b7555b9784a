from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from lms.core.forms import choices
from lms.core.taxonomy import SUBJECTS

WEEKDAY_LABELS = [_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"),
                  _l("Sunday")]  # fmt: skip
_TIME = Regexp(r"^\d{1,2}:\d{2}$", message=_l("Use the form 19:30."))


class SessionForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    context_id = SelectField(_l("For"), coerce=int)
    subject = SelectField(_l("Subject"), choices=choices(SUBJECTS), validators=[Optional()])
    starts_at = DateTimeLocalField(_l("Starts"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Ends"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    experts = StringField(_l("Other experts (user names, comma separated)"), validators=[Length(max=500)])
    description = TextAreaField(_l("Description"), validators=[Length(max=2000)])


class SessionEditForm(FlaskForm):
    """Editing a scheduled or live session: what it is and when (not where, nor who hosts)."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    subject = SelectField(_l("Subject"), choices=choices(SUBJECTS), validators=[Optional()])
    starts_at = DateTimeLocalField(_l("Starts"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Ends"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    description = TextAreaField(_l("Description"), validators=[Length(max=2000)])

    def validate_ends_at(self, field):
        if self.starts_at.data and field.data and field.data <= self.starts_at.data:
            raise ValidationError(_l("The end must come after the start."))


class CancelForm(FlaskForm):
    reason = StringField(_l("Reason (told to the audience, optional)"), validators=[Length(max=200)])


class QuestionForm(FlaskForm):
    body = TextAreaField(_l("Your question"), validators=[DataRequired(), Length(max=500)])


class ThreadForm(FlaskForm):
    title = StringField(_l("Question"), validators=[DataRequired(), Length(max=200)])
    context_id = SelectField(_l("Ask in"), coerce=int)
    subject = SelectField(_l("Subject"), choices=choices(SUBJECTS), validators=[Optional()])
    body = TextAreaField(_l("Details"), validators=[Length(max=5000)])


class AnswerForm(FlaskForm):
    body = TextAreaField(_l("Your answer"), validators=[DataRequired(), Length(max=5000)])


class SlotForm(FlaskForm):
    context_id = SelectField(_l("Where"), coerce=int)
    subject = SelectField(_l("Subject"), choices=choices(SUBJECTS, blank=None))
    weekday = SelectField(_l("Weekday"), coerce=int, choices=choices(dict(enumerate(WEEKDAY_LABELS)), blank=None))
    starts = StringField(_l("From"), default="19:00", validators=[DataRequired(), _TIME])
    ends = StringField(_l("To"), default="21:00", validators=[DataRequired(), _TIME])


class SlowModeForm(FlaskForm):
    seconds = IntegerField(_l("Slow mode (seconds)"), default=0, validators=[NumberRange(0, 600)])
