"""A stranger's mail, however crafted, is understood or refused with a reason: never a crash.

Each crafted case once raised out of parse or triage, or held intake for minutes. Bounds
are asserted on the work done (text produced, memory allocated, what the parser is
given), not on the clock; bench/hostile.py prints the times.
"""

from __future__ import annotations

import email.message
import re
import string
import tracemalloc
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

import hostile_mail
from assistant.mail import addresses, htmltext, intake, mimewalk, quoting, tnef
from assistant.policy import langdetect, language
from assistant.mail.charsets import clean
from assistant.config import defaults
from assistant.errors import Unparseable
from assistant.policy.language import Pipelines
from assistant.policy.tone import ToneChecker
from assistant.policy.triage import Triage

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=timezone.utc)
BOUNDED = settings(max_examples=150, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def readers() -> tuple[Triage, ToneChecker]:
    config = defaults()
    pipelines = Pipelines()
    return Triage(config, pipelines), ToneChecker(config.rules_dir, pipelines)


def assert_valid_text(mail: intake.Incoming) -> None:
    """Every text a store, a pipeline or a terminal will see encodes and holds no NUL."""
    texts = [mail.message_id, mail.from_address, mail.from_name, mail.subject, mail.text,
             mail.html or "", mail.visible_text, mail.in_reply_to or "", *mail.to, *mail.cc,
             *mail.reply_to, *mail.references, *mail.notes, *mail.headers, *mail.headers.values()]
    for part in mail.attachments:
        texts += [part.filename, part.content_type, part.content_id or ""]
    for text in texts:
        text.encode("utf-8")
        assert "\x00" not in text


def understand(raw: bytes, readers) -> intake.Incoming | None:
    """What the walk does with one mail before storing it; None when refused as not mail."""
    triage, tone = readers
    try:
        mail = intake.parse(raw)
    except Unparseable as refused:
        assert str(refused) and "\n" not in str(refused)
        return None
    assert_valid_text(mail)
    text = mail.visible_text or mail.text
    triage.assess(mail.subject, text, importance=mail.importance, now=NOW)
    tone.check(text)
    return mail


# ---- the crafted cases ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(set(hostile_mail.CASES) - hostile_mail.HEAVY))
def test_each_crafted_mail_is_understood_or_refused_with_a_reason(name, readers):
    understand(hostile_mail.CASES[name](), readers)


def test_turkish_and_long_s_letters_are_read_not_crashed_on(readers):
    triage, _ = readers
    verdict = triage.assess("PRİVET", "privet, u nas ne rabotaet kassa ılı ſrochno", now=NOW)
    assert verdict.language == "ru" and verdict.priority == "critical"
    assert langdetect.to_cyrillic("kassa ılı İ ſ") == "касса ıлı İ ſ"


def test_deadlines_written_with_rare_letter_forms_still_count(readers):
    triage, _ = readers
    friday = triage.assess("Invoice", "Please send it by frıday", now=NOW)
    assert friday.client_deadline == datetime(2026, 11, 27, 15, 0, tzinfo=timezone.utc)
    tuesday = triage.assess("Счёт", "Нужно до ᲀторника", now=NOW)
    assert tuesday.client_deadline == datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)


def test_lone_surrogates_and_nul_never_leave_intake():
    for name in ("UTF-7 lone surrogate in the body", "escaped lone surrogate in the body",
                 "lone surrogates in the subject", "NUL in the subject and the From name"):
        mail = intake.parse(hostile_mail.CASES[name]())
        assert_valid_text(mail)
    mail = intake.parse(hostile_mail.CASES["UTF-7 lone surrogate in the body"]())
    assert mail.text == "Hello \ufffd world"
    mail = intake.parse(hostile_mail.CASES["NUL in the subject and the From name"]())
    assert (mail.subject, mail.from_name) == ("Helpme", "Anna")


