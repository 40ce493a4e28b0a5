"""``pmkb import``: bring an existing post-mortem archive or an incident tool's export into the
knowledge base, safely and repeatably.

The pipeline: :mod:`~generator.importers.sources` finds and reads the files (hostile input:
no links followed, sizes capped), :mod:`~generator.importers.readers` turns each into
:class:`~generator.importers.record.Record` objects by a preset (:mod:`~generator.importers.presets`),
a ``--map`` file or field names (:mod:`~generator.importers.mapping`),
:mod:`~generator.importers.render` writes each as a format v2 post-mortem, and
:mod:`~generator.importers.sync` decides create / update / skip / conflict against the docs
folder and its ledger, validates every file, and writes.
"""

from .sync import KINDS, LEDGER, Action, ImportError_, ImportOptions, Plan, plan_import, write_plan

__all__ = ["KINDS", "LEDGER", "Action", "ImportError_", "ImportOptions", "Plan", "plan_import", "write_plan"]
