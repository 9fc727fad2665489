"""How long the commands that need no language pipeline take to answer, against a bare Python.

    python bench/startup.py [--runs N]

Runs `assistant tickets`, `outbox`, `status` and `quarantine list` on a small fresh SQLite
database, each as a new process, and `python -c pass` in the same run as the reference.
Prints the median wall time of each, its excess over the reference, and the heavy modules
each command still imports (a command that needs no letters should not load them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = (["tickets"], ["outbox"], ["status"], ["quarantine", "list"])
HEAVY = ("spacy", "pymorphy3", "jinja2", "babel", "fastapi", "uvicorn", "schedule", "imapclient",
         "aiosmtpd", "assistant.walk.pipeline")
PROBE = ("import sys; from assistant import cli; cli.main(['--config', sys.argv[1], *sys.argv[2:]]); "
         f"print('LOADED', ' '.join(m for m in {HEAVY!r} if m in sys.modules))")


def timed(argv: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "assistant.toml"
        config.write_text(f'[database]\nurl = "sqlite:///{folder}/a.db"\n[storage]\ndata_dir = "{folder}/data"\n',
                          encoding="utf-8")
        subprocess.run([sys.executable, "-m", "assistant", "--config", str(config), "tickets"],
                       capture_output=True, env=env, check=True)       # the schema is made once
        rows = [("python -c pass", [sys.executable, "-c", "pass"])]
        rows += [(" ".join(c), [sys.executable, "-m", "assistant", "--config", str(config), *c]) for c in COMMANDS]
        times: dict[str, list[float]] = {name: [] for name, _ in rows}
        for _ in range(args.runs):                  # alternating, so drift hits every row alike
            for name, argv in rows:
                times[name].append(timed(argv, env))
        loaded = {" ".join(c): subprocess.run([sys.executable, "-c", PROBE, str(config), *c], capture_output=True,
                                              text=True, env=env).stdout.split("LOADED", 1)[-1].split()
                  for c in COMMANDS}
    reference = statistics.median(times["python -c pass"])
    print(f"{'command':<18} {'median s':>9} {'over pass':>10}  heavy modules loaded")
    for name, _ in rows:
        median = statistics.median(times[name])
        heavy = " ".join(loaded.get(name, [])) or "-"
        print(f"{name:<18} {median:9.3f} {median - reference:10.3f}  {heavy if name in loaded else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
