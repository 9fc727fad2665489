"""Recall and false flags of the tone checker on tests/data/tone_labelled.tsv, for a dev part
and a part kept aside, printed as tables.

Run by hand from the repository root: `python bench/tone_quality.py [--show-held]`. The test
suite imports `read_labelled`, `split`, `measure` and `table` from here, so the figures it
asserts are the ones printed.

Each row of the set has a language, a kind (blame, deflection, boilerplate, bureaucratese,
or ok for a sentence that reads fine), an origin — `support` for a sentence a support reply
might hold, `style` for an item of a канцелярит or corporate-speak list — the sentence and
its source. Rows are grouped as the goals are stated: blame, deflection, boilerplate and
bureaucratese in support phrases ("canned"), and style-list items ("style"). An item counts
as caught when the checker finds anything in it; "kind" is the share caught with its own kind.

About 30 % of the rows, chosen by a hash of the sentence, form the held-aside part: rules
are written while looking at the dev part's misses only, and the held part shows whether
they generalise. Its misses are printed only with --show-held.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.policy.tone import KINDS, ToneChecker  # noqa: E402

LABELLED = ROOT / "tests" / "data" / "tone_labelled.tsv"
HELD_PERCENT = 30
GROUPS = ("blame", "deflection", "canned", "style")
ORIGINS = ("support", "style")


@dataclass(frozen=True)
class Example:
    lang: str
    kind: str           # one of KINDS, or "ok" for a sentence that reads fine
    origin: str         # "support" or "style"
    sentence: str
    source: str

    @property
    def group(self) -> str:
        """blame, deflection, canned (boilerplate or bureaucratese in support), style, or ok."""
        if self.kind == "ok":
            return "ok"
        if self.origin == "style":
            return "style"
        return self.kind if self.kind in ("blame", "deflection") else "canned"


@dataclass
class Score:
    caught: int = 0             # any finding
    right_kind: int = 0         # a finding of the labelled kind
    total: int = 0
    missed: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.caught / self.total if self.total else 1.0

    @property
    def kind_recall(self) -> float:
        return self.right_kind / self.total if self.total else 1.0


@dataclass
class Report:
    scores: dict[tuple[str, str], Score]        # (lang, group) → score
    fine_total: dict[str, int]                   # lang → sentences labelled ok
    fine_flagged: dict[str, list[str]]           # lang → ok sentences that got a finding

    def fine_flagged_share(self, lang: str) -> float:
        return len(self.fine_flagged[lang]) / self.fine_total[lang] if self.fine_total[lang] else 0.0


def read_labelled(path: Path = LABELLED) -> list[Example]:
    """The labelled rows; a row with an unknown kind or origin is an error in the data."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    examples = [Example(r["lang"], r["kind"], r["origin"], r["sentence"], r["source"]) for r in rows]
    for number, example in enumerate(examples, 2):
        if example.kind not in KINDS + ("ok",) or example.origin not in ORIGINS:
            raise ValueError(f"{path}:{number}: unknown kind or origin in {example!r}")
    return examples


def is_held(example: Example) -> bool:
    """True for the rows kept aside: a stable hash of the sentence, not their order."""
    digest = hashlib.sha256(f"{example.lang}:{example.sentence}".encode()).hexdigest()
    return int(digest[:8], 16) % 100 < HELD_PERCENT


def split(examples: list[Example]) -> tuple[list[Example], list[Example]]:
    """(dev part, held-aside part)."""
    return [e for e in examples if not is_held(e)], [e for e in examples if is_held(e)]


def measure(checker: ToneChecker, examples: list[Example]) -> Report:
    """Per language and group: how many items got any finding, and how many their own kind."""
    langs = sorted({e.lang for e in examples})
    scores = {(lang, group): Score() for lang in langs for group in GROUPS}
    report = Report(scores, {lang: 0 for lang in langs}, {lang: [] for lang in langs})
    for example in examples:
        found = {f.kind for f in checker.check(example.sentence, example.lang)}
        if example.group == "ok":
            report.fine_total[example.lang] += 1
            if found:
                report.fine_flagged[example.lang].append(example.sentence)
            continue
        score = scores[(example.lang, example.group)]
        score.total += 1
        score.caught += bool(found)
        score.right_kind += example.kind in found
        if not found:
            score.missed.append(example.sentence)
    return report


def table(report: Report) -> str:
    """One line per language and group, then the fine-sentence line per language."""
    lines = [f"{'lang':<5}{'group':<12}{'n':>5}{'caught':>8}{'kind':>7}"]
    for (lang, group), score in sorted(report.scores.items()):
        lines.append(f"{lang:<5}{group:<12}{score.total:>5}{score.recall:>8.2f}{score.kind_recall:>7.2f}")
    for lang, total in sorted(report.fine_total.items()):
        flagged = len(report.fine_flagged[lang])
        lines.append(f"{lang:<5}{'ok flagged':<12}{total:>5}{report.fine_flagged_share(lang):>8.1%}"
                     f"  ({flagged} of {total})")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    checker = ToneChecker(ROOT / "rules")
    dev, held = split(read_labelled())
    for name, part in (("dev", dev), ("held aside", held)):
        report = measure(checker, part)
        print(f"== {name} part: {len(part)} rows")
        print(table(report))
        if name == "dev" or "--show-held" in argv:
            for (lang, group), score in sorted(report.scores.items()):
                for sentence in score.missed:
                    print(f"missed     {lang} {group}: {sentence}")
            for lang, sentences in sorted(report.fine_flagged.items()):
                for sentence in sentences:
                    found = ", ".join(f"{f.rule} «{f.text}»" for f in checker.check(sentence, lang))
                    print(f"fine, but  {lang}: {sentence}  [{found}]")
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
