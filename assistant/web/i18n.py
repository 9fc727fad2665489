"""Every word the desk shows, in Russian and English, and times and sizes as people write them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LANGUAGES = ("ru", "en")

# key: (English, Russian). A test checks that both are there and that their {fields} agree.
STRINGS: dict[str, tuple[str, str]] = {
    "desk": ("Support desk", "Рабочее место поддержки"),
    "nav.queue": ("Queue", "Очередь"),
    "nav.summary": ("Summary", "Сводка"),
    "nav.quarantine": ("Quarantine", "Карантин"),
    "nav.outbox": ("Outbox", "Исходящие"),
    "switch_language": ("По-русски", "In English"),
    "signout": ("Sign out", "Выйти"),
    "error.400": ("That did not work", "Так не получится"),
    "error.403": ("Not for this account", "Этой учётной записи сюда нельзя"),
    "error.404": ("Nothing here", "Здесь ничего нет"),
    "error.409": ("Someone got there first", "Кто-то успел раньше"),
    "error.429": ("Too many requests: try again in a few minutes",
                  "Слишком много запросов: попробуйте через несколько минут"),
    "error.500": ("Something broke on our side", "Что-то сломалось у нас"),
    "error.home": ("Back to the start", "На главную"),
    "signin.title": ("Sign in", "Вход"),
    "signin.explain": ("Type your work address: we will mail you a link that signs you in. No password needed.",
                       "Введите рабочий адрес — пришлём письмо со ссылкой для входа. Пароль не нужен."),
    "signin.address": ("Address", "Адрес"),
    "signin.send": ("Send me a link", "Прислать ссылку"),
    "signin.sent_title": ("Check your mail", "Проверьте почту"),
    "signin.sent": ("If this address may use the desk, a sign-in link is on its way. It works once, for {minutes} minutes.",
                    "Если этому адресу открыт доступ, ссылка для входа уже в пути. Она сработает один раз и в течение {minutes} минут."),
    "signin.again": ("Ask for another link", "Запросить ссылку ещё раз"),
    "signin.confirm_title": ("Almost there", "Почти готово"),
    "signin.confirm": ("Sign in as {email}?", "Войти как {email}?"),
    "signin.go": ("Sign in", "Войти"),
    "signin.bad_title": ("This link no longer works", "Ссылка больше не действует"),
    "signin.bad": ("It was used already, or it is too old. Ask for a new one — it takes a minute.",
                   "Ей уже воспользовались, или она устарела. Запросите новую — это минутное дело."),
    "mail.signin.subject": ("Your sign-in link", "Ссылка для входа"),
    "mail.signin.body": ("Hello, {name}!\n\nHere is your link to the support desk:\n\n{link}\n\n"
                         "It works once, for {minutes} minutes. If you did not ask for it, just ignore this mail.\n",
                         "{name}, здравствуйте!\n\nВот ссылка для входа на рабочее место поддержки:\n\n{link}\n\n"
                         "Она сработает один раз и в течение {minutes} минут. Если вы её не запрашивали, просто не обращайте внимания.\n"),
    "queue.title": ("Queue", "Очередь"),
    "queue.show.mine": ("Mine", "Мои"),
    "queue.show.all": ("Everyone's", "Все"),
    "queue.show.unassigned": ("Nobody's", "Без ответственного"),
    "queue.count": ("{count} open", "открыто: {count}"),
    "queue.empty": ("Nothing waits here. Good work.", "Здесь ничего не ждёт. Отличная работа."),
    "queue.assignee": ("with {who}", "ведёт {who}"),
    "queue.for_me": ("for you", "вам"),
    "col.ticket": ("Ticket", "Заявка"),
    "col.priority": ("Priority", "Приоритет"),
    "col.due": ("Due", "Срок"),
    "col.client": ("Client", "Клиент"),
    "col.subject": ("Subject", "Тема"),
    "col.heard": ("Heard from us", "Писали клиенту"),
    "col.drafts": ("Drafts", "Черновики"),
    "col.status": ("Status", "Статус"),
    "col.category": ("category", "категория"),
    "col.assignee": ("Consultant", "Консультант"),
    "status.new": ("new", "новая"),
    "status.open": ("in progress", "в работе"),
    "status.waiting": ("waiting for the client", "ждём клиента"),
    "status.held": ("waiting for approval", "ждёт согласования"),
    "status.resolved": ("resolved", "решена"),
    "status.closed": ("closed", "закрыта"),
    "prio.critical": ("CRITICAL", "КРИТИЧНО"),
    "prio.high": ("high", "высокий"),
    "prio.normal": ("normal", "обычный"),
    "prio.low": ("low", "низкий"),
    "due.first_response": ("first answer", "первый ответ"),
    "due.resolution": ("solution", "решение"),
    "client.internal": ("colleague", "коллега"),
    "client.external": ("client", "клиент"),
    "no_subject": ("(no subject)", "(без темы)"),
    "nobody": ("nobody yet", "пока никто"),
    "heard.ago": ("{span} ago", "{span} назад"),
    "heard.never": ("not yet; waits {span}", "ещё нет; ждёт {span}"),
    "situation.acknowledgement": ("acknowledgement", "подтверждение"),
    "situation.need_info": ("need more information", "нужны подробности"),
    "situation.options": ("options to choose from", "варианты на выбор"),
    "situation.progress": ("progress report", "ход работ"),
    "situation.resolved": ("resolved", "решено"),
    "situation.forwarded": ("forwarded to a team", "передано команде"),
    "situation.manager_summary": ("manager summary", "сводка руководителю"),
    "findings.count": ("tone: {count}", "тон: {count}"),
    "page.prev": ("previous", "назад"),
    "page.next": ("next", "дальше"),
    "page.of": ("page {page} of {pages}", "страница {page} из {pages}"),
    "ticket.why_priority": ("Why this priority", "Почему такой приоритет"),
    "ticket.drafts": ("Drafts", "Черновики"),
    "ticket.conversation": ("Conversation", "Переписка"),
    "ticket.we_wrote": ("We wrote", "Мы написали"),
    "ticket.show_quoted": ("Show the quoted history", "Показать цитату"),
    "ticket.as_sent": ("The mail as the client sent it", "Письмо в том виде, как его прислали"),
    "ticket.show_as_sent": ("Show as sent (HTML)", "Показать как в письме (HTML)"),
    "ticket.show_images": ("Show outside images", "Показать внешние картинки"),
    "ticket.images_why": ("(they tell the sender the mail was opened)",
                          "(отправитель узнает, что письмо открыли)"),
    "ticket.worklog": ("Work log", "Журнал работ"),
    "ticket.worklog_empty": ("Nothing logged yet.", "Пока ничего не записано."),
    "worklog.internal": ("internal", "для своих"),
    "worklog.next": ("next step", "следующий шаг"),
    "ticket.promises": ("Times we promised", "Обещанные сроки"),
    "ticket.promises_empty": ("No promises yet.", "Пока ничего не обещали."),
    "promise.open": ("still ahead", "ещё впереди"),
    "promise.kept": ("kept", "сдержали"),
    "promise.missed": ("missed", "пропустили"),
    "promise.void": ("no longer needed", "уже не нужно"),
    "ticket.history": ("Changes", "История изменений"),
    "ticket.history_empty": ("No changes yet.", "Изменений пока не было."),
    "actions.title": ("Do", "Действия"),
    "actions.take": ("Take this ticket", "Взять заявку себе"),
    "actions.reason": ("Why", "Почему"),
    "actions.reason_hint": ("a few words for the history", "пара слов для истории"),
    "actions.change": ("Change", "Изменить"),
    "actions.note": ("Work log", "Запись в журнал"),
    "actions.note_hint": ("What was done; a line «next: …» is the next step",
                          "Что сделано; строка «дальше: …» — следующий шаг"),
    "actions.internal": ("Internal: the client never sees it", "Для своих: клиент этого не увидит"),
    "actions.add_note": ("Add to the log", "Записать"),
    "actions.answer": ("Answer with", "Ответить"),
    "actions.items": ("Details, one per line", "Подробности, по одной на строку"),
    "actions.items_hint": ("what is missing, the options, the team, what was fixed…",
                           "чего не хватает, варианты, команда, что исправили…"),
    "actions.write": ("Write the draft", "Написать черновик"),
    "draft.title": ("Draft", "Черновик"),
    "draft.status.pending": ("waiting for approval", "ждёт согласования"),
    "draft.status.approved": ("approved, on its way", "согласован, отправляется"),
    "draft.status.rejected": ("rejected", "отклонён"),
    "draft.status.sent": ("sent", "отправлен"),
    "draft.status.superseded": ("replaced by a newer one", "заменён новым"),
    "draft.someone_editing": ("{who} has this draft open too (seen {span} ago).",
                              "У {who} этот черновик тоже открыт (последний раз {span} назад)."),
    "draft.client_said": ("The client wrote", "Клиент написал"),
    "draft.reply": ("Our reply", "Наш ответ"),
    "draft.edited_by": ("edited by {who}", "правки: {who}"),
    "draft.subject": ("Subject", "Тема"),
    "draft.preview": ("The reply with the phrases to look at marked",
                      "Ответ, где отмечены фразы, на которые стоит взглянуть"),
    "draft.try": ("Try:", "Лучше так:"),
    "draft.apply": ("Use this", "Заменить"),
    "draft.clean": ("The tone reads well.", "С тоном всё в порядке."),
    "draft.approve": ("Approve and send", "Согласовать и отправить"),
    "draft.anyway": ("Send anyway", "Отправить как есть"),
    "draft.save": ("Save", "Сохранить"),
    "draft.reject": ("Reject", "Отклонить"),
    "draft.rules": ("A reply with tone findings goes out only with «Send anyway». Your edits are checked again.",
                    "Ответ с замечаниями по тону уйдёт только по кнопке «Отправить как есть». Правки проверяются заново."),
    "kind.blame": ("blames the client", "перекладывает вину на клиента"),
    "kind.boilerplate": ("sounds canned", "звучит как шаблон"),
    "kind.deflection": ("pushes the problem away", "отмахивается от проблемы"),
    "kind.bureaucratese": ("sounds like a form", "канцелярит"),
    "summary.title": ("Summary", "Сводка"),
    "summary.companies": ("Tickets of {companies}", "Заявки {companies}"),
    "summary.weeks": ("The last {weeks} weeks", "Последние недели: {weeks}"),
    "summary.open": ("Open now: {count}", "Открыто сейчас: {count}"),
    "summary.group.overdue": ("Overdue", "Просрочено"),
    "summary.group.at_risk": ("At risk", "Под угрозой"),
    "summary.group.on_track": ("On track", "В срок"),
    "summary.none": ("None.", "Нет."),
    "summary.deadline": ("Deadline", "Срок"),
    "summary.next": ("Next update", "Следующая весточка"),
    "summary.missed": ("Missed promises", "Сорванные обещания"),
    "summary.not_yet": ("not yet", "ещё не писали"),
    "deadline.overdue": ("overdue", "просрочено"),
    "deadline.at_risk": ("at risk", "под угрозой"),
    "deadline.on_track": ("on track", "в срок"),
    "chart.title": ("Tickets opened and resolved each week, and the share answered and resolved in time",
                    "Сколько заявок открыто и решено по неделям, и какая доля — в срок"),
    "chart.opened-clients": ("opened by clients", "открыли клиенты"),
    "chart.opened-colleagues": ("opened by colleagues", "открыли коллеги"),
    "chart.resolved-clients": ("resolved for clients", "решено для клиентов"),
    "chart.resolved-colleagues": ("resolved for colleagues", "решено для коллег"),
    "chart.line.answered": ("first answer in time", "первый ответ в срок"),
    "chart.line.resolved": ("solved in time", "решено в срок"),
    "chart.week": ("Week of", "Неделя с"),
    "chart.opened": ("Opened (clients / colleagues)", "Открыто (клиенты / коллеги)"),
    "chart.resolved": ("Resolved (clients / colleagues)", "Решено (клиенты / коллеги)"),
    "quarantine.empty": ("Nothing is set aside.", "В карантине пусто."),
    "quarantine.kind": ("Kind", "Что это"),
    "quarantine.kind.unparseable": ("could not be read", "не удалось прочитать"),
    "quarantine.kind.held": ("held for a look", "ждёт проверки"),
    "quarantine.from": ("From", "От кого"),
    "quarantine.reason": ("Why", "Почему"),
    "quarantine.source": ("Source", "Откуда"),
    "quarantine.head": ("The start of the raw mail", "Начало письма как есть"),
    "quarantine.retry": ("Walk it again", "Разобрать заново"),
    "quarantine.release": ("Let it join #{ticket}", "Добавить в #{ticket}"),
    "outbox.attention": ("Needs a look", "Требуют внимания"),
    "outbox.all": ("Everything", "Все"),
    "outbox.empty": ("Nothing waits in the outbox.", "В исходящих ничего не ждёт."),
    "outbox.kind": ("Kind", "Вид"),
    "outbox.to": ("To", "Кому"),
    "outbox.tries": ("Tries", "Попыток"),
    "outbox.why": ("What happened", "Что случилось"),
    "outbox.retry": ("Send again", "Отправить снова"),
    "outbox.status.queued": ("waiting to go", "ждёт отправки"),
    "outbox.status.sending": ("going out", "отправляется"),
    "outbox.status.sent": ("sent", "отправлено"),
    "outbox.status.failed": ("failed", "не ушло"),
    "outbox.status.uncertain": ("may have gone", "могло уйти"),
    "outbox.status.blocked": ("held back", "задержано"),
    "outbox.status.not written": ("could not be written", "не удалось составить"),
    "outbox.status.not sent": ("not sent", "не отправлено"),
    "said.approved": ("Approved: the reply goes out with the next send.",
                      "Согласовано: ответ уйдёт со следующей отправкой."),
    "said.rejected": ("Rejected: the reply will not be sent.", "Отклонено: ответ не уйдёт."),
    "said.held": ("Not sent: the text still has tone findings. Fix them, or choose «Send anyway».",
                  "Не отправлено: в тексте остались замечания по тону. Поправьте или нажмите «Отправить как есть»."),
    "said.saved": ("Saved.", "Сохранено."),
    "said.applied": ("The suggestion is in the text and saved.", "Подсказка в тексте, черновик сохранён."),
    "said.stale": ("Someone changed this draft after you opened it. Here is the new version: read it, then decide.",
                   "Пока вы читали, черновик изменили. Вот новая версия: прочитайте её и решите ещё раз."),
    "said.note": ("Added to the work log.", "Записано в журнал."),
    "said.changed": ("Changed:", "Изменено:"),
    "said.unchanged": ("Nothing to change.", "Менять нечего."),
    "said.taken": ("The ticket is yours now.", "Заявка теперь ваша."),
    "said.drafted": ("The draft is ready below.", "Черновик готов."),
    "said.retried": ("Walked again:", "Разобрано заново:"),
    "said.requeued": ("Queued to be sent again.", "Поставлено на повторную отправку."),
    "said.signed_out": ("You are signed out.", "Вы вышли."),
    "said.signed_in": ("Welcome!", "Добро пожаловать!"),
    "said.reason_needed": ("Say why in a few words: it goes into the history.",
                           "Напишите пару слов почему: это попадёт в историю."),
    "said.not_found": ("That suggestion no longer fits the text; check the text again.",
                       "Эта подсказка уже не подходит к тексту; проверьте текст ещё раз."),
    "time.left": ("{span} left", "осталось {span}"),
    "time.overdue": ("overdue by {span}", "просрочено на {span}"),
}


def translator(lang: str):
    """`t(key, **fields)` in `lang`; an unknown key shows as itself, so it is noticed."""
    column = 1 if lang == "ru" else 0

    def t(key: str, **fields) -> str:
        pair = STRINGS.get(key)
        if pair is None:
            return key
        return pair[column].format(**fields) if fields else pair[column]
    return t


UNITS = {"en": ("d", "h", "min"), "ru": ("д", "ч", "мин")}


def span(seconds: int | float | None, lang: str) -> str:
    """"2 d 3 h", "45 min"; "2 д 3 ч", "45 мин"."""
    minutes = max(0, int(seconds or 0)) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    day, hour, minute = UNITS.get(lang, UNITS["en"])
    if days:
        return f"{days} {day} {hours} {hour}" if hours else f"{days} {day}"
    if hours:
        return f"{hours} {hour} {minutes} {minute}" if minutes else f"{hours} {hour}"
    return f"{minutes} {minute}"


def left(seconds: int | None, lang: str) -> str:
    if seconds is None:
        return "—"
    t = translator(lang)
    return t("time.left", span=span(seconds, lang)) if seconds >= 0 else \
        t("time.overdue", span=span(-seconds, lang))


def size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)


def at(moment: str | datetime | None, zone: str, lang: str) -> str:
    """A time in the support time zone: "23.11 10:05" or "23 Nov 10:05"."""
    if not moment:
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    local = moment.astimezone(ZoneInfo(zone))
    if lang == "ru":
        return local.strftime("%d.%m.%Y %H:%M")
    return f"{local.day} {local.strftime('%b %Y %H:%M')}"
