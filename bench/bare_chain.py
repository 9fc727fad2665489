"""The bare reference chain the assistant's intake is measured against, in the same run.

IMAP fetch (UID FETCH BODY.PEEK[] in batches of 200) → stdlib parse with policy.default
(six headers, the plain or else the HTML body, tags stripped) → language by Cyrillic share →
spaCy blank ru/en (ru with the pymorphy3 lemmatizer) through a lemma/lower PhraseMatcher and
a token Matcher → SQLModel Ticket + Message rows, one commit per batch. It does less than the
assistant (no threading, no idempotency, no raw storage, no rules from rules/): it is the bar a
user compares against per core. Written for this bench after the shape of a plain
fetch-parse-match-insert loop; its phrases are a few of our own, which sets the matchers' work
about right (PhraseMatcher cost hardly depends on how many phrases it holds).
"""

from __future__ import annotations

import email
import re
import time
from datetime import datetime, timezone
from email.policy import default as default_policy
from html import unescape
from typing import Optional

HEADERS = ("subject", "from", "date", "message-id", "in-reply-to", "references")
_TAG = re.compile(r"<(style|script)\b.*?</\1>|<[^>]+>", re.S | re.I)
_CYRILLIC = re.compile(r"[а-яёА-ЯЁ]")

RU_PHRASES = ["не могу войти", "личный кабинет", "сбросьте пароль", "возврат", "вернуть",
              "дважды списали", "счёт", "вылетает при запуске", "отменить подписку",
              "платёж не прошёл", "адрес доставки", "пустой файл", "срочно", "не работает",
              "остановилась отгрузка", "сбой", "обновление", "лицензия", "ошибка", "доступ"]
EN_PHRASES = ["can't log in", "cannot log in", "reset my password", "password reset", "refund",
              "charged twice", "invoice", "crashes on startup", "cancel my subscription",
              "payment failed", "delivery address", "empty file", "urgent", "not working",
              "outage", "update", "license", "error", "access", "shipment stopped"]
TOKEN_PATTERNS = {
    "ORDER_NO": [[{"ORTH": {"IN": ["#", "№"]}}, {"IS_DIGIT": True}]],
    "EMAIL": [[{"LIKE_EMAIL": True}]],
    "URL": [[{"LIKE_URL": True}]],
    "MONEY": [[{"LIKE_NUM": True}, {"LOWER": {"IN": ["руб", "руб.", "usd", "eur", "₽"]}}]],
    "NEGATED": [[{"LOWER": {"IN": ["not", "never", "не"]}}, {"IS_ALPHA": True}]],
    "HTTP_CODE": [[{"LOWER": {"IN": ["http", "ошибка", "error"]}}, {"TEXT": {"REGEX": r"^[45]\d\d$"}}]],
    "URGENT": [[{"LOWER": {"IN": ["urgent", "asap", "срочно", "срочный"]}}]],
}


def _pipeline(lang: str):
    import spacy
    from spacy.matcher import Matcher, PhraseMatcher
    nlp = spacy.blank(lang)
    if lang == "ru":
        nlp.add_pipe("lemmatizer", config={"mode": "pymorphy3"})
        nlp.initialize()
        phrases = PhraseMatcher(nlp.vocab, attr="LEMMA")
        phrases.add("PHRASE", list(nlp.pipe(RU_PHRASES)))
    else:
        phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        phrases.add("PHRASE", list(nlp.tokenizer.pipe(EN_PHRASES)))
    tokens = Matcher(nlp.vocab)
    for name, patterns in TOKEN_PATTERNS.items():
        tokens.add(name, patterns)
    return nlp, phrases, tokens


