"""Forms of research writing and briefs."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from lms.core.forms import RICH_TEXT

WRITING_LABELS = {
    "plan": _l("Research plan"),
    "log": _l("Research log"),
    "summary": _l("Research summary"),
    "workshop_plan": _l("Workshop plan"),
    "stage_summary": _l("Stage summary"),
    "final_summary": _l("Final summary"),
}


class WritingForm(FlaskForm):
    workshop = SelectField(_l("Workshop"), coerce=int)
    kind = SelectField(_l("Kind"))
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(_l("Text"), validators=[Length(max=50000)], render_kw=RICH_TEXT)


class WritingEditForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(_l("Text"), validators=[Length(max=50000)], render_kw=RICH_TEXT)


class BriefForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(_l("Text"), validators=[Length(max=50000)], render_kw=RICH_TEXT)
    images = MultipleFileField(_l("Images (JPEG, PNG, GIF or WebP; up to 9, 5 MB each)"))
