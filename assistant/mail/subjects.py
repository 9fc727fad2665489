"""Subject lines: the reply prefixes clients' mail programs add, and the Subject: line each template begins with."""

from __future__ import annotations

import re

from assistant.errors import TemplateError

# "Re:", "AW:", "Ответ:", "Re[2]:", "Fwd(3):"... as mail programs in our clients' languages
# write them, any number of them in a row at the start of a subject.
REPLY_PREFIX = re.compile(
    r"^\s*((re|fwd?|aw|wg|sv|vs|tr|rif|antw|ответ|отв|на|пересл|fw)\s*(\[\d+\]|\(\d+\))?\s*:\s*)+",
    re.IGNORECASE)


def without_reply_prefixes(subject: str) -> str:
    """`subject` without the prefixes at its start: "Re: AW: Ответ: Отгрузка" → "Отгрузка".

    Only the start: "Отгрузка: Re: вопрос" comes back as it is.
    """
    return REPLY_PREFIX.sub("", subject)


def split_subject(rendered: str, where: str) -> tuple[str, str]:
    """(subject, rest) of a rendered template whose first line is "Subject: ...".

    The subject comes back on one line with its spaces collapsed; a byte-order mark before
    it is ignored; the rest is everything after the first line, as it was. A template that
    does not begin so raises TemplateError naming `where` (the template's file).
    """
    first, _, rest = rendered.lstrip("\ufeff").partition("\n")
    if not first.startswith("Subject:"):
        raise TemplateError(f"{where}: a template must begin with a 'Subject:' line")
    return " ".join(first[len("Subject:"):].split()), rest
