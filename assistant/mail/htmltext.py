"""HTML mail as readable text: paragraphs, lists, links as "text (url)", no scripts or styles."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Tags whose content a reader never sees.
_HIDDEN = frozenset({"script", "style", "title", "template", "noscript", "xml", "head"})
_PARAGRAPH = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "pre", "blockquote",
     "address", "figure", "hr"}
)
_LINE = frozenset(
    {"div", "section", "article", "header", "footer", "main", "nav", "aside", "center", "tr",
     "dt", "dd", "form", "fieldset", "caption", "tbody", "thead", "tfoot"}
)
_WHITESPACE = re.compile(r"[ \t\n\r\f\v\xa0\u200b]+")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
# Outlook's "<![if !supportLists]>" and "<![endif]>": browsers drop the marks, keep the content.
_CONDITIONAL = re.compile(r"<!\[(?!CDATA\[)[^\]<>]*\]?>", re.IGNORECASE)
_SHOWN_SCHEMES = ("http://", "https://", "ftp://", "mailto:", "tel:")
# Markup mail programs leave on quoted history and signatures (class, id or data-marker):
# an attribution above a quote (Gmail, Thunderbird, Yahoo, Proton), where the original
# begins and runs to the end (Outlook, Thunderbird's forward, New Outlook, Zimbra), and a
# signature (Gmail, Thunderbird, Apple Mail, Outlook, Geary, Roundcube).
_QUOTE_MARKS = re.compile(r"gmail_attr|moz-cite-prefix|yahoo_quoted|protonmail_quote|"
                          r"tutanota_quote|zmail_extra|reply-intro|gmail_quote_attribution", re.I)
_HISTORY_MARKS = re.compile(r"divRplyFwdMsg|appendonsend|moz-forward-container|"
                            r"OutlookMessageHeader|mail-editor-reference-message-container|"
                            r"zwchr|__QUOTED_TEXT__|__DIVIDER__|moz-email-headers-table", re.I)
_SIGNATURE_MARKS = re.compile(r"signature", re.I)
# Outlook's desktop reply: the header block sits in a div with a thin line on top.
_OUTLOOK_RULE = re.compile(r"border-top:\s*solid[^;]*;\s*padding:\s*3\.0pt", re.I)
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base",
                   "source", "embed", "param", "track"})
# Quote marks and list indents stop growing here: a reader sees no difference past it, and
# "> " written per line at every depth made 265 KB of nested blockquotes 2 GB of text.
MAX_DEPTH_SHOWN = 10
# The text stops here, whatever the HTML: more than any letter a person writes.
MAX_TEXT_CHARS = 1_000_000
# A tag that ends before the next "<", for the guard below.
# Possessive (*+): a failed match gives nothing back, so it costs the distance to the next "<".
_TAG_REST = re.compile(r"""[a-zA-Z/!?](?:=\s*"[^"<]*"|=\s*'[^'<]*'|[^<>])*+>""")
_QUOTED_VALUE = re.compile(r"""=\s*(?:"[^"]*"|'[^']*')""")
_OPEN_QUOTE = re.compile(r"""=\s*["']""")


def to_text(html: str) -> str:
    """Readable text of an HTML mail body.

    >>> to_text('<p>Hi <b>Ann</b>,</p><ul><li>see <a href="https://x.org/a">this</a></li></ul>')
    'Hi Ann,\\n\\n- see this (https://x.org/a)'

    Quoted history (``<blockquote>``, and what the markup of mail programs marks as an
    attribution or as the original below a reply) comes out with "> " in front of each
    line, as a plain text mail would quote it, so the quote finder treats both alike; a
    signature the markup marks gets a "-- " line above it.
    """
    html = _complete_markup(_CONDITIONAL.sub("", html))
    reader = _Reader()
    try:
        reader.feed(html)
        reader.close()
    except AssertionError:
        # html.parser still asserts on a malformed "<![...": read such a mark as text.
        reader = _Reader()
        reader.feed(html.replace("<![", "&lt;!["))
        reader.close()
    return reader.text()


def _complete_markup(html: str) -> str:
    """`html` with every "<" that opens no whole tag or comment written as "&lt;".

    CPython's html.parser reads an unclosed "<a " or "<!--", or a tag whose quoted value
    never closes, by scanning to the end of the input and then moving on by one character:
    117 KB of "<a " took minutes. Here each character is looked at a bounded number of
    times, and the parser is left only tags it reads in one scan. A browser shows such a
    "<" as text too, give or take.
    """
    out: list[str] = []
    position = 0
    comments_close = True  # False once a "<!--" had no "-->" after it: none later has one
    while (start := html.find("<", position)) >= 0:
        if html.startswith("<!--", start):
            end = html.find("-->", start + 4) if comments_close else -1
            comments_close = end >= 0
            kept = end + 3 if end >= 0 else None
        else:
            tag = _TAG_REST.match(html, start + 1)
            whole = tag and not _OPEN_QUOTE.search(_QUOTED_VALUE.sub("", tag.group(0)))
            kept = tag.end() if whole else None
        if kept is None:
            out.append(html[position:start] + "&lt;")
            position = start + 1
        else:
            out.append(html[position:kept])
            position = kept
    out.append(html[position:])
    return "".join(out)


