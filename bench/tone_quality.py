"""Precision and recall of the tone checker on tests/data/tone_labelled.tsv, printed as a table.

Run by hand from the repository root: `python bench/tone_quality.py`. The test suite
imports `measure` and `table` from here, so the figures it asserts are the ones printed.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.tone import KINDS, ToneChecker  # noqa: E402

LABELLED = ROOT / "tests" / "data" / "tone_labelled.tsv"


@dataclass(frozen=True)
class Example:
    lang: str
    kind: str           # one of KINDS, or "ok" for a sentence that reads fine
    sentence: str
    source: str


@dataclass
class Score:
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    missed: list[str] = field(default_factory=list)
    wrongly_flagged: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        flagged = self.true_positive + self.false_positive
        return self.true_positive / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        labelled = self.true_positive + self.false_negative
        return self.true_positive / labelled if labelled else 1.0


@dataclass
class Report:
    scores: dict[tuple[str, str], Score]        # (lang, kind) → score
    fine_total: dict[str, int]                   # lang → sentences labelled ok
    fine_flagged: dict[str, list[str]]           # lang → ok sentences that got a finding

    def fine_flagged_share(self, lang: str) -> float:
        return len(self.fine_flagged[lang]) / self.fine_total[lang] if self.fine_total[lang] else 0.0


def read_labelled(path: Path = LABELLED) -> list[Example]:
    """The labelled sentences; a row with an unknown kind is an error in the data."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    examples = [Example(r["lang"], r["kind"], r["sentence"], r["source"]) for r in rows]
    for example in examples:
        if example.kind not in KINDS + ("ok",):
            raise ValueError(f"{path}: unknown kind {example.kind!r} for {example.sentence!r}")
    return examples


def measure(checker: ToneChecker, examples: list[Example]) -> Report:
    """Per language and kind: a sentence counts as flagged for a kind when any finding has it."""
    langs = sorted({e.lang for e in examples})
    scores = {(lang, kind): Score() for lang in langs for kind in KINDS}
    report = Report(scores, {lang: 0 for lang in langs}, {lang: [] for lang in langs})
    for example in examples:
        found = {f.kind for f in checker.check(example.sentence, example.lang)}
        if example.kind == "ok":
            report.fine_total[example.lang] += 1
            if found:
                report.fine_flagged[example.lang].append(example.sentence)
        for kind in KINDS:
            score = scores[(example.lang, kind)]
            if example.kind == kind and kind in found:
                score.true_positive += 1
            elif example.kind == kind:
                score.false_negative += 1
                score.missed.append(example.sentence)
            elif kind in found:
                score.false_positive += 1
                score.wrongly_flagged.append(example.sentence)
    return report


def table(report: Report) -> str:
    """The per-kind table as text, one line per language and kind, then the fine-sentence line."""
    lines = [f"{'lang':<5}{'kind':<15}{'n':>4}{'precision':>11}{'recall':>8}"]
    for (lang, kind), score in sorted(report.scores.items()):
        labelled = score.true_positive + score.false_negative
        lines.append(f"{lang:<5}{kind:<15}{labelled:>4}{score.precision:>11.2f}{score.recall:>8.2f}")
    for lang, total in sorted(report.fine_total.items()):
        flagged = len(report.fine_flagged[lang])
        lines.append(f"{lang:<5}{'ok flagged':<15}{total:>4}{'':>11}"
                     f"{report.fine_flagged_share(lang):>8.2%}  ({flagged} of {total})")
    return "\n".join(lines)


def main() -> None:
    report = measure(ToneChecker(ROOT / "rules"), read_labelled())
    print(table(report))
    for (lang, kind), score in sorted(report.scores.items()):
        for sentence in score.missed:
            print(f"missed     {lang} {kind}: {sentence}")
        for sentence in score.wrongly_flagged:
            print(f"also flags {lang} {kind}: {sentence}")


if __name__ == "__main__":
    main()
