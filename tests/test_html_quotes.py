"""An HTML-only reply shows the same new words as a plain one: the quote markup each mail
program leaves (and, failing that, the text) decides where the history begins."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from assistant.mail.intake import parse

NEW = "Спасибо, после обновления всё работает."


def html_mail(html: str) -> bytes:
    message = EmailMessage()
    message["From"] = "anna@romashka.example"
    message["To"] = "support@example.com"
    message["Subject"] = "Re: Отчёт"
    message["Message-ID"] = "<h1@romashka.example>"
    message.set_content(html, subtype="html")
    return message.as_bytes()


@pytest.mark.parametrize("history", [
    # Outlook on the web and New Outlook: the header block in divRplyFwdMsg, the original
    # after it as siblings, headers in a language the text rules may not know
    '<div id="appendonsend"></div><hr style="display:inline-block;width:98%">'
    '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>Feladó:</b> Support<br>'
    '<b>Elküldve:</b> 2024. március 5. 14:32<br><b>Tárgy:</b> Export</font></div>'
    '<div>Kérjük, frissítsen.</div>',
    # Outlook desktop: a div with a thin line on top, the original after it
    '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
    '<p class="MsoNormal"><b>От:</b> Служба поддержки<br><b>Отправлено:</b> 5 марта 2024 г. '
    '14:32<br><b>Кому:</b> Анна<br><b>Тема:</b> Отчёт</p></div><p class="MsoNormal">'
    'Обновитесь, пожалуйста.</p>',
    # Gmail: the attribution in gmail_attr, the quote in a blockquote
    '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">вт, 5 мар. 2024 г. в 14:32, '
    'Служба &lt;s@example.com&gt;:<br></div><blockquote class="gmail_quote">Обновитесь.'
    '</blockquote></div>',
    # Thunderbird and Apple Mail
    '<div class="moz-cite-prefix">05.03.2024 14:32, Служба поддержки пишет:<br></div>'
    '<blockquote type="cite">Обновитесь.</blockquote>',
    '<div><br><blockquote type="cite"><div>On 5 Mar 2024, at 14:32, Support '
    '&lt;s@example.com&gt; wrote:</div><div>Please update.</div></blockquote></div>',
    # Zimbra and Yahoo
    '<hr id="zwchr" data-marker="__DIVIDER__"><div data-marker="__HEADERS__"><b>From: </b>'
    'Support<br><b>Sent: </b>Tuesday</div><div data-marker="__QUOTED_TEXT__">Update.</div>',
    '<div class="yahoo_quoted"><div>Понедельник, 4 марта 2024, 10:00 Служба писала:</div>'
    '<div>Обновитесь.</div></div>',
])
def test_the_quote_markup_of_mail_programs_hides_the_history(history):
    mail = parse(html_mail(f"<html><body><div>{NEW}</div>{history}</body></html>"))
    assert mail.visible_text == NEW
    assert mail.text.startswith(NEW) and len(mail.text) > len(NEW) + 10  # kept in the text


def test_an_answer_typed_inside_gmails_quote_between_two_quotes_stays():
    html = ('<div class="gmail_quote"><div class="gmail_attr">On Tue, Mar 5, 2024 at 2:32 PM '
            'Support &lt;s@example.com&gt; wrote:</div><blockquote>Which version?</blockquote>'
            '<div>4.12.3</div><blockquote>Since when?</blockquote><div>Since Monday.</div></div>')
    assert parse(html_mail(html)).visible_text == "4.12.3\n\nSince Monday."


@pytest.mark.parametrize("signature_html, signature", [
    ('<div class="gmail_signature">Анна Соколова<br>бухгалтер</div>', "Анна Соколова\nбухгалтер"),
    ('<div class="moz-signature">-- <br>Анна Соколова</div>', "Анна Соколова"),
    ('<div id="AppleMailSignature">Отправлено с iPhone</div>', "Отправлено с iPhone"),
])
def test_signature_markup_puts_the_signature_apart(signature_html, signature):
    mail = parse(html_mail(f"<div>{NEW}</div>{signature_html}"))
    assert (mail.visible_text, mail.signature) == (NEW, signature)
