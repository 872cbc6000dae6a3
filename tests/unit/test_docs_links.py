"""The README is the front door: short, linking every page of docs/, and no link in the
documentation leads nowhere (a missing file, or a heading that is not there)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
LINK = re.compile(r"\]\(([^)\s]+)\)")


def prose(path: Path) -> str:
    """The file's text without its fenced code blocks."""
    return re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the file's headings: lower case, punctuation dropped, spaces as `-`."""
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", prose(path), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        numbered, n = slug, 0
        while numbered in found:  # a repeated heading gets -1, -2, …
            n += 1
            numbered = f"{slug}-{n}"
        found.add(numbered)
    return found


def local_links(path: Path) -> list[str]:
    return [t for t in LINK.findall(prose(path)) if not re.match(r"[a-z]+:", t)]


def test_the_readme_stays_a_front_door() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= 300, f"README.md has {lines} lines; move the detail to docs/ and link it"


def test_the_readme_links_every_page_of_the_docs() -> None:
    linked = {(README.parent / target.split("#")[0]).resolve() for target in local_links(README)}
    unlinked = [page.name for page in PAGES if page.resolve() not in linked]
    assert len(PAGES) >= 5 and not unlinked, f"README.md does not link docs/{unlinked}"


def test_every_link_leads_to_a_file_and_a_heading_that_exist() -> None:
    broken = []
    for page in [README, *PAGES]:
        for target in local_links(page):
            file, _, anchor = target.partition("#")
            destination = (page.parent / file).resolve() if file else page
            if not destination.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif anchor and anchor not in anchors(destination):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, broken


def test_anchors_are_made_as_github_makes_them(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Slack's rate limits\n## Who may do what (`ACCESS_POLICY`)\n## Bounds\n## Bounds\n")
    assert anchors(page) == {"slacks-rate-limits", "who-may-do-what-access_policy", "bounds", "bounds-1"}