def test_the_sender_is_the_address_in_angle_brackets_not_the_one_in_the_name():
    mail = intake.parse(hostile_mail.mail(sender="anna@romashka.example <mallory@evil.example>"))
    assert mail.from_address == "mallory@evil.example"
    assert any("looks like an address" in note for note in mail.notes)
    quoted = intake.parse(hostile_mail.mail(sender='"anna@romashka.example" <mallory@evil.example>'))
    assert quoted.from_address == "mallory@evil.example"


@pytest.mark.parametrize("sender", [
    "(anna@romashka.example) mallory@evil.example",
    "mallory@evil.example (anna@romashka.example)",
    "(anna@romashka.example) <mallory@evil.example>",
])
def test_an_address_in_a_comment_never_counts(sender):
    assert intake.parse(hostile_mail.mail(sender=sender)).from_address == "mallory@evil.example"


def test_a_mailbox_naming_two_addresses_names_none():
    mail = intake.parse(hostile_mail.mail(
        sender="Anna <anna@romashka.example> <mallory@evil.example>",
        headers="Return-Path: <bounce@evil.example>"))
    assert mail.from_address == "bounce@evil.example"
    assert any("no usable From" in note for note in mail.notes)


def test_comments_nested_far_past_any_recursion_limit_are_read():
    mail = intake.parse(hostile_mail.nested_comments(20_000))
    assert mail.from_address == "anna@client.example"
    assert addresses.mailboxes("(" * 100_000) == []


def test_a_message_id_the_outbox_would_refuse_is_replaced_and_kept_in_a_note():
    raw = hostile_mail.mail(headers="Message-ID: a>b@x\nIn-Reply-To: <c d@x> <ok@x>\n")
    mail = intake.parse(raw)
    assert mail.message_id.startswith("derived-") and mail.derived_message_id
    assert intake.parse(raw).message_id == mail.message_id  # a second copy stays a duplicate
    assert any("'a>b@x'" in note for note in mail.notes)
    assert mail.in_reply_to == "ok@x"


def test_a_date_past_the_last_datetime_is_noted_not_kept():
    mail = intake.parse(hostile_mail.CASES["Date in year 9999 at -2359"]())
    assert mail.date is None and any("out of any mailer's range" in n for n in mail.notes)


def test_an_idna_charset_in_a_file_name_keeps_the_attachment():
    mail = intake.parse(hostile_mail.CASES["IDNA charset in an RFC 2231 file name"]())
    assert [(p.filename, p.data) for p in mail.attachments] == [("xn--d1acufc.pdf", b"%PDF")]


def test_file_names_lose_the_marks_that_reverse_their_direction():
    mail = intake.parse(hostile_mail.attachment_mail('attachment; filename="inv\u202egpj.exe"'))
    assert [p.filename for p in mail.attachments] == ["invgpj.exe"]


def test_clean_text_keeps_what_a_reader_sees_and_drops_what_breaks_stores():
    assert clean("Tab\there\nline\r\n") == "Tab\there\nline\r\n"
    assert clean("a\x00b\x1b[31mc\x7f\x85d\ud800\udfff") == "ab[31mcd\ufffd\ufffd"
    assert clean("İı ſ ᲀ \u0301 \u202e") == "İı ſ ᲀ \u0301 \u202e"


def test_forwarded_mail_nested_600_deep_is_kept_by_its_headers():
    mail = intake.parse(hostile_mail.nested_rfc822(600))
    [forwarded] = mail.attachments
    assert forwarded.size < 200 and forwarded.data.startswith(b"From: f599@client.example")
    assert any("nested more than 20 deep" in note for note in mail.notes)
    assert mail.visible_text == "see below"


def test_forwarded_mail_nested_beyond_the_parser_is_refused_with_a_reason():
    try:
        mail = intake.parse(hostile_mail.nested_rfc822(5000))
    except Unparseable as refused:
        assert "nested too deeply" in str(refused)
    else:
        assert_valid_text(mail)


