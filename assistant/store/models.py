"""The tables: clients, tickets, messages, attachments, quarantine, mailbox cursors, history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint
from sqlalchemy.orm import relationship
from sqlmodel import Field, Relationship, SQLModel

from assistant.store.columns import StateColumn, UTCDateTime
from assistant.store.states import Acknowledgement, Direction, DraftStatus, Fate, MailKind, NoticeState, OutboxStatus, PromiseState, QuarantineKind, Status


def _state(states: type, *default, index: bool = False):
    """A required state column, or one with `default` when given."""
    return Field(*default, sa_column=Column(StateColumn(states), nullable=False, index=index))


def _written_after(target: str):
    """The row a foreign key points at, declared so that a flush writes that row first:
    SQLAlchemy orders the inserts of one flush by relationships, not by foreign keys, and
    the walk writes a batch's new clients, tickets and messages in one flush (see
    store/ids.py). Setting it to a row not yet written has the flush fill in the id.
    Never loaded (reading it raises): read the row by its id."""
    return Relationship(sa_relationship=relationship(target, lazy="raise"))


def _when(nullable: bool = True, index: bool = False):
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Client(SQLModel, table=True):
    """Whoever writes to us; created from the address on first contact, no registration."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True, sa_column_kwargs={"unique": True})
    name: str = ""
    internal: bool = False          # a colleague from one of the company domains
    language: str | None = None     # the language of their last message
    timezone: str | None = None
    created_at: datetime | None = _when(nullable=False)


class Ticket(SQLModel, table=True):
    __table_args__ = (Index("ix_ticket_status_due", "status", "resolution_due"),)

    id: int | None = Field(default=None, primary_key=True)
    subject: str = ""
    client_id: int = Field(foreign_key="client.id", index=True)
    client: Client = _written_after("Client")
    status: Status = Field(default=Status.NEW, sa_column=Column(StateColumn(Status), nullable=False))
    priority: str = "normal"
    critical: bool = False
    priority_reasons: str = ""      # JSON list of {rule, text}: why the priority is what it is
    category: str = "question"
    language: str = "ru"
    assignee: str | None = None     # a consultant's address
    approver: str | None = None     # the business owner who must approve an access request
    created_at: datetime | None = _when(nullable=False)
    updated_at: datetime | None = _when(nullable=False)
    first_response_due: datetime | None = _when()
    resolution_due: datetime | None = _when()
    # The earliest time the client named themselves ("сегодня до 12:00"): deadlines
    # recomputed later (a priority set by hand) still end no later than this.
    client_deadline: datetime | None = _when()
    first_response_at: datetime | None = _when()
    client_last_heard_at: datetime | None = _when()   # when we last wrote to the client
    resolved_at: datetime | None = _when()
    # When the client's mail brought a resolved or waiting ticket back to work: the
    # reporting rhythm starts again from here, not from our letter before it.
    reopened_at: datetime | None = _when()
    # The acknowledgement of a new ticket (imported history stays NONE).
    acknowledgement: Acknowledgement = _state(Acknowledgement, Acknowledgement.NONE, index=True)

    @property
    def ref(self) -> str:
        return f"#{self.id}"

    @property
    def tag(self) -> str:
        return f"[#{self.id}]"


