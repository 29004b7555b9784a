from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from lms.core.forms import RICH_TEXT, choices


class AnnouncementForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(_l("Text"), validators=[Length(max=20000)], render_kw=RICH_TEXT)


class ActivityForm(FlaskForm):
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=20000)], render_kw=RICH_TEXT)
    opens_at = DateTimeLocalField(_l("Opens"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    closes_at = DateTimeLocalField(_l("Closes"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    questions = TextAreaField(
        _l("Questions (questionnaires only)"),
        validators=[Length(max=20000)],
        # The parser takes the English and the Chinese prefixes; each language's help shows its own.
        description=_l('One question per block, blocks separated by a blank line. First line: "single: question", '
                       '"multiple: question" or "text: question"; then one option per line.'),
        render_kw={"placeholder": _l("single: How many years have you taught?\n- under 5\n- 5 to 10\n"
                                     "- over 10\n\nmultiple: What would you like to improve?\n"
                                     "- use of IT\n- lesson design\n\ntext: Your suggestions")},
    )  # fmt: skip


class PostForm(FlaskForm):
    body = TextAreaField(_l("Your post"), validators=[Length(max=20000)], render_kw=RICH_TEXT)
    files = MultipleFileField(_l("Attach images or files (up to 5)"))


class ReplyForm(FlaskForm):
    # Not DataRequired: a reply may be only an image or a file; the service refuses an empty one.
    body = TextAreaField(_l("Reply"), validators=[Length(max=20000)])
    files = MultipleFileField(_l("Attach images or files (up to 5)"))


class ResourceForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=2000)])
    file = FileField(_l("File"))


class OfflineForm(FlaskForm):
    form_file = FileField(_l("Photo or scan of the stamped result form"))
    resources = MultipleFileField(_l("Resources produced (up to 5)"))
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])


class MarkForm(FlaskForm):
    score = IntegerField(_l("Score (0–100)"), validators=[Optional(), NumberRange(0, 100)])
    passed = SelectField(_l("Result"), choices=choices({"1": _l("Pass"), "0": _l("Fail")}, blank=None))
    comment = TextAreaField(_l("Comment"), validators=[Length(max=2000)])