def declared_charset(head: bytes) -> str | None:
    """The charset a ``<meta>`` tag in the first kilobytes names, or None."""
    found = _META_CHARSET.search(head[:4096])
    return found.group(1).decode("ascii") if found else None


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._out: list[str] = []
        self._newlines = 0         # line breaks owed before the next words
        self._hidden = 0           # depth inside tags a reader never sees
        self._pre = 0
        self._quote_depth = 0
        self._blank_depth = 0      # quote depth of the blank lines owed (the shallower side)
        self._lists: list[int] = []  # per open list: 0 for bullets, else the next number
        self._links: list[tuple[str, int]] = []  # (href, where its words begin in _out)
        self._cells = 0
        self._history = 0          # 1 once the markup said the original begins here
        self._open: dict[str, int] = {}         # open elements per tag name
        self._marked: list[tuple[str, int]] = []  # (tag, its nesting) of open quote marks
        self._size = 0             # characters written so far

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag == "body":
            self._hidden = 0  # a <head> left open must not hide the whole mail
        elif tag == "br":
            self._line_break()
        elif tag == "li":
            self._begin_list_item()
        elif tag in ("td", "th"):
            self._cells += 1
            if self._cells > 1:
                self._words(" ")
        elif tag == "a":
            if self._links:  # links do not nest: a new one ends the one left open
                self._end_link(*self._links.pop())
            self._links.append((dict(attrs).get("href") or "", len(self._out)))
        self._open_block(tag, attrs)
        self._open_marked(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(self._hidden - 1, 0)
        elif tag == "a" and self._links:
            self._end_link(*self._links.pop())
        elif tag in ("ul", "ol") and self._lists:
            self._lists.pop()
        elif tag == "tr":
            self._cells = 0
        self._close_block(tag)
        if tag not in _VOID and self._open.get(tag):
            if self._marked and self._marked[-1] == (tag, self._open[tag]):
                self._marked.pop()
                self._quote_depth = max(self._quote_depth - 1, 0)
            self._open[tag] -= 1

    def handle_data(self, data: str) -> None:
        if self._hidden or self._size > MAX_TEXT_CHARS:
            return
        if not self._pre and not data.strip() and "\xa0" in data and self._newlines:
            self._break(2)  # Outlook writes an empty line as a paragraph holding &nbsp;
        if not self._pre:
            data = _WHITESPACE.sub(" ", data)
            if self._newlines or self._at_line_start():
                data = data.lstrip(" ")
        if data:
            self._words(data)

    def text(self) -> str:
        lines = [line.rstrip() for line in "".join(self._out).split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()

    def _open_block(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "pre":
            self._pre += 1
        elif tag == "blockquote":
            self._quote_depth += 1
        elif tag in ("ul", "ol"):
            self._lists.append(1 if tag == "ol" else 0)
        if tag == "p" and "msonormal" in (dict(attrs).get("class") or "").lower():
            self._break(1)  # Outlook writes each line as a margin-less paragraph
        elif tag in _PARAGRAPH:
            self._break(1 if tag in ("ul", "ol") and len(self._lists) > 1 else 2)
        elif tag in _LINE:
            self._break(1)

    def _open_marked(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Quote or cut what mail programs mark as history; put "-- " above a signature."""
        if tag not in _VOID:
            self._open[tag] = self._open.get(tag, 0) + 1
        names = " ".join(v for k, v in attrs if k in ("class", "id", "data-marker") and v)
        style = dict(attrs).get("style") or ""
        if _HISTORY_MARKS.search(names) or tag == "div" and _OUTLOOK_RULE.search(style):
            self._break(1)
            self._history = 1
        elif _QUOTE_MARKS.search(names) and tag not in _VOID:
            self._break(1)
            self._quote_depth += 1
            self._marked.append((tag, self._open[tag]))
        elif _SIGNATURE_MARKS.search(names) and tag not in _VOID:
            self._break(1)
            self._words("-- ")
            self._break(1)

    def _close_block(self, tag: str) -> None:
        if tag == "pre":
            self._pre = max(self._pre - 1, 0)
        elif tag == "blockquote":
            self._quote_depth = max(self._quote_depth - 1, 0)
        if tag in _PARAGRAPH and tag != "p":
            self._break(1 if tag in ("ul", "ol") and self._lists else 2)
        elif tag in _LINE or tag in ("li", "p"):
            self._break(1)

    def _begin_list_item(self) -> None:
        self._break(1)
        if self._lists and self._lists[-1]:
            marker = f"{self._lists[-1]}. "
            self._lists[-1] += 1
        else:
            marker = "- "
        self._words("  " * min(max(len(self._lists) - 1, 0), MAX_DEPTH_SHOWN) + marker)

    def _end_link(self, href: str, start: int) -> None:
        words = "".join(self._out[start:]).strip()
        shown = href.removeprefix("mailto:").rstrip("/")
        if words and href.lower().startswith(_SHOWN_SCHEMES) and words.rstrip("/") != shown:
            self._words(f" ({href})")

    def _line_break(self) -> None:
        if self._newlines:
            self._newlines = min(self._newlines + 1, 2)
        elif self._out:
            self._out.append("\n" + self._prefix())
            self._size += 1

    def _break(self, count: int) -> None:
        if self._out and self._out[-1] == "\n" + self._prefix():
            self._out.pop()  # a <br> just before a block end makes no extra line
        if self._out:
            self._blank_depth = min(self._blank_depth, self._depth) if self._newlines else (
                self._depth
            )
            self._newlines = max(self._newlines, count)

    def _words(self, words: str) -> None:
        if self._newlines:
            blank = ("\n" + ">" * min(self._blank_depth, MAX_DEPTH_SHOWN)) * (self._newlines - 1)
            self._out.append(blank + "\n" + self._prefix())
            self._newlines = 0
        elif not self._out and self._depth:
            self._out.append(self._prefix())
        self._out.append(words)
        self._size += len(words)

    @property
    def _depth(self) -> int:
        return self._quote_depth + self._history

    def _prefix(self) -> str:
        return "> " * min(self._depth, MAX_DEPTH_SHOWN)

    def _at_line_start(self) -> bool:
        return not self._out or self._out[-1].endswith(("\n", "> "))
