"""The README's snippets, by language and section: read by tests/python/test_readme.py and by the
wheel's smoke test (tests/python/wheel_smoke.py, which runs with nothing but the wheel installed,
so this module imports only the standard library)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def section(name: str, text: str | None = None) -> str:
    """The body of the README's ``### name`` section."""
    text = README.read_text() if text is None else text
    m = re.search(rf"### {name}\n(.*?)(?=\n## |\n### |\Z)", text, flags=re.S)
    assert m, f"README has no '### {name}' section"
    return m.group(1)


def blocks(lang: str, text: str | None = None) -> list[str]:
    """The fenced ``lang`` blocks of ``text`` (default: the whole README), in order."""
    text = README.read_text() if text is None else text
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)
