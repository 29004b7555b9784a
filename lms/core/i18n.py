"""Flask-Babel glue: find the catalogues we keep; the site's local time for forms and texts."""

from datetime import UTC, datetime
from functools import cached_property
from zoneinfo import ZoneInfo

from babel import support
from flask import current_app
from flask_babel import Babel, Domain, force_locale, get_locale, get_timezone, gettext


def site_gettext(msg: str, **kw) -> str:
    """gettext in the site's default language, for text stored once for many readers (notifications)
    and for work outside requests (the scheduler, CLI)."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return gettext(msg, **kw)


def site_zone() -> ZoneInfo:
    """The zone people type and read times in (BABEL_DEFAULT_TIMEZONE, Asia/Shanghai by default);
    the database keeps UTC."""
    return ZoneInfo(str(get_timezone()))


def local_to_utc(value: datetime | None) -> datetime | None:
    """A form's naive local time → aware UTC (an aware value is only converted)."""
    if value is None:
        return None
    return (value.replace(tzinfo=site_zone()) if value.tzinfo is None else value).astimezone(UTC)


def utc_to_local(value: datetime | None) -> datetime | None:
    """A stored time → the naive local time a datetime-local field shows."""
    return value.astimezone(site_zone()).replace(tzinfo=None) if value is not None else None


def local_text(value: datetime) -> str:
    """A stored time as a notification or export writes it: 2026-11-30 18:00, local time."""
    return value.astimezone(site_zone()).strftime("%Y-%m-%d %H:%M")


class CatalogDomain(Domain):
    """The "messages" domain, looked up under language_territory as well as Babel's full name.

    Babel parses "zh_CN" as zh_Hans_CN, and gettext would then only look in translations/zh_Hans_CN
    and translations/zh, silently falling back to English; our catalogue is translations/zh_CN (the
    code used in LANGUAGES, in URLs and in the Makefile).
    """

    def get_translations(self):
        locale = get_locale()
        if locale is None:
            return support.NullTranslations()
        key = (str(locale), self.domain[0])
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        names = [str(locale)]
        if locale.script and locale.territory:
            names.append(f"{locale.language}_{locale.territory}")
        translations = support.Translations()
        for dirname in self.translation_directories:
            catalog = support.Translations.load(dirname, names, self.domain[0])
            translations.merge(catalog)
            if hasattr(catalog, "plural"):
                translations.plural = catalog.plural
        self.cache[key] = translations
        return translations


class CatalogBabel(Babel):
    """Flask-Babel's Babel, translating through a CatalogDomain."""

    @cached_property
    def domain_instance(self):
        return CatalogDomain(domain=self.domain)
