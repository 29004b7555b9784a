from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from lms.core.forms import choices

MODE_LABELS = {"online": _l("Online"), "blended": _l("Blended"), "onsite": _l("On site")}


class ProjectForm(FlaskForm):
    region_id = SelectField(_l("Run by (scope)"), coerce=int)
    name = StringField(_l("Project name"), validators=[DataRequired(), Length(max=200)])
    target_group = StringField(_l("Target group"), validators=[Length(max=200)])
    mode = SelectField(_l("Mode"), choices=choices(MODE_LABELS, blank=None))
    hours_text = StringField(_l("Hours (as announced)"), validators=[Length(max=100)],
                             description=_l("e.g. 7 days on site + 50 online hours"))  # fmt: skip
    online_hours = DecimalField(_l("Online hours"), places=1, validators=[Optional(), NumberRange(min=0, max=2000)])
    onsite_days = IntegerField(_l("Days on site"), validators=[Optional(), NumberRange(min=0, max=366)])
    places = IntegerField(_l("Places"), validators=[Optional(), NumberRange(min=0, max=1_000_000)])
    institution = StringField(_l("Training institution"), validators=[Length(max=200)])
    starts_on = DateField(_l("Starts"), validators=[Optional()])
    ends_on = DateField(_l("Ends"), validators=[Optional()])
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])

    def validate_ends_on(self, field):
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The end must not come before the start."))
