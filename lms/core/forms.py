"""Form helpers shared by the domains' Flask-WTF forms."""

from wtforms.fields.choices import SelectChoice

#: render_kw of a TextAreaField that takes rich text: lms/static/js/richtext.js puts an editor on it.
RICH_TEXT = {"data-rich": ""}


def choices(mapping: dict, blank: str | None = "—") -> list[SelectChoice]:
    """Select options from {value: label}, with an optional blank first option."""
    items = [SelectChoice("", blank)] if blank is not None else []
    return items + [SelectChoice(value, label) for value, label in mapping.items()]
