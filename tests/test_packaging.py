"""An installed assistant carries every rule and template file, not only a checkout does."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_folder_of_rules_and_templates_ships_with_a_wheel():
    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "tool"]["setuptools"]["data-files"]
    shipped = {pattern for patterns in data_files.values() for pattern in patterns}
    for top in ("rules", "templates"):
        for path in (ROOT / top).rglob("*"):
            if path.is_file():
                relative = path.relative_to(ROOT)
                pattern = f"{relative.parent.as_posix()}/*{path.suffix}"
                assert pattern in shipped, f"{relative} would be missing from an installed copy"
                assert f"share/assistant/{relative.parent.as_posix()}" in data_files
