"""Flask-Babel glue: find the catalogues we keep."""

from functools import cached_property

from babel import support
from flask_babel import Babel, Domain, get_locale


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
