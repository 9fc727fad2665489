"""How much language detection and triage add to intake: messages per second beside a stdlib parse.

Run by hand: `python bench/triage.py [COUNT]`. The ceiling is the stdlib `email` parse
(policy.default, walk + get_content) of the same messages, measured in the same run, so
the share holds on a noisy machine. No assertions: figures are printed.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

# Run from a source checkout without installing: the package sits beside bench/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import defaults
from assistant.policy.triage import Triage, TriageInput

RU = [
    "Добрый день!", "Здравствуйте, коллеги.", "С утра остановилась отгрузка, машины стоят у ворот.",
    "Не проходят платежи через банк-клиент.", "Подскажите, где найти акт сверки с поставщиком?",
    "Прошу предоставить доступ к отчётам по продажам для {name}.", "Отчёт по остаткам не формируется.",
    "Вопрос не срочно, посмотрите, когда будет время.", "Нужно до конца дня, у нас проверка.",
    "Выставите, пожалуйста, счёт на оплату поддержки за {month}.", "Нужно доработать печатную форму счёта.",
    "При проведении документа №{number} появляется ошибка «Не найден счёт учёта».",
    "Сотрудник {name} не может войти в программу после смены пароля.",
    "Склад в {city} работает, но остатки в отчёте расходятся на {number} позиций.",
    "Спасибо за быструю помощь в прошлый раз!", "С уважением, {name}, главный бухгалтер.",
]
EN = [
    "Hi team,", "Hello,", "Our shipments have stopped since this morning.", "Payments aren't going through.",
    "Where can I find the reconciliation statement?", "Please grant access to the sales reports for {name}.",
    "The stock report doesn't build for document {number}.", "This is not urgent, no rush at all.",
    "We need it by end of day.", "Could you send us an invoice for {month} support?",
    "Could you add a manager column to the sales report?", "{name} cannot log in after a password change.",
    "The warehouse in {city} works, but {number} items don't match in the report.",
    "Thanks for the quick help last time!", "Best regards, {name}, chief accountant.",
]
NAMES = ["Анна Петрова", "Игорь Смирнов", "Ольга Кузнецова", "John Miller", "Kate Brown", "Иван Сидоров"]
CITIES = ["Подольск", "Казань", "Tver", "Novosibirsk", "Самара"]
MONTHS = ["июнь", "июль", "March", "April"]


def body(rng: random.Random) -> tuple[str, str]:
    roll = rng.random()
    pool = RU if roll < 0.55 else EN if roll < 0.9 else RU + EN      # a tenth mixed
    lines = [rng.choice(pool).format(name=rng.choice(NAMES), city=rng.choice(CITIES),
                                     month=rng.choice(MONTHS), number=rng.randint(1, 99999))
             for _ in range(rng.randint(3, 12))]
    if rng.random() < 0.3:
        # Quoted history and pasted logs make long bodies; triage reads only the head.
        lines += ["> " + rng.choice(pool) for _ in range(rng.randint(20, 80))]
    return lines[1][:60], "\n".join(lines)


def messages(count: int, seed: int = 7) -> tuple[list[bytes], list[tuple[str, str]]]:
    rng = random.Random(seed)
    raw, texts = [], []
    for n in range(count):
        subject, text = body(rng)
        message = EmailMessage()
        message["From"] = f"client{n % 300}@client{n % 40}.ru"
        message["To"] = "support@example.com"
        message["Subject"] = subject
        message["Message-ID"] = f"<{n}@bench>"
        message.set_content(text)
        raw.append(message.as_bytes())
        texts.append((subject, text))
    return raw, texts


def parse_all(raw: list[bytes]) -> float:
    parser = BytesParser(policy=policy.default)
    start = time.perf_counter()
    for data in raw:
        message = parser.parsebytes(data)
        for part in message.walk():
            if not part.is_multipart():
                part.get_content()
    return time.perf_counter() - start


def triage_all(triage: Triage, texts: list[tuple[str, str]], now: datetime) -> float:
    items = [TriageInput(subject, text, now) for subject, text in texts]
    start = time.perf_counter()
    for offset in range(0, len(items), 500):
        triage.assess_many(items[offset:offset + 500])
    return time.perf_counter() - start


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    raw, texts = messages(count)
    now = datetime(2026, 6, 10, 7, 0, tzinfo=timezone.utc)
    started = time.perf_counter()
    triage = Triage(defaults())
    triage.assess("", "Прогрев. Warm-up.", now=now)
    print(f"start-up (rules compiled, pymorphy3 loaded): {time.perf_counter() - started:.2f} s")
    parse_s = parse_all(raw)
    cold_s = triage_all(triage, texts, now)        # the lemma caches fill on this pass
    warm_s = triage_all(triage, texts, now)
    per = lambda seconds: seconds / count * 1000
    print(f"{count} messages, mean body {sum(len(t) for _, t in texts) // count} characters")
    print(f"{'stage':<38}{'ms/message':>12}{'messages/s':>12}{'share of parse':>16}")
    for name, seconds in [("ceiling: email parse (policy.default)", parse_s),
                          ("language + triage, cold caches", cold_s),
                          ("language + triage, warm caches", warm_s)]:
        print(f"{name:<38}{per(seconds):>12.3f}{count / seconds:>12.0f}{seconds / parse_s:>15.0%}")


if __name__ == "__main__":
    main()
