"""The documentation: the site builds with no warning, README stays short, and
every relative link in README.md and docs/ points to a file that exists."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 250
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCED = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def markdown_files() -> list[Path]:
    """README.md and the site's pages (docs/_incoming/ holds drafts, outside the site)."""
    pages = [p for p in (ROOT / "docs").rglob("*.md") if "_incoming" not in p.relative_to(ROOT / "docs").parts]
    return [ROOT / "README.md", *sorted(pages)]


def relative_links(text: str) -> list[str]:
    """Link and image targets outside code, without web addresses."""
    prose = INLINE_CODE.sub("", FENCED.sub("", text))
    return [t for t in LINK.findall(prose) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCED.sub("", path.read_text(encoding="utf-8"))
    return {github_anchor(m) for m in re.findall(r"^#+\s+(.*?)\s*#*$", text, re.M)}


def test_readme_is_at_most_250_lines():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


def test_readme_starts_with_the_two_commands_ci_runs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    venv = "python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.14.1 torchvision==0.29.1 && "
    assert blocks[0].strip() == venv + "pip install -e . && python train.py"
    # CI runs it
    checks = "lint-imports && mypy && ruff check . && ruff format --check . && python -m pytest -q"
    assert blocks[1].strip() == venv + 'pip install -e ".[dev]" && ' + checks


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_to_an_existing_file(page):
    missing = []
    for target in relative_links(page.read_text(encoding="utf-8")):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            missing.append(target)
        elif anchor and page.name == "README.md" and file.suffix == ".md" and anchor not in anchors(file):
            missing.append(target)  # anchors inside docs/ are checked by mkdocs (validation.anchors)
    assert not missing, f"{page.relative_to(ROOT)}: broken links {missing}"


def test_link_check_sees_links_and_skips_code():
    text = "See [usage](docs/usage.md#install) and ![f](docs/figures/x.png).\n`[no](a.md)`\n```\n[no](b.md)\n```\n[web](https://x.org)"
    assert relative_links(text) == ["docs/usage.md#install", "docs/figures/x.png"]
    assert github_anchor("Comparing runs: `scripts/compare_runs.py`") == "comparing-runs-scriptscompare_runspy"


def test_mkdocs_build_is_strict_clean(tmp_path):
    for module in ("mkdocs", "material", "mkdocstrings_handlers.python"):
        pytest.importorskip(module, reason="the docs tools are in the dev extra")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    assert "WARNING" not in output, output[-5000:]
    api_page = (tmp_path / "site" / "api" / "estimators" / "index.html").read_text(encoding="utf-8")
    assert api_page.count("MIEstimator") > 0
