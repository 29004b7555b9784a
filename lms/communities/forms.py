from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from lms.core import taxonomy
from lms.core.forms import choices


class AddMembersForm(FlaskForm):
    logins = TextAreaField(_l("Usernames or phone numbers"), validators=[DataRequired(), Length(max=20000)])


class GroupForm(FlaskForm):
    name = StringField(_l("Group name"), validators=[DataRequired(), Length(max=64)])


class WorkshopForm(FlaskForm):
    name = StringField(_l("Workshop name"), validators=[DataRequired(), Length(max=100)])
    kind = SelectField(
        _l("Kind"), choices=choices({"class": _l("Class workshop"), "subject": _l("Subject workshop")}, blank=None)
    )
    subject = SelectField(_l("Subject"), choices=choices(taxonomy.SUBJECTS), validators=[Optional()])
    stage = SelectField(_l("Stage"), choices=choices(taxonomy.STAGES), validators=[Optional()])
    host = StringField(_l("Host (username or phone)"), validators=[DataRequired(), Length(max=64)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
