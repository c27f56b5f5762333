"""Sphinx configuration of flatprop's documentation site.

Build it with ``pip install ".[docs]"`` and ``sphinx-build -W -b html docs docs/_build/html``
(warnings are errors). The notebooks of the learning path are executed by myst-nb on
every build, top to bottom; an error in one fails the build.
"""

from __future__ import annotations

import flatprop

project = "flatprop"
author = "flatprop developers"
copyright = "flatprop developers, MIT License"
release = version = flatprop.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",
]

# .rst first: autosummary writes its generated pages with the first suffix.
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints"]
suppress_warnings = ["myst.header"]  # the README's sections start at "##" when included

# The API reference: one page per module, from the docstrings (numpydoc).
autosummary_generate = True
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # the numpydoc sections say the types, with the shapes
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# The notebooks: executed on every build, an error fails it.
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_timeout = 300
nb_execution_show_tb = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3  # the README links to sections of the guides (docs/grading.md#gradescope)

html_theme = "pydata_sphinx_theme"
html_title = f"flatprop {release}"
html_static_path = ["_static"]
html_css_files = ["flatprop.css"]  # computational graphs at their own size, scrolling
templates_path = ["_templates"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
}
