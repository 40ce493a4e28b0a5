"""The ``postmortems`` MkDocs plugin: a thin adapter from MkDocs to the postmortem-kb library.

This is the only module that imports MkDocs. (The site itself is built in the site issue;
for now the plugin validates the corpus when the build starts, so a broken post-mortem stops
the build with the same messages as ``pmkb validate``.)
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, get_plugin_logger

from .settings import DEFAULTS, ConfigError, settings_from_options

log = get_plugin_logger(__name__)


class PostmortemsConfig(base.Config):
    """Options under ``plugins: - postmortems:``; defaults and meaning in :mod:`generator.settings`."""

    ignore = c.Type(list, default=list(DEFAULTS.ignore))
    broken_links = c.Choice(("error", "warning"), default=DEFAULTS.broken_links)
    max_file_size = c.Type(int, default=DEFAULTS.max_file_size)
    phone_region = c.Type((str, type(None)), default=DEFAULTS.phone_region)
    top_k = c.Type(int, default=DEFAULTS.top_k)
    min_score = c.Type((int, float), default=DEFAULTS.min_score)
    cluster_threshold = c.Type((int, float), default=DEFAULTS.cluster_threshold)
    field_weights = c.Type(dict, default={})


class PostmortemsPlugin(BasePlugin[PostmortemsConfig]):
    """Validates the post-mortems in ``docs_dir`` when the build starts."""

    def on_config(self, config):
        """Turn the plugin options into :class:`~generator.settings.Settings`."""
        options = dict(self.config.items())
        if not options.get("field_weights"):
            options.pop("field_weights", None)
        try:
            self.settings = settings_from_options(options, source=str(config.config_file_path))
        except ConfigError as exc:
            raise PluginError(str(exc)) from exc
        self.settings.docs_dir = Path(config.docs_dir)
        return config

    def on_pre_build(self, config):
        """Validate the corpus; errors stop the build, warnings go to the plugin logger."""
        from .output import format_text
        from .validate import validate

        result = validate([self.settings.docs_dir], self.settings)
        for problem in result.problems:
            if problem.level == "warning":
                log.warning(_one_line(problem))
        if result.errors:
            errors = [p for p in result.problems if p.level == "error"]
            for problem in errors:
                log.error(_one_line(problem))
            raise PluginError(f"{len(errors)} post-mortem error(s); run 'pmkb validate' for details")
        self.result = result


def _one_line(p) -> str:
    where = p.path + (f":{p.line}" if p.line else "")
    return f"{where}: {p.code}{' ' + p.field if p.field else ''}: {p.message} ({p.fix})"
