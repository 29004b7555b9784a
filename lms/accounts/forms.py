from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from lms.core import taxonomy
from lms.core.forms import choices


class LoginForm(FlaskForm):
    identifier = StringField(_l("Username or phone"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(),
            Length(min=8, message=_l("The password needs at least 8 characters.")),
            Length(max=128, message=_l("The password may have at most 128 characters.")),
        ],
    )
    confirm = PasswordField(
        _l("Repeat new password"), validators=[DataRequired(), EqualTo("new", message=_l("The passwords differ."))]
    )


class ProfileForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=20)])
    email = EmailField(
        _l("E-mail"),
        validators=[
            Optional(),
            Length(max=120),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter a valid e-mail address.")),
        ],
    )
    subject = SelectField(_l("Subject"), choices=choices(taxonomy.SUBJECTS), validators=[Optional()])
    stage = SelectField(_l("Stage"), choices=choices(taxonomy.STAGES), validators=[Optional()])
    bio = TextAreaField(_l("About me"), validators=[Optional(), Length(max=2000)])


class RosterImportForm(FlaskForm):
    # The type is sniffed from the bytes by accounts.roster, so no extension check here.
    file = FileField(_l("Roster file (.xlsx)"), validators=[FileRequired(message=_l("Choose an .xlsx file."))])
