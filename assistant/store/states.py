"""Every state a row can be in, as an enum stored as its value: tickets, drafts, mail, promises."""

from __future__ import annotations

import enum


class Fate(enum.StrEnum):
    """Where a message ended: exactly one per message read (the import summary counts them).

    SENT is the fate of our own letters recorded on a ticket; no message read ends there.
    """

    NEW_TICKET = "new_tickets"
    REPLY = "replies"
    DUPLICATE = "duplicates"
    SYSTEM = "system"
    QUARANTINED = "quarantined"
    SENT = "sent"


# The fates a message read can end in: what `import --json` counts.
INCOMING_FATES = tuple(fate for fate in Fate if fate is not Fate.SENT)


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"


class Status(enum.StrEnum):
    """A ticket's state; moved only by `ticketstate.move`. Prints as its value ("open")."""

    NEW = "new"              # nobody has answered yet
    OPEN = "open"            # we answered; work goes on
    WAITING = "waiting"      # we wait for the client
    HELD = "held"            # waits for an owner's approval (access requests)
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = (Status.NEW.value, Status.OPEN.value, Status.WAITING.value, Status.HELD.value)

PRIORITIES = ("critical", "high", "normal", "low")


class Acknowledgement(enum.StrEnum):
    """Where a new ticket's acknowledgement stands."""

    NONE = "none"            # imported history: not acknowledged
    DUE = "due"              # to be written after the walk's commit
    DRAFTED = "drafted"      # waits for a consultant's approval
    SENT = "sent"
    BLOCKED = "blocked"      # the outbox refused it (a cap, a no-reply address)
    FAILED = "failed"        # could not be written or was not delivered; can be retried


class QuarantineKind(enum.StrEnum):
    UNPARSEABLE = "unparseable"
    HELD = "held"            # a reply from a stranger, waiting for a consultant's look


class NoticeState(enum.StrEnum):
    DUE = "due"
    WRITTEN = "written"
    FAILED = "failed"


class DraftStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SENT = "sent"
    SUPERSEDED = "superseded"
    BLOCKED = "blocked"      # the outbox refused it
    FAILED = "failed"        # it bounced


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"  # a daemon died while sending: it may have gone out
    BLOCKED = "blocked"      # refused before sending (a cap, a no-reply address)


class MailKind(enum.StrEnum):
    """What an outgoing mail is; letters to a client carry their draft's situation."""

    REPLY = "reply"
    ACKNOWLEDGEMENT = "acknowledgement"
    NEED_INFO = "need_info"
    OPTIONS = "options"
    PROGRESS = "progress"
    RESOLVED = "resolved"
    FORWARDED = "forwarded"
    MANAGER_SUMMARY = "manager_summary"
    APPROVAL_REQUEST = "approval_request"   # to a consultant: approve a draft
    ACCESS_REQUEST = "access_request"       # to a business owner: approve access
    ALERT = "alert"                         # to our people: on-call, silence, bounces
    SUMMARY = "summary"                     # to managers
    SIGNIN = "signin"                       # a sign-in link for the web desk

    @classmethod
    def of_situation(cls, situation: str) -> MailKind:
        """The kind of a client's letter drafted for `situation`; a situation added as
        templates only (no member of its own) is a plain REPLY."""
        try:
            return cls(situation)
        except ValueError:
            return cls.REPLY


class PromiseState(enum.StrEnum):
    OPEN = "open"
    KEPT = "kept"
    MISSED = "missed"
    VOID = "void"            # the ticket closed, or the letter bounced, first
