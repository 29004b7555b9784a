"""Fill msgstr in a .po from a JSON dict {msgid: translation}; keeps existing translations.

Usage: python tools/fill_po.py lms/translations/zh_CN/LC_MESSAGES/messages.po a.json [b.json ...]
"""

import json
import sys

from babel.messages.pofile import read_po, write_po


def main(po_path: str, *json_paths: str) -> None:
    with open(po_path, "rb") as f:
        catalog = read_po(f)
    mapping = {}
    for path in json_paths:
        with open(path, encoding="utf-8") as f:
            mapping.update(json.load(f))
    for msg in catalog:
        if msg.id and not msg.string and isinstance(msg.id, str) and msg.id in mapping:
            msg.string = mapping[msg.id]
        # ngettext: the JSON key is the singular msgid; Chinese has one plural form.
        elif isinstance(msg.id, tuple) and not any(msg.string) and msg.id[0] in mapping:
            msg.string = (mapping[msg.id[0]],) * catalog.num_plurals
    with open(po_path, "wb") as f:
        write_po(f, catalog, width=120)
    missing = [m.id for m in catalog if m.id and not (any(m.string) if isinstance(m.string, tuple) else m.string)]
    print(f"{len(missing)} untranslated", *missing[:50], sep="\n  ")


if __name__ == "__main__":
    main(*sys.argv[1:])
