"""Flags from a mail's headers: auto-reply, bounce, mailing list, loop, importance."""

from __future__ import annotations

import re
from email.message import Message

from assistant.mail.charsets import Headers
from assistant.mail.mimewalk import param

# Subjects of out-of-office replies from mailers that send no RFC 3834 headers.
_OUT_OF_OFFICE = re.compile(
    r"^(?:\[[^\]]*\]\s*)?(?:automatic reply|auto[- ]?reply|autoreply|out of (?:the )?office"
    r"|автоматический ответ|автоответ|нет на месте|вне офиса|(?:я )?(?:нахожусь )?в отпуске)"
    r"|(?:automatic reply|автоматический ответ)\s*:",
    re.IGNORECASE,
)


def auto_reply(headers: Headers, message: Message, subject: str, notes: list[str]) -> bool:
    reason = None
    submitted = headers.first("auto-submitted").split(";", 1)[0].strip().lower()
    precedence = headers.first("precedence").lower()
    flagged = [name for name in ("x-autoreply", "x-autorespond", "x-autoresponse")
               if name in headers and headers.first(name).lower() not in ("no", "false", "0")]
    if submitted and submitted != "no":  # RFC 3834 section 5
        reason = f"Auto-Submitted: {submitted}"
    elif flagged:
        reason = flagged[0].title()
    elif precedence in ("auto_reply", "bulk", "junk"):
        reason = f"Precedence: {precedence}"
    elif _report_type(message) == "disposition-notification":
        reason = "a read receipt"
    elif _OUT_OF_OFFICE.search(subject):
        reason = f"the subject {subject[:60]!r}"
    return _flag("auto-reply", reason, notes)


def bounce(headers: Headers, message: Message, from_address: str, notes: list[str]) -> bool:
    reason = None
    if _report_type(message) == "delivery-status":
        reason = "a delivery status report"
    elif from_address.split("@", 1)[0] in ("mailer-daemon", "postmaster"):
        reason = f"sent by {from_address}"
    elif "return-path" in headers and "".join(headers.first("return-path").split()) == "<>":
        reason = "empty Return-Path"
    elif "x-failed-recipients" in headers:
        reason = "X-Failed-Recipients"
    return _flag("bounce", reason, notes)


def mailing_list(headers: Headers, notes: list[str]) -> bool:
    reason = next((name.title() for name in ("list-id", "list-unsubscribe", "list-post")
                   if name in headers), None)
    if not reason and headers.first("precedence").lower() == "list":
        reason = "Precedence: list"
    return _flag("mailing list", reason, notes)


def _flag(flag: str, reason: str | None, notes: list[str]) -> bool:
    if reason:
        notes.append(f"{flag}: {reason}")
    return reason is not None


def _report_type(message: Message) -> str:
    if message.get_content_type() != "multipart/report":
        return ""
    return param(message, "report-type").lower()


def loop(headers: Headers, from_address: str, own_addresses: frozenset[str]) -> bool:
    own = {address.lower() for address in own_addresses}
    return from_address in own or "x-assistant-origin" in headers


def importance(headers: Headers) -> str | None:
    """ "high" or "low" from Importance, X-Priority (1-2, 4-5), Priority, X-MSMail-Priority."""
    importance = headers.first("importance").lower()
    if importance in ("high", "low"):
        return importance
    x_priority = headers.first("x-priority")[:1]
    if x_priority in ("1", "2", "4", "5"):
        return "high" if x_priority in ("1", "2") else "low"
    priority = headers.first("priority").lower()
    if priority in ("urgent", "non-urgent"):
        return "high" if priority == "urgent" else "low"
    ms_priority = headers.first("x-msmail-priority").lower()
    return ms_priority if ms_priority in ("high", "low") else None

