"""The documentation builds without a warning, and stays in step with the code.

The full build (``tox -e docs``) also runs the example gallery; here the examples are
rendered but not executed (``-D plot_gallery=0``) to keep the test quick.
"""

import html as html_module
import importlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

_BUILD_MODULES = (
    "sphinx",
    "numpydoc",
    "sphinx_gallery",
    "pydata_sphinx_theme",
    "matplotlib",
    "sphinx_design",
    "sphinx-mathjax-offline",
)


def _load_check_layout():
    spec = importlib.util.spec_from_file_location("check_layout", DOCS / "check_layout.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: docs/check_layout.py: the built site's pages, and their layout measured in Chromium
check_layout = _load_check_layout()


def _missing_build_modules():
    return [name for name in _BUILD_MODULES if importlib.util.find_spec(name) is None]


@pytest.fixture(scope="module")
def built_docs(tmp_path_factory):
    missing = _missing_build_modules()
    if missing:
        pytest.skip(
            f"the docs toolchain is not installed (missing: {', '.join(missing)}); "
            "install it with: pip install -e '.[docs]'"
        )
    out = tmp_path_factory.mktemp("docs_html")
    doctrees = tmp_path_factory.mktemp("doctrees")
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-b",
        "html",
        "-q",
        "-d",
        str(doctrees),
        "-D",
        "plot_gallery=0",
        str(DOCS),
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, (
        f"sphinx-build failed (exit {proc.returncode}):\n{proc.stdout[-5000:]}\n"
        f"{proc.stderr[-10000:]}"
    )
    return out


def test_docs_build_without_warnings(built_docs):
    for page in (
        "index.html",
        "install.html",
        "quickstart.html",
        "cli.html",
        "api.html",
        "user_guide/index.html",
        "user_guide/data.html",
        "user_guide/preprocessing.html",
        "user_guide/classifier.html",
        "user_guide/perturbers.html",
        "user_guide/adversarial_training.html",
        "user_guide/evaluation.html",
        "user_guide/scaling_out.html",
        "user_guide/saving_models.html",
        "auto_examples/index.html",
        "auto_examples/plot_quickstart_pipeline.html",
        "auto_examples/plot_grid_search_per_disaster.html",
        "auto_examples/plot_reading_adversarial_examples.html",
    ):
        assert (built_docs / page).is_file(), f"{page} was not built"


def test_api_pages_are_generated(built_docs):
    page = built_docs / "generated" / "skmmat.MultiModalCNNClassifier.html"
    assert page.is_file()
    html = page.read_text(encoding="utf-8")
    assert "loss_gradient" in html and "predict_proba" in html
    api = (built_docs / "api.html").read_text(encoding="utf-8")
    assert 'href="generated/skmmat.MultiModalCNNClassifier.html' in api


def test_api_pages_show_the_inherited_methods_users_call(built_docs):
    """predict, predict_proba, loss_gradient and score come from mixins; each page has them."""
    pages = {
        "skmmat.MultiModalCNNClassifier": ("predict", "predict_proba", "loss_gradient", "score"),
        "skmmat.adversarial.RandomizedSmoothingClassifier": ("predict", "certify", "score"),
        "skmmat.GloveSequencer": ("fit_transform", "transform"),
    }
    for name, methods in pages.items():
        html = (built_docs / "generated" / f"{name}.html").read_text(encoding="utf-8")
        for method in methods:
            assert f'id="{name}.{method}"' in html, (name, method)
        # the page's own references to its methods stay on the page
        links = re.findall(r'href="[^"#]*#(skmmat[\w.]*)\.(?:predict|predict_proba)"', html)
        assert set(links) <= {name}, (name, set(links))
        assert links or "predict" not in methods, name
    html = (built_docs / "generated" / "skmmat.MultiModalCNNClassifier.html").read_text()
    assert 'id="skmmat.MultiModalCNNClassifier.set_params"' not in html  # BaseEstimator's


def test_cli_page_shows_the_help_of_every_command(built_docs):
    html = (built_docs / "cli.html").read_text(encoding="utf-8")
    for command in ("demo", "table1", "train", "predict"):
        assert f"usage: skmmat {command}" in html


def _public_names():
    """Every name of skmmat's public API: the top level and the subpackages' __all__."""
    names = set()
    for module_name in (
        "skmmat",
        "skmmat.datasets",
        "skmmat.preprocessing",
        "skmmat.models",
        "skmmat.adversarial",
        "skmmat.metrics",
        "skmmat.embeddings",
    ):
        module = importlib.import_module(module_name)
        names.update(getattr(module, "__all__", ()))
    return names


def test_api_page_lists_every_public_name():
    api = (DOCS / "api.rst").read_text(encoding="utf-8")
    listed = set(re.findall(r"^   ([A-Za-z_][\w.]*)\s*$", api, re.M))
    missing = sorted(_public_names() - listed)
    assert not missing, f"docs/api.rst lacks autosummary entries for {missing}"


def test_quickstart_shows_the_readme_commands():
    readme = ROOT / "README.md"
    if not readme.is_file():
        pytest.skip("no README.md")
    text = readme.read_text(encoding="utf-8")
    section = re.search(r"^#+\s*Quick\s*-?start.*?$(.*?)(?=^#+\s|\Z)", text, re.M | re.S | re.I)
    assert section, "README.md has no Quickstart section"
    block = re.search(r"```[a-z]*\n(.*?)```", section.group(1), re.S)
    assert block, "README.md's Quickstart has no code block"
    commands = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    quickstart = (DOCS / "quickstart.rst").read_text(encoding="utf-8")
    for command in commands:
        assert command in quickstart, f"docs/quickstart.rst lacks the README command {command!r}"


def test_every_example_is_a_gallery_example():
    examples = sorted((DOCS / "examples").glob("*.py"))
    assert examples, "docs/examples holds no example"
    for path in examples:
        assert path.name.startswith("plot_"), f"{path.name}: sphinx-gallery runs plot_*.py only"
        source = path.read_text(encoding="utf-8")
        assert source.startswith('"""\n'), f"{path.name}: starts without its docstring title"


# ----------------------------------------------------------------------------------
# the site as a user meets it
# ----------------------------------------------------------------------------------
def _pages(built_docs):
    return [p for p in built_docs.rglob("*.html") if "_static" not in p.parts]


def test_maths_renders_offline(built_docs):
    # MathJax is shipped with the pages; no page loads a script from another host
    assert (built_docs / "_static" / "mathjax" / "tex-chtml.js").is_file()
    index = (built_docs / "index.html").read_text(encoding="utf-8")
    assert 'src="_static/mathjax/tex-chtml.js' in index
    assert r"\mathrm{sign}" in index  # the page has maths for it to render
    for page in _pages(built_docs):
        html = page.read_text(encoding="utf-8")
        remote = re.findall(r'<script[^>]+src="(?:https?:)?//[^"]+"', html)
        assert not remote, f"{page.name} loads {remote}"


def test_long_class_names_are_not_repeated_in_the_page_toc(built_docs):
    page = built_docs / "generated" / "skmmat.AdversarialAugmentationWrapper.html"
    html = page.read_text(encoding="utf-8")
    toc = html[html.index('id="pst-page-toc-nav"') :]
    toc = toc[: toc.index("</nav>")]
    entries = re.findall(r"<code[^>]*>(.*?)</code>", toc, re.S)
    names = [re.sub(r"<[^>]+>", "", e).strip() for e in entries]
    assert "fit()" in names and "predict_proba()" in names
    assert not [n for n in names if n.startswith("AdversarialAugmentationWrapper.")]
    css = (built_docs / "_static" / "skmmat.css").read_text(encoding="utf-8")
    assert "overflow-wrap: anywhere" in css  # long titles wrap instead of being cut


def test_navbar_shows_every_top_level_page(built_docs):
    html = (built_docs / "index.html").read_text(encoding="utf-8")
    navbar = html[html.index('class="bd-navbar-elements') :]
    navbar = navbar[: navbar.index("</ul>")]
    assert "dropdown" not in navbar  # nothing hidden under "More"
    for title in ("Quickstart", "User guide", "Results", "Command line", "API reference"):
        assert f">\n    {title}\n  </a>" in navbar, title


def test_results_page_is_readable(built_docs):
    html = (built_docs / "results.html").read_text(encoding="utf-8")
    assert "mailto:" not in html
    assert "../shared" not in html
    assert "bd-sidebar-primary bd-sidebar hide-on-wide" in html  # no empty section navigation
    assert "TF-IDF + LR" in html
    # the figure opens at full size
    link = '<a class="reference external image-reference" href="_static/table1_crisismmd.png">'
    assert link in html and (built_docs / "_static" / "table1_crisismmd.png").is_file()


def test_landing_page_links_install_guide_api_examples_results(built_docs):
    html = (built_docs / "index.html").read_text(encoding="utf-8")
    assert "sd-card" in html
    for target in (
        "install.html",
        "user_guide/index.html",
        "api.html",
        "auto_examples/index.html",
        "results.html",
    ):
        assert f'href="{target}"' in html, target
    text = html_module.unescape(re.sub(r"<[^>]+>", "", html))
    assert 'pip install torch==2.13.0 -e ".[glove]" && skmmat demo' in text
    assert "SMARTCOMP" in html and "pipeline.svg" in html
    # the diagram's text is drawn as paths: it looks the same whatever fonts a reader has
    svg = (built_docs / "_static" / "pipeline.svg").read_text(encoding="utf-8")
    assert "<text" not in svg and "<path" in svg


def test_reexported_constants_show_their_own_comment(built_docs):
    page = built_docs / "generated" / "skmmat.datasets.CRISISMMD_EVENTS.html"
    html = page.read_text(encoding="utf-8")
    assert "The seven disasters of CrisisMMD v2.0" in html
    assert "immutable sequence" not in html  # not tuple's own docstring
    api = (built_docs / "api.html").read_text(encoding="utf-8")
    assert "immutable sequence" not in api


#: how the work went has no place in what users read: the tracker's issue numbers, "the issue",
#: what was asked or lent, before / previous columns
_PROCESS = re.compile(
    r"\bissues?\s*#?\d+|\bthe issue'?s?\b|\bno GPU was lent\b|\bthe [\d.]+ asked\b"
    r"|\bbefore\s*/\s*previous\b|\bprevious\s*/\s*now\b",
    re.IGNORECASE,
)


def _user_facing_sources():
    skip = {"_build", "generated", "auto_examples", "__pycache__"}
    for pattern in ("docs/**/*.rst", "docs/examples/*.py", "skmmat/**/*.py", "benchmarks/**/*.py"):
        for path in sorted(ROOT.glob(pattern)):
            if not skip & set(path.relative_to(ROOT).parts):
                yield path
    yield from (ROOT / name for name in ("README.md", "benchmarks/README.md"))


def test_no_issue_numbers_or_process_words_in_docs_readme_and_code():
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in _user_facing_sources()
        if path.is_file()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _PROCESS.search(line)
    ]
    assert not found, "\n".join(found)


