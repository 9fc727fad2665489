"""Which language a text is in: Cyrillic and Latin letters counted, Russian in Latin letters
recognised and written back in Cyrillic. Plain Python: no pipeline is loaded to decide."""

from __future__ import annotations

import re

_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)
_LATIN_WORD = re.compile(r"[a-z]+", re.IGNORECASE)

# Words that Russian written in Latin letters uses all the time and English never does.
_TRANSLIT_WORDS = frozenset("""
    ne net da u nas vas menya mne ya my vy on ona oni eto chto kak gde kogda pochemu
    pozhaluysta pozhalujsta pojaluista spasibo zdravstvuyte zdravstvujte privet dobryy dobryj
    den dnya utro vecher srochno rabotaet rabotayet ne_rabotaet mozhno nuzhno nado ochen
    tozhe uzhe eshe eshche seychas sejchas segodnya zavtra vchera posle poka esli ili ili
    tolko vse vsyo vsem problema oshibka otgruzka sklad zarplata nalogi dostup prava
    kassa platezhi pomogite podskazhite proshu kollegi ostanovilas vstala ne_mogu mogu
""".split())
_ENGLISH_WORDS = frozenset("""
    the and is are was were be to of in on for with we you our your it this that not no
    have has can cannot please thanks hello hi dear from by at as an a will would could
    should there their they what when where why how all any but or if so
""".split())

# Longest first, so "shch" wins over "sh" and "zh" over "z".
_TO_CYRILLIC = sorted({
    "shch": "щ", "sch": "щ", "zh": "ж", "kh": "х", "ts": "ц", "ch": "ч", "sh": "ш",
    "yu": "ю", "ya": "я", "yo": "ё", "ye": "е", "iy": "ий", "yy": "ый", "ay": "ай",
    "oy": "ой", "uy": "уй", "ey": "ей", "aj": "ай", "oj": "ой", "uj": "уй", "ej": "ей",
    "a": "а", "b": "б", "v": "в", "g": "г", "d": "д", "e": "е", "z": "з", "i": "и",
    "j": "й", "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "r": "р",
    "s": "с", "t": "т", "u": "у", "f": "ф", "h": "х", "c": "ц", "y": "ы", "w": "в",
    "x": "кс", "q": "к", "'": "ь",
}.items(), key=lambda pair: -len(pair[0]))
# ASCII case-folding only: Unicode folding would let "ı", "İ", "ſ" and "K" (Kelvin) match
# "i", "s" and "k", and those letters have no entry in the table.
_TRANSLIT = re.compile("|".join(re.escape(latin) for latin, _ in _TO_CYRILLIC),
                       re.IGNORECASE | re.ASCII)
_TRANSLIT_MAP = dict(_TO_CYRILLIC)


def letter_counts(text: str) -> tuple[int, int]:
    """(Cyrillic letters, Latin letters) in `text`."""
    return len(_CYRILLIC.findall(text)), len(_LATIN.findall(text))


def is_transliterated(text: str) -> bool:
    """True when Latin letters carry Russian words ("u nas ne rabotaet otgruzka")."""
    words = [w.lower() for w in _LATIN_WORD.findall(text[:2000])]
    if len(words) < 3:
        return False
    russian = sum(w in _TRANSLIT_WORDS for w in words)
    english = sum(w in _ENGLISH_WORDS for w in words)
    return russian >= 2 and russian > english


def to_cyrillic(text: str) -> str:
    """Russian written in Latin letters, turned back into Cyrillic for the Russian matchers.

    >>> to_cyrillic("otgruzka ostanovilas")
    'отгрузка остановилась'
    """
    def replace(match: re.Match) -> str:
        cyrillic = _TRANSLIT_MAP.get(match.group(0).lower(), match.group(0))
        return cyrillic.upper() if match.group(0)[0].isupper() and cyrillic else cyrillic
    # The soft sign at the end of a verb is often dropped: "ostanovilas" means "остановилась".
    converted = _TRANSLIT.sub(replace, text)
    return re.sub(r"(?<=л[аи]с)\b", "ь", converted)


# Language is plain from the first lines; counting letters further only costs time.
DETECT_CHARS = 1000


def detect_language(text: str, default: str = "ru") -> str:
    """"ru" or "en" by the letters and words of the text; `default` when it has none.

    Mixed text goes by its larger script (Russian wins a tie: Russian mail is full of
    English product names and error messages), and Russian written in Latin letters is
    Russian.

    >>> detect_language("Отгрузка остановилась")
    'ru'
    >>> detect_language("privet, u nas ne rabotaet kassa")
    'ru'
    """
    return language_from_counts(*letter_counts(text[:DETECT_CHARS]), text, default)


def language_from_counts(cyrillic: int, latin: int, text: str, default: str = "ru") -> str:
    """`detect_language` for a caller that has already counted the letters."""
    if cyrillic == latin == 0:
        return default
    if cyrillic >= latin * 0.5:
        return "ru"
    return "ru" if is_transliterated(text) else "en"


def other_language_present(text: str, language: str, counts: tuple[int, int] | None = None) -> bool:
    """True when the language not chosen still has whole sentences' worth of letters."""
    cyrillic, latin = counts or letter_counts(text[:DETECT_CHARS])
    other = latin if language == "ru" else cyrillic
    return other >= 15 and other >= 0.2 * (cyrillic + latin)
