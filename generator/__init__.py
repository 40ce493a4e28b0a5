"""postmortem-kb: turn a folder of incident post-mortems into a searchable knowledge base.

The library is one pipeline, ``load -> validate -> link (TF-IDF) -> cluster -> render``:

- :mod:`generator.loader` reads a file without trusting PyYAML's defaults;
- :mod:`generator.validate` applies the v1 format rules (file, line, field, fix);
- :mod:`generator.model` holds the incident model every other step works on.

The ``pmkb`` CLI (:mod:`generator.cli`) and the ``postmortems`` MkDocs plugin
(:mod:`generator.plugin`) are thin layers over these modules, so CI and the site never disagree.
"""

__version__ = "0.1.0"
