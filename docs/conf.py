"""Sphinx configuration of the skmmat documentation.

Build with ``tox -e docs`` or ``sphinx-build -W --keep-going -b html docs docs/_build/html``.
The build works offline: intersphinx links to Python, NumPy, scikit-learn, pandas and
PyTorch are added only when ``SKMMAT_DOCS_INTERSPHINX=1`` is set (a failed inventory
download is a warning, which ``-W`` would turn into an error). Pass
``-D plot_gallery=0`` to skip running the example gallery.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # document the working tree, even when not installed

import skmmat  # noqa: E402

# -- Project ------------------------------------------------------------------
project = "skmmat"
author = "skmmat developers"
copyright = "skmmat developers, BSD-3-Clause"
version = release = skmmat.__version__

# -- General ------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax 3 shipped with the pages, not loaded from a CDN: the maths renders offline
    "sphinx-mathjax-offline",
    "sphinx_design",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "examples", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
default_role = "literal"  # `x` renders as code, never as an unresolved reference
pygments_style = "sphinx"

# -- autodoc / autosummary / numpydoc ------------------------------------------
autosummary_generate = True  # pages land in docs/generated/ (gitignored)
autodoc_typehints = "none"  # the numpydoc docstrings carry the types
autodoc_member_order = "bysource"
# "On this page" lists fit, predict, ... instead of repeating the (long) class name
toc_object_entries_show_parents = "hide"
# False: torch.nn.Module.forward's generic docstring would document every forward()
autodoc_inherit_docstrings = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Docstrings are numpydoc-formatted; the examples in them are run by pytest's doctest
# runner where enabled, never by Sphinx. No numpydoc_validation_checks: the build
# already fails (-W) on any docstring that numpydoc or docutils cannot parse.

# -- intersphinx (opt-in: needs the network) ------------------------------------
if os.environ.get("SKMMAT_DOCS_INTERSPHINX") == "1":
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "pandas": ("https://pandas.pydata.org/docs", None),
        "torch": ("https://docs.pytorch.org/docs/stable", None),
    }
    intersphinx_timeout = 10

# -- sphinx-gallery -------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # run every example (all are named plot_*.py)
    "within_subsection_order": "ExampleTitleSortKey",
    "doc_module": ("skmmat",),
    "backreferences_dir": "generated/backreferences",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "show_memory": False,
    "min_reported_time": 1,
    # the execution-times pages load DataTables from a CDN; the docs must work offline
    "write_computation_times": False,
}

# -- HTML -------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skmmat {release}"
html_static_path = ["_static"]
html_css_files = ["skmmat.css"]
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    # "On this page" goes in the left sidebar, so the article column keeps the width of a
    # code block of ~95 characters on a 1280 px screen
    "secondary_sidebar_items": [],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "navigation_with_keys": False,
    "header_links_before_dropdown": 7,
}
html_context = {"default_mode": "light"}
# top-level pages have no section navigation, only their own contents; the landing page and
# the results (whose opening findings link to every section) use the full width
html_sidebars = {"**": ["sidebar-nav-bs", "page-toc"], "index": [], "results": []}
html_sidebars.update({page: ["page-toc"] for page in ("install", "quickstart", "cli", "api")})


# -- Cross-references to re-exported names -------------------------------------------
# The main classes and functions are documented where users import them from
# (skmmat.MultiModalCNNClassifier); docstrings also name them by their subpackage
# (skmmat.models.MultiModalCNNClassifier). Resolve those to the documented page.
def _reexport_aliases():
    import importlib

    aliases = {}
    for sub in ("datasets", "preprocessing", "models", "adversarial"):
        module = importlib.import_module(f"skmmat.{sub}")
        for name in getattr(module, "__all__", ()):
            if name in skmmat.__all__:
                aliases[f"skmmat.{sub}.{name}"] = f"skmmat.{name}"
    return aliases


_ALIASES = _reexport_aliases()


def _resolve_reexports(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    domain = env.get_domain("py")
    target = node.get("reftarget", "")
    new = _ALIASES.get(target)
    if new is None and "." not in target and (node.get("py:module") or "").startswith("skmmat"):
        # a short name in a re-exported object's docstring (``tokenize_tweet`` in
        # skmmat.GloveSequencer) names a sibling of its subpackage: find it if unique
        matches = [
            name
            for name in domain.objects
            if name.startswith("skmmat.") and name.rsplit(".", 1)[-1] == target
        ]
        if len(matches) == 1:
            new = matches[0]
    if new is None:
        return None
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], new, node, contnode
    )


# scikit-learn adds set_<method>_request methods to every estimator class; their
# docstrings refer to scikit-learn's own user guide. They are not skmmat's API.
_SKIPPED = re.compile(r"^set_\w+_request$")


def _skip_member(app, what, name, obj, skip, options):
    if _SKIPPED.match(name):
        return True
    return None


# A constant defined in a private module and re-exported by its package
# (skmmat.embeddings.BUNDLED_TABLES, from skmmat.embeddings._vectors) is documented by
# its ``#:`` comment, which autodoc looks for in the package's own source only: without
# this it would show the docstring of the constant's type (tuple, dict).
def _reexported_constant_doc(app, what, name, obj, options, lines):
    import importlib
    import pkgutil

    from sphinx.pycode import ModuleAnalyzer, PycodeError

    package_name, _, attr = name.rpartition(".")
    if what != "data" or not package_name.startswith("skmmat"):
        return
    package = importlib.import_module(package_name)
    submodules = pkgutil.iter_modules(getattr(package, "__path__", []), f"{package_name}.")
    for module in [package_name, *(m.name for m in submodules)]:
        try:
            comment = ModuleAnalyzer.for_module(module).find_attr_docs().get(("", attr))
        except PycodeError:
            continue
        if comment:
            lines[:] = list(comment)
            return


# ``.. command-help:: demo`` renders ``skmmat demo --help``, so docs/cli.rst always shows
# the options of the installed command line.
class CommandHelp(SphinxDirective):
    optional_arguments = 1
    has_content = False

    def run(self):
        from skmmat.cli import main

        argv = [*self.arguments, "--help"]
        out = io.StringIO()
        previous = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = "88"  # argparse wraps at the terminal width
        try:
            with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
                main(argv)
        finally:
            if previous is None:
                del os.environ["COLUMNS"]
            else:
                os.environ["COLUMNS"] = previous
        text = out.getvalue().rstrip()
        if not text:
            raise self.error(f"'skmmat {' '.join(argv)}' printed nothing.")
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


# docs/results.rst (benchmark results, written separately) joins the landing page's
# toctree when it exists, after the examples; without it the build stays warning-free.
_RESULTS_AFTER = "   auto_examples/index\n"


def _add_results_page(app, docname, source):
    if docname == "index" and (DOCS / "results.rst").is_file():
        source[0] = source[0].replace(_RESULTS_AFTER, _RESULTS_AFTER + "   results\n", 1)


# The estimators' pages show the methods they inherit from scikit-learn (predict, score,
# fit_transform...) with scikit-learn's docstrings, whose :ref: labels point into
# scikit-learn's own documentation: offline they are plain text.
_SKLEARN_REF = re.compile(r":ref:`(?:([^`<]*?)\s*<[^`>]+>|([^`]+))`")


def _inherited_sklearn_doc(app, what, name, obj, options, lines):
    if what == "method" and getattr(obj, "__module__", "").startswith("sklearn."):
        lines[:] = [_SKLEARN_REF.sub(lambda m: m.group(1) or m.group(2), line) for line in lines]


def setup(app):
    app.connect("source-read", _add_results_page)
    app.connect("missing-reference", _resolve_reexports)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("autodoc-process-docstring", _reexported_constant_doc)
    app.connect("autodoc-process-docstring", _inherited_sklearn_doc)
    app.add_directive("command-help", CommandHelp)
