"""The README's command blocks, so CI runs them as written (``.ci/run``, ``tests/test_readme.py``).

Every ```bash block in README.md is preceded by a marker line naming it::

    <!-- ci: try-it -->

(an HTML comment: invisible on GitHub). ``python3 tests/readme.py NAME`` prints the named block's
commands (several blocks may share a name; they are printed in order). Standard library only:
``.ci/run`` calls it before any virtualenv exists.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
MARKER = re.compile(r"<!--\s*ci:\s*([\w-]+)\s*-->")
FENCE = re.compile(r"^```(\w*)\s*$")


def blocks(path: Path = README) -> list[tuple[str | None, str, str, int]]:
    """``(marker name or None, language, text, line number)`` of every fenced block."""
    found = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i, pending = 0, None
    while i < len(lines):
        marker = MARKER.fullmatch(lines[i].strip())
        fence = FENCE.match(lines[i])
        if marker:
            pending = marker.group(1)
        elif fence:
            start, body = i + 1, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            found.append((pending, fence.group(1), "\n".join(body) + "\n", start))
            pending = None
        elif lines[i].strip():
            pending = None  # a marker names the block right below it
        i += 1
    return found


def block(name: str, path: Path = README) -> str:
    """The commands of every block marked ``name``, in order (KeyError when there is none)."""
    texts = [text for marker, _lang, text, _line in blocks(path) if marker == name]
    if not texts:
        raise KeyError(f"README has no block marked <!-- ci: {name} -->")
    return "".join(texts)


if __name__ == "__main__":
    try:
        sys.stdout.write(block(sys.argv[1]))
    except (IndexError, KeyError) as e:
        sys.exit(f"usage: python3 tests/readme.py NAME ({e})")