def _models():
    from sqlmodel import Field, SQLModel

    class BareTicket(SQLModel, table=True):
        id: Optional[int] = Field(default=None, primary_key=True)
        subject: str
        requester: str
        status: str = "open"
        priority: int = 3
        created_at: datetime
        deadline: Optional[datetime] = None

    class BareMessage(SQLModel, table=True):
        id: Optional[int] = Field(default=None, primary_key=True)
        ticket_id: int = Field(foreign_key="bareticket.id", index=True)
        message_id: str = Field(unique=True)
        in_reply_to: Optional[str] = None
        sender: str
        subject: str
        body: str
        received_at: datetime

    return SQLModel, BareTicket, BareMessage


def _engine(path: str):
    from sqlalchemy import event
    from sqlmodel import create_engine
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _pragmas(connection, _record):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
    return engine


def _parse(uid: int, raw: bytes) -> tuple[int, dict, str, str]:
    mail = email.message_from_bytes(raw, policy=default_policy)
    headers = {name: (str(mail[name]) if mail[name] is not None else None) for name in HEADERS}
    body = mail.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        text = body.get_content()
        if body.get_content_subtype() == "html":
            text = re.sub(r"[ \t\r\f\v]+", " ", unescape(_TAG.sub(" ", text))).strip()
    sample = text[:2000]
    letters = max(1, sum(ch.isalpha() for ch in sample))
    lang = "ru" if len(_CYRILLIC.findall(sample)) > 0.2 * letters else "en"
    return uid, headers, text, lang


def run(host: str, port: int, user: str, password: str, db_path: str, batch: int = 200,
        ready=lambda: None) -> dict:
    """Reads the whole INBOX once; returns messages, seconds (after start-up), stage seconds
    and the wall-clock start and end. `ready` is called once started up, before the clock."""
    from imapclient import IMAPClient
    from sqlmodel import Session
    SQLModel, Ticket, Message = _models()
    engine = _engine(db_path)
    SQLModel.metadata.create_all(engine)
    nlp = {"ru": _pipeline("ru"), "en": _pipeline("en")}
    client = IMAPClient(host, port=port, ssl=False, timeout=120)
    client.login(user, password)
    client.select_folder("INBOX", readonly=True)
    uids = client.search("ALL")
    stages = dict.fromkeys(("fetch", "parse", "nlp", "db"), 0.0)
    clock = time.perf_counter
    ready()
    wall = time.time()
    started = clock()
    for start in range(0, len(uids), batch):
        a = clock()
        fetched = client.fetch(uids[start:start + batch], [b"BODY.PEEK[]"])
        b = clock()
        records = [_parse(uid, data[b"BODY[]"]) for uid, data in fetched.items()]
        c = clock()
        tags: dict[int, int] = {}
        for lang in ("ru", "en"):
            chosen = [k for k, record in enumerate(records) if record[3] == lang]
            pipeline, phrases, tokens = nlp[lang]
            texts = ((records[k][1]["subject"] or "") + "\n\n" + records[k][2] for k in chosen)
            for k, doc in zip(chosen, pipeline.pipe(texts, batch_size=256)):
                tags[k] = len(phrases(doc)) + len(tokens(doc))
        d = clock()
        now = datetime.now(timezone.utc)
        with Session(engine) as session:
            for k, (uid, headers, text, _lang) in enumerate(records):
                ticket = Ticket(subject=(headers["subject"] or "")[:250],
                                requester=(headers["from"] or "")[:200],
                                priority=1 if tags.get(k, 0) > 5 else 3, created_at=now, deadline=now)
                session.add(ticket)
                session.flush()
                session.add(Message(ticket_id=ticket.id,
                                    message_id=headers["message-id"] or f"<uid{uid}@bench>",
                                    in_reply_to=headers["in-reply-to"],
                                    sender=(headers["from"] or "")[:200],
                                    subject=(headers["subject"] or "")[:250], body=text,
                                    received_at=now))
            session.commit()
        stages["fetch"] += b - a
        stages["parse"] += c - b
        stages["nlp"] += d - c
        stages["db"] += clock() - d
    seconds = clock() - started
    client.logout()
    engine.dispose()
    return {"messages": len(uids), "seconds": seconds, "stages": stages, "wall_start": wall,
            "wall_end": wall + seconds}
