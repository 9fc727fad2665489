"""What a consultant's reply to an approval request means: yes, no, a new text, or unclear.

People answer from their mail programs, and those add things: «С уважением, Мария» with no
"-- " before it, a job title and a phone number, "Отправлено с iPhone", the quoted request.
None of that turns «Согласовано» into a letter to send. A reply is read as an edit only
when, once the verdict line, the sign-off and the footers are set aside, what is left reads
as a letter; anything else is a question back to the consultant, never a guess that sends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.mail import quoting
APPROVE = {"ok", "ок", "okay", "окей", "approve", "approved", "yes", "да", "согласовано",
           "согласую", "одобряю", "одобрено", "отправляй", "отправляйте", "send", "lgtm", "+",
           "подтверждаю", "go"}
REJECT = {"reject", "rejected", "no", "нет", "отклонить", "отклоняю", "не отправлять", "не надо",
          "не отправляй", "не отправляйте", "отмена", "cancel", "don't send", "do not send"}
ANYWAY = {"send anyway", "send it anyway", "send as is", "отправить как есть", "отправь как есть",
          "отправьте как есть", "отправляй как есть", "отправляйте как есть", "всё равно отправить", "все равно отправить",
          "всё равно отправляй", "все равно отправляй"}
# Words that may stand beside a verdict without changing it: «Ок, спасибо», "Yes, please".
POLITE = {"спасибо", "thanks", "thank", "you", "please", "пожалуйста", "ahead", "it", "отлично",
          "супер", "great", "good", "fine", "looks", "всё", "все", "так", "можно", "ага", "да"}
# A letter to a client opens by greeting them or calling them by name.
_GREETING = re.compile(r"^(здравствуйте|добрый (день|вечер|утро)|доброе утро|привет|hello|hi|dear|"
                       r"good (morning|afternoon|evening)|[A-ZА-ЯЁ][a-zа-яё]+(\s[A-ZА-ЯЁ][a-zа-яё]+)?,)",
                       re.IGNORECASE)
_LETTER_WORDS = 12

# Lines a mail program or a person puts under any reply: closings, titles, contacts.
_CLOSING = re.compile(
    r"^(с уважением|с наилучшими пожеланиями|всего доброго|всего хорошего|спасибо|заранее спасибо|"
    r"хорошего дня|удачи|best regards|kind regards|warm regards|regards|best wishes|best|cheers|"
    r"thanks|thank you|many thanks|sincerely|yours|br)\b[\s,.!]*", re.IGNORECASE)
_CONTACT = re.compile(r"(@|https?://|www\.|\+?\d[\d\s()-]{6,}\d|тел\.?|tel\.?|phone|моб\.?)", re.IGNORECASE)
_TITLE = re.compile(r"(служба поддержки|поддержк|support|отдел|department|team|команда|"
                    r"консультант|consultant|инженер|engineer|менеджер|manager|specialist|"
                    r"специалист|руководитель|head of|ооо|llc|ltd|inc\.?)", re.IGNORECASE)
# Our own approval request, when a mail program quoted it without ">" marks.
_OUR_REQUEST = re.compile(r"(код черновика|draft code|черновик ответа ждёт вас|"
                          r"a draft reply is waiting for you|вот что я предлагаю ответить|"
                          r"here is the reply i suggest|как ответить на это письмо|"
                          r"how to answer this mail)", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    action: str            # approve | reject | edit | anyway | unclear
    text: str = ""         # the edited reply, for edit; what was unclear, for unclear


def read_verdict(visible_text: str) -> Verdict:
    """What a consultant's reply means.

    >>> read_verdict("Согласовано\\n\\nС уважением, Мария Иванова\\nСлужба поддержки").action
    'approve'
    >>> read_verdict("Анна, пришлите, пожалуйста, номер накладной — посмотрю сегодня.").action
    'edit'
    >>> read_verdict("хм").action
    'unclear'
    """
    lines = _own_words(visible_text)
    if not lines:
        return Verdict("unclear", "the reply is empty")
    first, rest = lines[0], without_sign_off(lines[1:])
    word = _verdict_of(first)
    if word and not rest:
        return Verdict(word)
    if word:
        return Verdict("unclear", f"«{first.strip()}» followed by text that reads as a letter")
    body = "\n".join(lines).strip()
    if _reads_as_letter(without_sign_off(lines)):
        return Verdict("edit", body)
    return Verdict("unclear", f"«{_short(body)}» is neither a yes, a no nor a letter")


def _own_words(text: str) -> list[str]:
    """The reply's lines without quotes, mobile footers, a "-- " signature or our request."""
    visible = quoting.visible_text(text or "")
    lines = visible.replace("\r\n", "\n").split("\n")
    for index, line in enumerate(lines):
        if _OUR_REQUEST.search(line):
            lines = lines[:index]
            break
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return lines


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[!.,;:)(\u2014\u2013]+|(?<!\w)-|-(?!\w)", " ",
                           text.lower().replace("ё", "е")).split())


_APPROVE, _REJECT, _ANYWAY, _POLITE = ({_norm(w) or w for w in words}
                                       for words in (APPROVE, REJECT, ANYWAY, POLITE))


def _verdict_of(line: str) -> str | None:
    """"approve", "reject" or "anyway" when the line says only that (politely), else None."""
    flat = _norm(line)
    if line.strip() == "+" or flat in _APPROVE:
        return "approve"
    if flat in _ANYWAY:
        return "anyway"
    if flat in _REJECT:
        return "reject"
    for said, phrases in (("anyway", _ANYWAY), ("reject", _REJECT), ("approve", _APPROVE)):
        for phrase in phrases:
            if flat.startswith(phrase + " ") and \
                    all(w in _POLITE for w in flat[len(phrase):].split()):
                return said
    return None


def _starts_with_a_verdict(line: str) -> bool:
    words = _norm(line).split()
    return bool(words) and any(" ".join(words[:n]) in _APPROVE | _REJECT | _ANYWAY for n in (1, 2, 3))


def without_sign_off(lines: list[str]) -> list[str]:
    """The lines before a closing, a name, a title or contacts at the end of the reply."""
    kept = list(lines)
    while kept and (not kept[-1].strip() or _sign_off_line(kept[-1])):
        kept.pop()
    return [line for line in kept if line.strip()]


def _sign_off_line(line: str) -> bool:
    text = line.strip()
    closing = _CLOSING.match(text)
    if closing:
        text = text[closing.end():].strip()
        if not text or _is_name(text):
            return True
    if len(text) > 80:
        return False
    return bool(_CONTACT.search(text) and len(text.split()) <= 8) or \
        bool(_TITLE.search(text) and len(text.split()) <= 6) or _is_name(text)


def _is_name(text: str) -> bool:
    """"Мария", "Мария Иванова", "M. Ivanova / Support": one to three capitalised words."""
    words = [w for w in re.split(r"[\s/|,]+", text) if w]
    return 0 < len(words) <= 3 and all(w[:1].isupper() and not w.endswith(("?", "!")) for w in words) \
        and not text.endswith((".", "?", "!", ":"))


def _reads_as_letter(lines: list[str]) -> bool:
    """A greeting or the client's name first, or a few sentences: what a letter to a client has."""
    if not lines or _starts_with_a_verdict(lines[0]):
        return False
    words = sum(len(line.split()) for line in lines)
    return bool(_GREETING.match(lines[0].strip())) and words >= 4 or words >= _LETTER_WORDS


def _short(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
