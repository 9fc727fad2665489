"""How long the commands that only read rows take to answer, against a bare Python.

    python bench/startup.py [--runs N]

Runs `assistant tickets`, `tickets show 1`, `outbox`, `status`, `quarantine list` and
`drafts` on a small SQLite database (the demo's sample mails imported, one draft written),
each as a new process, and `python -c pass` in the same run as the reference. Prints the
median wall and CPU time of each, its wall time over the reference, and the heavy modules
each command still imports (a command that only reads rows should load none of them, and
none of these six even SQLAlchemy; tests/test_operations.py holds them to that).

The children run with their bytecode cached, as an installed assistant does:
PYTHONDONTWRITEBYTECODE is dropped from their environment, or every run would compile the
whole package again and measure that instead.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.demo.samples import all_samples  # noqa: E402  (the tree beside this bench)

COMMANDS = (["tickets"], ["tickets", "show", "1"], ["outbox"], ["status"], ["quarantine", "list"],
            ["drafts"])
HEAVY = ("spacy", "pymorphy3", "jinja2", "babel", "fastapi", "uvicorn", "schedule", "imapclient",
         "aiosmtpd", "assistant.walk.pipeline", "assistant.mail.intake", "sqlalchemy")
PROBE = ("import sys; from assistant import cli; cli.main(['--config', sys.argv[1], *sys.argv[2:]]); "
         f"print('LOADED', ' '.join(m for m in {HEAVY!r} if m in sys.modules))")


def timed(argv: list[str], env: dict) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one run of `argv`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def prepare(folder: Path, env: dict) -> Path:
    """A config and a database with the demo's tickets, one quarantined mail and a draft."""
    config = folder / "assistant.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{folder}/a.db"\n[storage]\ndata_dir = "{folder}/data"\n',
                      encoding="utf-8")
    mails = folder / "mails"
    mails.mkdir()
    for number, (_name, raw) in enumerate(all_samples()):
        (mails / f"{number:02d}.eml").write_bytes(raw)
    assistant = [sys.executable, "-m", "assistant", "--config", str(config)]
    subprocess.run([*assistant, "import", str(mails)], capture_output=True, env=env, check=True)
    subprocess.run([*assistant, "drafts", "new", "1", "need_info", "--item", "the invoice number"],
                   capture_output=True, env=env, check=True)
    return config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as name:
        config = prepare(Path(name), env)
        rows = [("python -c pass", [sys.executable, "-c", "pass"])]
        rows += [(" ".join(c), [sys.executable, "-m", "assistant", "--config", str(config), *c]) for c in COMMANDS]
        walls: dict[str, list[float]] = {name: [] for name, _ in rows}
        cpus: dict[str, list[float]] = {name: [] for name, _ in rows}
        for _ in range(args.runs):                  # alternating, so drift hits every row alike
            for name, argv in rows:
                wall, cpu = timed(argv, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
        loaded = {" ".join(c): subprocess.run([sys.executable, "-c", PROBE, str(config), *c], capture_output=True,
                                              text=True, env=env).stdout.split("LOADED", 1)[-1].split()
                  for c in COMMANDS}
    reference = statistics.median(walls["python -c pass"])
    print(f"{'command':<18} {'median s':>9} {'over pass':>10} {'cpu s':>6}  heavy modules loaded")
    for name, _ in rows:
        median = statistics.median(walls[name])
        heavy = " ".join(loaded.get(name, [])) or "-"
        print(f"{name:<18} {median:9.3f} {median - reference:10.3f} {statistics.median(cpus[name]):6.3f}"
              f"  {heavy if name in loaded else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
