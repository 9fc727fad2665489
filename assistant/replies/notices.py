"""Mail to our own people (approval requests, on-call alerts), from templates/notices/."""

from __future__ import annotations

from pathlib import Path

import jinja2

from assistant.errors import TemplateError
from assistant.mail.subjects import split_subject


class Notices:
    """Renders `templates/notices/<lang>/<name>.txt.j2`; each starts with a Subject: line."""

    def __init__(self, templates_dir: Path):
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(templates_dir / "notices")),
            undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
            trim_blocks=True, lstrip_blocks=True)

    def render(self, name: str, lang: str, **values) -> tuple[str, str]:
        """(subject, text) of the notice in `lang` (English when that language has none)."""
        for candidate in (f"{lang}/{name}.txt.j2", f"en/{name}.txt.j2"):
            try:
                source = self.env.get_template(candidate).render(**values)
                break
            except jinja2.TemplateNotFound:
                continue
            except jinja2.TemplateError as exc:
                raise TemplateError(f"templates/notices/{candidate}: {exc}") from exc
        else:
            raise TemplateError(f"templates/notices/{lang}/{name}.txt.j2 is missing")
        subject, body = split_subject(source, f"templates/notices/{candidate}")
        return subject, body.lstrip("\n")
