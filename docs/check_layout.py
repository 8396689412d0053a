"""Measure the built HTML docs in headless Chromium for content that does not fit the page.

Usage::

    python -m sphinx -b html docs docs/_build/html
    python docs/check_layout.py docs/_build/html [--screenshots DIR] [--pages results.html ...]

Needs Chromium (Debian: ``apt-get install chromium``) and the ``playwright`` Python package
(``pip install playwright``; the system Chromium is used, no browser is downloaded).

Each page is opened at two window widths, 1280 px (a laptop) and 390 px (a phone), and
these are reported:

* the page is wider than the window (the whole page scrolls sideways);
* at 1280 px, a table, code block, inline code, figure or formula that is wider than the article
  column, or that needs a scroll bar of its own to be read whole;
* at 390 px, such an element that is cut off: wider than the column with no ancestor in the
  column that scrolls sideways (a table or code block that scrolls is fine on a phone).

The exit status is 1 when anything is reported, 0 otherwise.
"""

import argparse
import shutil
import sys
from pathlib import Path

WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}

# Runs in the page: returns a list of problems, each a dict.
_MEASURE = r"""
(mode) => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth + 1) {
    problems.push({kind: "page", what: "page", width: root.scrollWidth, room: root.clientWidth});
  }
  const column = document.querySelector("article.bd-article") || document.querySelector("main");
  if (!column) return problems;
  const room = column.getBoundingClientRect();
  const describe = (el) => {
    const text = (el.innerText || el.getAttribute("alt") || "").trim().replace(/\s+/g, " ");
    const section = el.closest("section[id]");
    return (section ? "#" + section.id + " " : "") + el.tagName.toLowerCase() + ": "
      + text.slice(0, 60);
  };
  const scrolls = (el) => {
    for (let a = el; a && a !== column.parentElement; a = a.parentElement) {
      const style = getComputedStyle(a);
      if ((style.overflowX === "auto" || style.overflowX === "scroll")
          && a.getBoundingClientRect().right <= room.right + 1) {
        return a;
      }
    }
    return null;
  };
  const selector = "table, pre, img, .math, mjx-container[display='true'], .sd-card, code";
  for (const el of column.querySelectorAll(selector)) {
    if (el.closest("pre") && el.tagName !== "PRE") continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0) continue;
    // a formula in a line of text: its box; anything else: the content it holds too
    const inline = el.matches("span.math, mjx-container:not([display='true']), code");
    const wide = (inline ? box.right : Math.max(box.right, box.left + el.scrollWidth)) - room.left;
    const fits = box.left >= room.left - 1 && wide <= room.width + 1;
    if (fits) continue;
    if (mode === "desktop") {
      problems.push({kind: "wider than the column", what: describe(el),
                     width: Math.round(wide), room: Math.round(room.width)});
    } else if (!scrolls(el)) {
      problems.push({kind: "cut off", what: describe(el),
                     width: Math.round(wide), room: Math.round(room.width)});
    }
  }
  return problems;
}
"""


def built_pages(build_dir):
    """The content pages of a built site (not its assets, index or search pages), sorted."""
    build_dir = Path(build_dir)
    return sorted(
        p
        for p in build_dir.rglob("*.html")
        if not {"_static", "_sources", "_modules", "_images"} & set(p.relative_to(build_dir).parts)
        and p.name not in {"genindex.html", "search.html", "py-modindex.html"}
    )


def find_chromium():
    """The Chromium executable on PATH, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def check(build_dir, pages=None, screenshots=None, chromium=None):
    """Return ``{(page, mode): [problem, ...]}`` for every built page (or ``pages``)."""
    from playwright.sync_api import sync_playwright

    build_dir = Path(build_dir).resolve()
    paths = [build_dir / page for page in pages] if pages else built_pages(build_dir)
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ValueError(f"pages not found in {build_dir}: {', '.join(missing)}")
    executable = chromium or find_chromium()
    if executable is None:
        raise ValueError("Chromium was not found; install it (apt-get install chromium)")
    report = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        for mode, (width, height) in WIDTHS.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            for path in paths:
                page.goto(path.as_uri())
                page.wait_for_load_state("load")
                name = str(path.relative_to(build_dir))
                report[(name, mode)] = page.evaluate(_MEASURE, mode)
                if screenshots:
                    out = Path(screenshots) / f"{name.replace('/', '_')[:-5]}_{width}.png"
                    out.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(out), full_page=True)
            page.close()
        browser.close()
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build_dir", help="the folder sphinx-build wrote the HTML into")
    parser.add_argument("--pages", nargs="+", help="pages to check, relative to build_dir")
    parser.add_argument("--screenshots", help="write a full-page PNG of each page here")
    parser.add_argument("--chromium", help="the Chromium executable (default: on PATH)")
    args = parser.parse_args(argv)
    report = check(args.build_dir, args.pages, args.screenshots, args.chromium)
    n_bad = 0
    for (name, mode), problems in report.items():
        for problem in problems:
            n_bad += 1
            print(
                f"{name} at {WIDTHS[mode][0]} px: {problem['kind']}, {problem['width']} px "
                f"in {problem['room']} px: {problem['what']}"
            )
    pages = len({name for name, _ in report})
    print(f"{pages} pages at {len(WIDTHS)} widths: {n_bad} problems")
    return 1 if n_bad else 0


if __name__ == "__main__":
    sys.exit(main())
