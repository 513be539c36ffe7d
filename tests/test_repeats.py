"""No block of six or more lines is written twice in the project's code.

pylint's similarity checker (``symilar``) compares every pair of files line
by line, after dropping comments, docstrings, imports and signatures: what it
finds is copied code, a real repeat. Blocks that only share a *shape* (the
same calls with other names, such as two estimators implementing one
interface) are not repeats; docs/extend/style.md says which those are.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("ssl_it", "scripts", "benchmarks", "hydra_plugins", "tests")
MIN_LINES = 6


def test_no_block_of_six_lines_is_repeated() -> None:
    files = sorted(str(p.relative_to(ROOT)) for folder in CHECKED for p in (ROOT / folder).rglob("*.py"))
    files.append("train.py")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pylint.checkers.symilar",
            f"--duplicates={MIN_LINES}",
            "--ignore-comments",
            "--ignore-docstrings",
            "--ignore-imports",
            "--ignore-signatures",
            *files,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    total = re.search(r"TOTAL lines=(\d+) duplicates=(\d+)", proc.stdout)
    assert total is not None, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert int(total.group(1)) > 20_000  # every file was read
    assert int(total.group(2)) == 0, "repeated blocks (factor them out):\n" + proc.stdout
