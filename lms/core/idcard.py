"""Chinese resident ID numbers (GB 11643-1999): validation, masking, encryption at rest. Never log
the full number.

Stored numbers are sealed with AES-SIV (RFC 5297), a deterministic authenticated cipher: the same
number always seals to the same text, so the unique constraint and `User.id_card == x` lookups (the
roster import's key) work on ciphertext, while a copied database or backup shows no number. The
key is IDCARD_KEY (hex, 64 bytes), or derived from SECRET_KEY when that is empty; either must stay
the same for the life of the data (see README, "ID-card numbers").
"""

import base64
import hashlib
from datetime import date
from functools import lru_cache

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


# --- encryption at rest ---------------------------------------------------------------------------

SEALED_PREFIX = "v1:"  # the key version; a number never starts with it


class IdCardKeyError(RuntimeError):
    """IDCARD_KEY is malformed, or a stored number does not open with this key (IDCARD_KEY or the
    SECRET_KEY it derives from changed)."""


@lru_cache(maxsize=8)
def _cipher(key: bytes):
    from cryptography.hazmat.primitives.ciphers.aead import AESSIV

    return AESSIV(key)


def key_from_config(config) -> bytes:
    """IDCARD_KEY as bytes (hex; 32, 48 or 64 bytes), or 64 bytes derived from SECRET_KEY."""
    configured = str(config.get("IDCARD_KEY") or "").strip()
    if configured:
        try:
            key = bytes.fromhex(configured)
        except ValueError:
            raise IdCardKeyError("IDCARD_KEY must be hexadecimal") from None
        if len(key) not in (32, 48, 64):
            raise IdCardKeyError("IDCARD_KEY must be 32, 48 or 64 bytes (64, 96 or 128 hex digits)")
        return key
    return hashlib.sha512(b"yanxiu idcard v1|" + str(config["SECRET_KEY"]).encode()).digest()


def _key() -> bytes:
    from flask import current_app

    return key_from_config(current_app.config)


def seal(number: str, key: bytes | None = None) -> str:
    """The stored form of a number: "v1:" and the AES-SIV ciphertext, base64url."""
    if number.startswith(SEALED_PREFIX):
        return number  # already sealed
    token = _cipher(key or _key()).encrypt(number.encode(), None)
    return SEALED_PREFIX + base64.urlsafe_b64encode(token).decode().rstrip("=")


def unseal(stored: str, key: bytes | None = None) -> str:
    if not stored.startswith(SEALED_PREFIX):
        return stored  # written before encryption (the migration seals these)
    from cryptography.exceptions import InvalidTag

    token = stored[len(SEALED_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return _cipher(key or _key()).decrypt(raw, None).decode()
    except (InvalidTag, ValueError):
        raise IdCardKeyError("an ID-card number cannot be decrypted: IDCARD_KEY or SECRET_KEY changed") from None