@pytest.mark.parametrize("size", [265_000, 963_000])
def test_a_blockquote_bomb_gives_text_in_proportion_to_its_html(size):
    raw = hostile_mail.blockquote_bomb(size)
    tracemalloc.start()
    try:
        mail = intake.parse(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(mail.text) < 2 * len(raw)
    assert peak < 40 * 2**20
    deepest = max(len(line) - len(line.lstrip("> ")) for line in mail.text.splitlines())
    assert deepest <= 2 * htmltext.MAX_DEPTH_SHOWN


def test_nested_lists_and_links_grow_the_text_no_faster_than_the_html():
    for html in ("<ul><li>item" * 5000, '<a href="https://x.example/">link' * 5000):
        assert len(htmltext.to_text(html)) < 3 * len(html)


@pytest.mark.parametrize("opener", ["<a ", "<!--", "<a href='", "<p/", "<a b='>", "</a "])
def test_unclosed_markup_reaches_the_parser_only_as_whole_tags(opener):
    html = "<p>Hello</p>" + opener * 20_000
    guarded = htmltext._complete_markup(html)
    for start in (m.start() for m in re.finditer("<", guarded)):
        assert re.match(r"<(?:!--.*?-->|[a-zA-Z/!?][^<>]*>)", guarded[start:], re.DOTALL)
    text = htmltext.to_text(html)
    assert text.startswith("Hello") and opener.strip() in text


def test_html_written_well_is_read_as_before():
    html = ('<div>Hi <b>Ann</b>,<!-- note <b>x</b> --></div><p title="a>b">see '
            '<a href="https://x.org/a">this</a></p><script>if (a<b) {}</script>')
    assert htmltext.to_text(html) == "Hi Ann,\n\nsee this (https://x.org/a)"


@pytest.mark.parametrize("mark", ["!", ">", "'s", "(", "."])
def test_pipelines_read_long_runs_of_punctuation_as_a_few_marks(mark, readers):
    text = "Help" + mark * 40_000 + " urgent"
    seen = language.readable(text)
    assert len(seen) == len(text) or len(seen) == language.MAX_PIPELINE_CHARS
    assert max(len(word) for word in seen.split()) <= language.MAX_WORD_CHARS
    triage, tone = readers
    assert triage.assess(mark * 39_000, text, now=NOW)
    assert tone.check(mark * 195_000) == []


def test_tone_findings_keep_their_offsets_in_text_with_punctuation_runs(readers):
    _, tone = readers
    text = "!" * 500 + " Вы допустили ошибку в документе."
    [finding] = tone.check(text)
    assert text[finding.start:finding.end] == finding.text == "Вы допустили ошибку"


def test_a_long_subject_is_cut_and_noted():
    mail = intake.parse(hostile_mail.punctuation_subject(39_000))
    assert len(mail.subject) == intake.MAX_SUBJECT_CHARS
    assert any("Subject of 39000 characters" in note for note in mail.notes)


def test_a_header_of_many_parameters_is_read_from_its_head_only(monkeypatch):
    given: list[int] = []
    split = email.message._parseparam
    monkeypatch.setattr(email.message, "_parseparam", lambda value: given.append(len(value))
                        or split(value))
    mail = intake.parse(hostile_mail.CASES["Content-Type of 100,000 parameters"]())
    assert mail.text == "x"
    assert given and max(given) <= mimewalk.MAX_PARAMS_CHARS + 2


def test_thousands_of_parts_are_walked_up_to_the_limit():
    mail = intake.parse(hostile_mail.many_parts(3 * mimewalk.MAX_PARTS))
    assert mail.text.count("x") == mimewalk.MAX_PARTS - 1  # the multipart itself is one
    assert f"more than {mimewalk.MAX_PARTS} MIME parts; the rest skipped" in mail.notes


def _unflow_by_adding(text: str, delsp: bool = False) -> str:
    """RFC 3676 joining written the plain way (each line added to a string): the reference."""
    out, pending = [], None
    for line in text.split("\n"):
        content = line.lstrip(">")
        depth = len(line) - len(content)
        content = content[1:] if content.startswith(" ") else content
        soft = content.endswith(" ") and content != "-- "
        if pending is not None and pending[0] == depth:
            content = pending[1] + content
        elif pending is not None:
            out.append(quoting._requote(*pending))
        pending = (depth, content[:-1] if delsp else content) if soft else None
        if not soft:
            out.append(quoting._requote(depth, content))
    if pending is not None:
        out.append(quoting._requote(*pending))
    return "\n".join(out)


@BOUNDED
@given(lines=st.lists(st.sampled_from(["a ", "b", "> c ", ">> d", "-- ", "", " e ", "> ", "f  "]),
                      max_size=40), delsp=st.booleans())
def test_flowed_text_joins_as_the_rfc_says_in_one_pass(lines, delsp):
    text = "\n".join(lines)
    assert quoting.unflow(text, delsp) == _unflow_by_adding(text, delsp)


def test_a_long_flowed_paragraph_is_joined_whole():
    mail = intake.parse(hostile_mail.flowed(300_000))
    assert mail.text == "a " * 99_999 + "a"


# ---- winmail.dat ----------------------------------------------------------------------------


def test_winmail_dat_of_tiny_attributes_is_kept_as_it_came():
    data = hostile_mail.tnef("Hello", padding=tnef.MAX_OBJECTS + 1)
    assert tnef.unpack(data) is None
    mail = intake.parse(hostile_mail.tnef_mail(data))
    assert [p.filename for p in mail.attachments] == ["winmail.dat"]
    assert "winmail.dat could not be unpacked; kept as it came" in mail.notes


def test_winmail_dat_counts_larger_than_the_data_are_not_looped_over():
    body = b"\x1f\x00\x00\x10"  # a Unicode string, PR_BODY
    data = hostile_mail.tnef("Hello")
    many_properties = data.replace(b"\x01\x00\x00\x00" + body, b"\xff\xff\xff\xff" + body)
    assert tnef.unpack(many_properties).body_text == "Hello"
    many_values = data.replace(body + b"\x01\x00\x00\x00", body + b"\xff\xff\xff\xff")
    assert many_values != data and tnef.unpack(many_values) is None


def test_winmail_dat_reads_as_tnefparse_reads_it():
    from tnefparse.tnef import TNEF
    data = hostile_mail.tnef("Привет", files=(("Отчёт.txt", b"report"), ("a.png", b"\x89PNG")))
    ours, theirs = tnef.unpack(data), TNEF(data, do_checksum=True)
    assert [(f.filename, f.data) for f in ours.files] == [
        (a.long_filename(), a.data) for a in theirs.attachments]
    assert ours.body_text == theirs.body == "Привет"


# ---- properties: any input at all ---------------------------------------------------------

HOSTILE_LETTERS = "ıİſᲀᲄKµ\u0301\u0308\u200f\u202e\u2066\u05d0\u0627\ufeff\x00\x1b\x85\ufffd"
any_character = st.one_of(st.characters(), st.characters(categories=["Cs"]))
hostile_text = st.text(alphabet=st.one_of(
    any_character, st.sampled_from(HOSTILE_LETTERS),
    st.sampled_from("<>()\"',;:@\\ \t\n=?!"), st.sampled_from(string.ascii_letters)),
    max_size=200)
CHARSETS = ["utf-8", "utf-7", "koi8-r", "cp1251", "latin-1", "idna", "unicode_escape",
            "utf-16", "bogus", "", "us-ascii", "punycode", "raw_unicode_escape"]
ENCODINGS = ["7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "bogus"]
SUBTYPES = ["plain", "html"]


def _encoded_words(text: str, charset: str, kind: str) -> str:
    import base64
    import quopri
    data = text.encode("utf-8", "surrogatepass")
    if kind == "B":
        return f"=?{charset}?B?{base64.b64encode(data).decode()}?="
    return f"=?{charset}?Q?{quopri.encodestring(data, header=True).decode()}?="


header_value = st.one_of(
    hostile_text,
    st.builds(_encoded_words, hostile_text, st.sampled_from(CHARSETS), st.sampled_from("BQ")),
    st.builds(lambda text, depth: "(" * depth + text + ")" * depth + " <a@b.c>", hostile_text,
              st.integers(0, 50)))


def _leaf(body: str, subtype: str, charset: str, encoding: str, name: str | None) -> bytes:
    head = f"Content-Type: text/{subtype}; charset={charset}\nContent-Transfer-Encoding: {encoding}\n"
    if name is not None:
        head += f"Content-Disposition: attachment; filename*={charset}''{name}\n"
    return head.encode("utf-8", "surrogatepass") + b"\n" + body.encode("utf-8", "surrogatepass")


def _multipart(kind: str, children: list[bytes]) -> bytes:
    if kind == "rfc822":
        return b"Content-Type: message/rfc822\n\nFrom: x@y.z\nSubject: fwd\n" + (
            children[0] if children else b"\nempty")
    parts = b"".join(b"--B\n" + child + b"\n" for child in children)
    return f"Content-Type: multipart/{kind}; boundary=B\n\n".encode() + parts + b"--B--\n"


mime_tree = st.recursive(
    st.builds(_leaf, hostile_text, st.sampled_from(SUBTYPES), st.sampled_from(CHARSETS),
              st.sampled_from(ENCODINGS), st.none() | hostile_text),
    lambda children: st.builds(_multipart, st.sampled_from(["mixed", "alternative", "rfc822"]),
                               st.lists(children, max_size=4)),
    max_leaves=12)


@st.composite
def hostile_mails(draw) -> bytes:
    names = ["From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References", "Date",
             "Reply-To", "Sender", "Return-Path", "Authentication-Results", "Importance"]
    head = b"".join(
        f"{draw(st.sampled_from(names))}: {draw(header_value)}\n".encode("utf-8", "surrogatepass")
        for _ in range(draw(st.integers(1, 8))))
    head = head.replace(b"\r", b"").replace(b"\n\n", b"\n")
    return b"MIME-Version: 1.0\n" + head + draw(mime_tree)


@BOUNDED
@given(raw=st.binary(max_size=3000))
def test_random_bytes_are_understood_or_refused(raw, readers):
    understand(raw, readers)


@BOUNDED
@given(raw=hostile_mails())
def test_random_mime_trees_headers_and_charsets_are_understood_or_refused(raw, readers):
    understand(raw, readers)


@BOUNDED
@given(subject=hostile_text, body=st.text(alphabet=st.one_of(
    any_character, st.sampled_from(HOSTILE_LETTERS + "!>.'")), max_size=600))
@example(subject="", body="\U00017000")    # a Tangut letter: no Unicode name for pymorphy3 to read
def test_any_unicode_a_mail_can_hold_is_assessed_and_tone_checked(subject, body, readers):
    raw = hostile_mail.mail(body.encode("utf-8", "surrogatepass"), subject=subject.encode(
        "utf-8", "surrogatepass").replace(b"\n", b" ").replace(b"\r", b" "))
    mail = understand(raw, readers)
    assert mail is not None


@BOUNDED
@given(value=header_value)
def test_any_address_header_gives_addresses_without_spaces_or_brackets(value):
    for mailbox in addresses.mailboxes(value):
        assert len(mailbox.address) <= addresses.MAX_ADDRESS_CHARS
        if '"' not in mailbox.address:
            assert not set(mailbox.address) & set(" \t<>,;()")


@BOUNDED
@given(pieces=st.lists(st.sampled_from(list("<>!-/\"'=ab pq\n&#;") + [
    "<a ", "<!--", "-->", "<blockquote>", "<li>", "<ul>", "<br>", "</blockquote>"]), max_size=300))
def test_any_html_becomes_text_no_longer_than_a_bound(pieces):
    html = "".join(pieces)
    assert len(htmltext.to_text(html)) <= 4 * len(html) + 16
