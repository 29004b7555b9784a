"""Chinese resident ID numbers (GB 11643-1999): validation and masking. Never log the full number."""

from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


class IdCardError(ValueError):
    """Raised with a reason code: length, chars, birthdate, checksum."""


def check_digit(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def validate(number: str, today: date | None = None) -> str:
    """Return the normalized number (upper-case X) or raise IdCardError."""
    n = (number or "").strip().upper()
    if len(n) != 18:
        raise IdCardError("length")
    if not (n[:17].isdigit() and (n[17].isdigit() or n[17] == "X")):
        raise IdCardError("chars")
    try:
        born = date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    except ValueError:
        raise IdCardError("birthdate") from None
    today = today or date.today()
    if born.year < 1900 or born > today:
        raise IdCardError("birthdate")
    if check_digit(n[:17]) != n[17]:
        raise IdCardError("checksum")
    return n


def mask(number: str | None) -> str:
    """3601**********123X: region prefix and last four kept."""
    if not number:
        return ""
    if len(number) < 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def birth_date(number: str) -> date:
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def gender(number: str) -> str:
    """'M' or 'F' from the 17th digit (odd = male)."""
    return "M" if int(number[16]) % 2 else "F"
