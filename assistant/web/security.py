"""The desk's guards: response headers, CSRF tokens, and mail HTML made harmless.

Why each header is there:
- Content-Security-Policy: scripts and styles only from our own /static, no inline
  script, no plugins, no framing by others; a mail that slipped past the sanitiser still
  cannot run anything or load anything from outside.
- Referrer-Policy no-referrer: a sign-in link must never travel on to another site.
- Cache-Control no-store on pages: a shared computer's cache keeps no client mail.
- Strict-Transport-Security only when the desk is served over https (base_url).
"""

from __future__ import annotations

import hashlib
import hmac

import nh3

PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; form-action 'self'; frame-src 'self'; frame-ancestors 'none'; "
               "base-uri 'none'")
# The frame that shows a client's HTML mail: no script at all, and outside images only
# when the consultant asks for them (a remote image tells the sender the mail was read).
MAIL_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:{images}; "
               "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox")
DOWNLOAD_POLICY = "default-src 'none'; sandbox"


def headers(https: bool, policy: str = PAGE_POLICY) -> dict[str, str]:
    """The security headers every response carries."""
    found = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "SAMEORIGIN" if "frame-ancestors 'self'" in policy else "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
        "Cache-Control": "no-store",
    }
    if https:
        found["Strict-Transport-Security"] = "max-age=31536000"
    return found


def mail_policy(images: bool) -> str:
    return MAIL_POLICY.format(images=" https: http:" if images else "")


class Csrf:
    """Tokens bound to a browser (its session, or before sign-in its anonymous cookie)."""

    def __init__(self, key: bytes):
        self.key = key

    def token(self, binding: str) -> str:
        return hmac.new(self.key, b"csrf\x00" + binding.encode("utf-8"), hashlib.sha256).hexdigest()

    def valid(self, binding: str, given: str | None) -> bool:
        return bool(binding and given) and hmac.compare_digest(
            self.token(binding).encode(), given.encode("utf-8", "replace"))


ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "div",
    "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p",
    "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"}, "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}, "*": {"title"},
}


def clean_mail_html(html: str) -> str:
    """A client's HTML with scripts, handlers, styles, forms and odd URLs taken out.

    Styles go too: CSS can hide text, overlay a fake button or reach out with url(); the
    consultant needs the words and the tables, not the design.
    """
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer nofollow", strip_comments=True)
