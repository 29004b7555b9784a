from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from lms.core.taxonomy import STAGES, SUBJECTS
from lms.resources.models import KINDS


class UploadForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    library = SelectField(_l("Library"), choices=[], validate_choice=False)
    kind = SelectField(_l("Kind"), choices=[])
    stage = SelectField(_l("Stage"), choices=[])
    subject = SelectField(_l("Subject"), choices=[])
    tags = StringField(_l("Tags"), validators=[Length(max=200)], description=_l("Separate tags with spaces."))
    description = TextAreaField(_l("Description"), validators=[Length(max=50000)])
    file = FileField(_l("File"))

    def fill(self, libraries):
        self.library.choices = [("", str(_l("My personal space")))] + [(str(c.id), c.name) for c in libraries]
        self.kind.choices = [("", str(_l("By file type")))] + [(k, str(v)) for k, v in KINDS.items() if k != "homework"]
        self.stage.choices = [("", "—")] + [(k, str(v)) for k, v in STAGES.items()]
        self.subject.choices = [("", "—")] + [(k, str(v)) for k, v in SUBJECTS.items()]
        return self


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=5000)])


class EditForm(FlaskForm):
    """A resource's details after upload; the title and choices are checked by the service (its messages)."""

    title = StringField(_l("Title"), validators=[Length(max=200)])
    kind = SelectField(_l("Kind"), choices=[], validate_choice=False)
    stage = SelectField(_l("Stage"), choices=[], validate_choice=False)
    subject = SelectField(_l("Subject"), choices=[], validate_choice=False)
    tags = StringField(_l("Tags"), validators=[Length(max=200)], description=_l("Separate tags with spaces."))
    description = TextAreaField(_l("Description"), validators=[Length(max=50000)])

    def fill(self, resource):
        kinds = [(k, str(v)) for k, v in KINDS.items() if k != "homework" or resource.kind == "homework"]
        self.kind.choices = kinds
        self.stage.choices = [("", "—")] + [(k, str(v)) for k, v in STAGES.items()]
        self.subject.choices = [("", "—")] + [(k, str(v)) for k, v in SUBJECTS.items()]
        return self