def _page_text(path):
    html = path.read_text(encoding="utf-8")
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.DOTALL)
    return html_module.unescape(re.sub(r"<[^>]+>", " ", html))


def test_no_issue_numbers_or_process_words_in_the_built_pages(built_docs):
    pages = check_layout.built_pages(built_docs)
    assert len(pages) > 50  # the API pages (docstrings) are among them
    found = [
        f"{page.relative_to(built_docs)}: {match.group(0)!r}"
        for page in pages
        for match in _PROCESS.finditer(_page_text(page))
    ]
    assert not found, "\n".join(found)


def test_results_page_leads_with_its_findings(built_docs):
    html = (built_docs / "results.html").read_text(encoding="utf-8")
    article = html[html.index("<article") : html.index("</article>")]
    findings = article.index('id="findings"')
    assert findings < article.index("<table") and findings < article.index("<figure")
    # every finding links to the section that holds its evidence
    items = re.findall(
        r"<li>(.*?)</li>", article[findings : article.index('id="how-to-read')], re.S
    )
    assert len(items) >= 6
    sections = set(re.findall(r'<section id="([\w-]+)"', article))
    for item in items:
        links = re.findall(r'href="#([\w-]+)"', item)
        assert links and set(links) <= sections, item[:80]
    # a report, not a wall of numbers: under 4,000 words, and a glossary before the tables
    assert article.index('id="how-to-read-the-tables"') < article.index("<table")
    words = len((DOCS / "results.rst").read_text(encoding="utf-8").split())
    assert words < 4000, words


def test_pages_fit_a_laptop_and_a_phone_in_chromium(built_docs):
    """No table, code block or formula is cut off at 1280 or 390 px (docs/check_layout.py)."""
    pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install playwright)")
    if check_layout.find_chromium() is None:
        pytest.skip("needs Chromium (apt-get install chromium)")
    pages = [
        "index.html",
        "results.html",
        "cli.html",
        "user_guide/classifier.html",
        "user_guide/adversarial_training.html",
        "generated/skmmat.AdversarialAugmentationWrapper.html",
        "generated/skmmat.MultiModalCNNClassifier.html",
    ]
    report = check_layout.check(built_docs, pages)
    assert len(report) == 2 * len(pages)
    problems = {key: found for key, found in report.items() if found}
    assert not problems, problems