class Participant(SQLModel, table=True):
    """An address allowed to add mail to a ticket (the client, people in Cc, consultants)."""

    __table_args__ = (UniqueConstraint("ticket_id", "email"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    ticket: Ticket = _written_after("Ticket")
    email: str


class Message(SQLModel, table=True):
    """One mail, in or out. `message_id` is unique: a second copy is a duplicate."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(index=True, sa_column_kwargs={"unique": True})
    content_hash: str = Field(index=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    ticket: Ticket = _written_after("Ticket")
    direction: Direction = _state(Direction, Direction.IN)
    fate: Fate = _state(Fate, Fate.NEW_TICKET)
    from_address: str = ""
    from_name: str = ""
    to_addresses: str = ""          # comma-separated
    cc_addresses: str = ""
    subject: str = ""
    in_reply_to: str | None = None
    references: str = ""            # space-separated Message-IDs
    visible_text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    language: str | None = None
    flags: str = ""                 # comma-separated: auto_reply, bounce, list, loop
    notes: str = ""                 # what intake noticed: charset guesses, skipped attachments
    size: int = 0
    sent_at: datetime | None = _when()
    received_at: datetime | None = _when(nullable=False)
    source: str = ""                # imap:INBOX:uidvalidity:uid or a file path


class Attachment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    message: Message = _written_after("Message")
    filename: str
    content_type: str
    size: int
    sha256: str | None = None       # None: over the limit, kept only inside the raw message
    inline: bool = False


class Quarantine(SQLModel, table=True):
    """A message not turned into a ticket: unparseable, or held for a consultant's look."""

    id: int | None = Field(default=None, primary_key=True)
    content_hash: str = Field(index=True)
    message_id: str | None = None
    from_address: str = ""
    subject: str = ""
    kind: QuarantineKind = _state(QuarantineKind, QuarantineKind.UNPARSEABLE)
    reason: str = ""
    ticket_id: int | None = None    # held: the ticket it claims to belong to
    source: str = ""
    created_at: datetime | None = _when(nullable=False)
    resolved_at: datetime | None = _when()
    resolution: str = ""            # what became of it: "ticket #12", "released", ...


class PendingNotice(SQLModel, table=True):
    """A letter to our own people that the walk decided on, written after its commit.

    Owner approval requests used to be rendered inside the message's transaction, so a
    broken template cost the client's mail its ticket. Now the walk only records that one
    is due; `pending.PendingNotices.write_due` renders and queues it.
    """

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    ticket: Ticket = _written_after("Ticket")
    kind: MailKind = _state(MailKind)       # ACCESS_REQUEST
    detail: str = ""                # access_request: the business owner's address
    state: NoticeState = _state(NoticeState, NoticeState.DUE, index=True)
    attempts: int = 0
    last_error: str = ""
    created_at: datetime | None = _when(nullable=False)
    done_at: datetime | None = _when()


class RawMessage(SQLModel, table=True):
    """The exact bytes of every fetched or imported mail, kept before it is marked done."""

    content_hash: str = Field(primary_key=True)
    size: int
    path: str = ""                  # relative to storage.data_dir when kept on disk
    data: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class MailboxCursor(SQLModel, table=True):
    """How far a folder has been read: the last UID done, valid only for its UIDVALIDITY."""

    __table_args__ = (UniqueConstraint("account", "folder"),)

    id: int | None = Field(default=None, primary_key=True)
    account: str
    folder: str
    uidvalidity: int
    last_uid: int = 0


class TicketChange(SQLModel, table=True):
    """An audit trail: who changed what on a ticket, from what, to what, and why."""

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    ticket: Ticket = _written_after("Ticket")
    field: str
    old: str = ""
    new: str = ""
    who: str = "assistant"
    why: str = ""
    at: datetime | None = _when(nullable=False)


class Setting(SQLModel, table=True):
    """Small values the assistant keeps for itself (the schema version, the signing key)."""

    key: str = Field(primary_key=True)
    value: str


class Draft(SQLModel, table=True):
    """A reply waiting for a consultant (or sent on its own when it is an acknowledgement)."""

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    ticket: Ticket = _written_after("Ticket")
    situation: str                  # acknowledgement, need_info, options, progress, ...
    language: str = "ru"
    template: str = ""              # which phrasing was used, e.g. ru/acknowledgement/2.txt.j2
    subject: str = ""
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    html: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    findings: str = "[]"            # JSON: the tone findings on the current text
    status: DraftStatus = _state(DraftStatus, DraftStatus.PENDING)
    token: str = ""                 # the secret an emailed approval must carry
    consultant: str | None = None   # who is asked to approve
    edited_by: str | None = None
    send_anyway: bool = False       # a consultant chose to send despite tone findings
    automatic: bool = False         # may go out without review
    in_reply_to: str | None = None  # the client's Message-ID being answered
    next_contact_at: datetime | None = _when()  # the time the letter promises; a timer once sent
    created_at: datetime | None = _when(nullable=False)
    decided_at: datetime | None = _when()
    decided_by: str | None = None


class OutboxMail(SQLModel, table=True):
    """A mail to send, built once: the row is the promise it goes out once and only once."""

    # The second index serves the per-recipient cap on automatic mail (Outbox.blocked).
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),
                      Index("ix_outbox_recipients_created", "recipients", "created_at"))

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(sa_column_kwargs={"unique": True})
    ticket_id: int | None = Field(default=None, index=True)
    draft_id: int | None = None
    kind: MailKind = _state(MailKind, MailKind.REPLY)
    recipients: str = ""            # comma-separated envelope recipients
    subject: str = ""
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    automatic: bool = False         # carries Auto-Submitted; counts against the per-mailbox cap
    status: OutboxStatus = _state(OutboxStatus, OutboxStatus.QUEUED)
    attempts: int = 0
    last_error: str = ""
    created_at: datetime | None = _when(nullable=False)
    next_attempt_at: datetime | None = _when()
    sent_at: datetime | None = _when()
    claimed_by: str = ""            # the process that took it to send (see leases.process_id)
    sent_copy: str = ""             # due | filed: its copy in the mailbox's Sent folder


class WorkLogEntry(SQLModel, table=True):
    """What a consultant did or plans on a ticket; progress reports quote the visible ones."""

    __table_args__ = (Index("ix_worklog_ticket_at", "ticket_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    ticket: Ticket = _written_after("Ticket")
    author: str = ""                # a consultant's address
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    kind: str = "done"              # done | next: work done, or the step that comes next
    client_visible: bool = True     # False: for our own people only, never in a client's mail
    at: datetime | None = _when(nullable=False)
    source: str = "cli"             # cli | mail
    message_id: str | None = None   # the consultant's mail it came from


class Promise(SQLModel, table=True):
    """A time we gave a client ("next update by 15:00"): a timer until they hear from us."""

    __table_args__ = (Index("ix_promise_state_due", "state", "due"),
                      Index("ix_promise_ticket_state", "ticket_id", "state"))

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    ticket: Ticket = _written_after("Ticket")
    due: datetime | None = _when(nullable=False)
    promised_by: str = ""           # who signed the letter: a consultant, or "assistant"
    draft_id: int | None = None
    made_at: datetime | None = _when(nullable=False)
    state: PromiseState = _state(PromiseState, PromiseState.OPEN)
    kept_at: datetime | None = _when()
    missed_at: datetime | None = _when()
    alerted_at: datetime | None = _when()


class ProgressCheckpoint(SQLModel, table=True):
    """A checkpoint a progress report was written for: one report per checkpoint, ever."""

    __table_args__ = (UniqueConstraint("ticket_id", "due"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    ticket: Ticket = _written_after("Ticket")
    due: datetime | None = _when(nullable=False)
    draft_id: int | None = None
    created_at: datetime | None = _when(nullable=False)


class AlertSent(SQLModel, table=True):
    """An alert already given, so a restart or the next minute does not repeat it."""

    __table_args__ = (UniqueConstraint("ticket_id", "kind", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    ticket: Ticket = _written_after("Ticket")
    kind: str                       # silence | deadline | unowned | promise
    key: str = ""                   # what makes it a new alert: the moment it is about
    sent_to: str = ""
    at: datetime | None = _when(nullable=False)


class ScheduleRun(SQLModel, table=True):
    """When a scheduled job last ran: due times come from here, never from memory."""

    name: str = Field(primary_key=True)
    last_run_at: datetime | None = _when()


class Lease(SQLModel, table=True):
    """Work that one daemon does at a time, and who does it until when.

    `mailbox:<account>` reads a mailbox, `schedule` runs the checkpoints, `process:<id>`
    says a daemon is alive. A holder renews its leases well before they expire; when it
    dies, another daemon takes them once `expires_at` has passed.
    """

    name: str = Field(primary_key=True)
    holder: str
    acquired_at: datetime | None = _when(nullable=False)
    expires_at: datetime | None = _when(nullable=False)
