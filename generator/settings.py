"""Options of postmortem-kb, read from the ``postmortems`` plugin entry in ``mkdocs.yml``.

The CLI and the MkDocs plugin read the same options from the same place, so CI and the site
never disagree. This module does not import MkDocs (``pmkb validate`` stays fast); the plugin
builds its MkDocs config scheme from :data:`DEFAULTS`.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .foreign import DEFAULT_TEMPLATE_PATTERNS

CONFIG_FILE = "mkdocs.yml"
PLUGIN_NAME = "postmortems"


def _default_weights() -> dict[str, float]:
    # Chosen by two-fold cross-validation over the label groups (benchmarks/README.md): the
    # mean of the weights tuned on each half of the groups.
    return {
        "title": 0.5,
        "summary": 3.0,
        "root_cause": 0.5,
        "trigger": 2.5,
        "tags": 2.5,
        "services": 0.25,
        "section_root_cause": 3.5,
        "section_trigger": 0.75,
        "section_impact": 0.25,
        "body": 0.75,
        "action_items": 1.0,
    }


DEFAULT_ATTACHMENTS = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".pdf", ".txt", ".log", ".csv")
"""File kinds the site publishes by default besides Markdown pages: images, PDF and plain text,
none of which a browser runs as script."""


@dataclass
class Settings:
    """Every option, with its default. Units: bytes for sizes, cosine similarity for scores.

    ``docs_dir`` is absolute once loaded from a config file. ``ignore`` holds glob patterns,
    relative to ``docs_dir``, of Markdown files that are ordinary pages, not post-mortems;
    ``templates`` glob patterns (matched in any case) of post-mortem templates, which are not
    checked as incidents either (the validator says how many it skipped).
    ``attachments`` lists the lowercase extensions (with the dot) of the other files of the
    docs folder that the site publishes (after a secret scan of the text ones); the default
    leaves out every kind a browser can run (``.html``, ``.svg``, ``.js``).
    ``audience`` says who the built site is for: ``internal`` (every post-mortem, the internal
    ones marked) or ``public`` (post-mortems whose visibility is ``public`` only: no page,
    list, link, count or export names the others). ``default_visibility`` is the visibility
    of a post-mortem that does not say (every format v1 file): ``internal`` unless set, so a
    public site shows nothing nobody chose to publish (:mod:`generator.audience`).
    ``today`` is the reference day of the reports (ages, "the last 12 months", overdue items):
    ``None`` (unset) for the day of the build in UTC, or of ``SOURCE_DATE_EPOCH`` when that is
    set (reproducible builds); ``"latest"`` for the date of the latest incident (an archive or
    a demo such as the shipped knowledge base, whose reports then show its own figures); or a
    ``YYYY-MM-DD`` day (:func:`generator.render.report_day`).
    """

    docs_dir: Path = Path("postmortems")
    ignore: list[str] = field(default_factory=lambda: ["index.md", "README.md", "_*", "_*/**"])
    templates: list[str] = field(default_factory=lambda: list(DEFAULT_TEMPLATE_PATTERNS))
    broken_links: str = "error"
    max_file_size: int = 1_000_000
    phone_region: str | None = "US"
    top_k: int = 5
    min_score: float = 0.08
    cluster_threshold: float = 0.11
    field_weights: dict[str, float] = field(default_factory=_default_weights)
    attachments: list[str] = field(default_factory=lambda: list(DEFAULT_ATTACHMENTS))
    semantic: str = "auto"
    cache_dir: str = ".pmkb-cache"
    audience: str = "internal"
    default_visibility: str = "internal"
    problems_file: str = "problems.yml"
    synonyms: list[list[str]] = field(default_factory=list)
    builtin_synonyms: bool = True
    vocabulary: dict[str, list[str]] = field(default_factory=dict)
    today: str | None = None
    config_file: Path | None = None
    markdown_extensions: list = field(default_factory=list)
    """``mkdocs.yml``'s ``markdown_extensions`` (names, or one-key mappings of a name to its
    options), which the site renders pages with: ``validate`` renders a body with them where the
    site's Markdown renderer may read it differently from CommonMark
    (:mod:`generator.site_markdown`). Not an option of the plugin."""

    def problems_path(self) -> Path | None:
        """The problems file (names of recurring problems, :mod:`generator.problems`), absolute:
        ``problems_file`` relative to the folder of ``mkdocs.yml``; ``None`` when the settings
        do not come from a config file (then no names are read). Below the project's folder the
        path is kept as written (a committed ``problems.yml`` that is a link is reported as one,
        never read or written through); a ``problems_file`` outside the project is resolved."""
        import os

        from .confine import is_inside

        if self.config_file is None or not self.problems_file:
            return None
        base = self.config_file.parent.resolve()
        path = Path(os.path.normpath(base / self.problems_file))
        return path if is_inside(path, base) else path.resolve()

    def cache_path(self) -> Path:
        """The cache folder, absolute: ``$PMKB_CACHE_DIR`` when set (CI can keep one cache for
        every checkout), else ``cache_dir`` relative to the folder of ``mkdocs.yml`` (or to the
        working directory).

        Symbolic links are resolved only where the user put them: in ``$PMKB_CACHE_DIR``, in
        the project's folder itself and above it, in a ``cache_dir`` outside the project. Below
        the project's folder the path is kept as written (``..`` taken by its text), so that a
        committed link there (``.pmkb-cache`` -> elsewhere) is seen, and refused, by
        :class:`generator.cache.Cache` rather than followed."""
        import os

        from .confine import is_inside

        if os.environ.get("PMKB_CACHE_DIR"):
            return Path(os.environ["PMKB_CACHE_DIR"]).resolve()
        base = (self.config_file.parent if self.config_file is not None else Path.cwd()).resolve()
        path = Path(os.path.normpath(base / self.cache_dir))
        return path if is_inside(path, base) else path.resolve()

    def search_synonyms(self):
        """The site search's synonyms: the built-in groups (unless ``builtin_synonyms`` is
        false) and the ``synonyms`` option's (:func:`generator.synonyms.build`)."""
        from .synonyms import build

        return build(self.synonyms, self.builtin_synonyms)

    def declared_vocabulary(self) -> dict[str, list[str]]:
        """The ``vocabulary`` option by front-matter field: ``{"services": [...], "tags": [...],
        "trigger": [...]}`` for the keys it has (``triggers`` in the option is the field
        ``trigger``); a field it leaves out is checked against the corpus instead."""
        keys = {"services": "services", "tags": "tags", "triggers": "trigger"}
        return {keys[key]: list(values) for key, values in self.vocabulary.items()}

    def plugin_options(self) -> dict:
        """The options as they are written under ``plugins: - postmortems:``."""
        skip = {"docs_dir", "config_file", "markdown_extensions"}
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in skip}


DEFAULTS = Settings()
OPTION_NAMES = tuple(DEFAULTS.plugin_options())


class ConfigError(Exception):
    """``mkdocs.yml`` cannot be read or an option has the wrong type; the message says which."""


class _PermissiveLoader(yaml.SafeLoader):
    """Reads mkdocs.yml without executing ``!!python/name`` tags (they become None); ``!ENV``
    reads the environment as MkDocs does (:func:`_env_tag`)."""


def _env_tag(loader: yaml.SafeLoader, node: yaml.Node):
    """``!ENV NAME`` or ``!ENV [NAME, ..., default]``: the value of the first variable that is
    set (read as a YAML scalar: ``true`` is a boolean), else the default (``None`` without one);
    the semantics of MkDocs' ``pyyaml_env_tag``, which reads the same file for the build."""
    import os

    if isinstance(node, yaml.ScalarNode):
        names, default = [loader.construct_scalar(node)], None
    elif isinstance(node, yaml.SequenceNode) and node.value:
        items = [loader.construct_object(child, deep=True) for child in node.value]
        names, default = (items[:-1], items[-1]) if len(items) > 1 else (items, None)
    else:
        return None
    for name in names:
        if isinstance(name, str) and name in os.environ:
            return yaml.safe_load(os.environ[name]) if os.environ[name] else os.environ[name]
    return default


_PermissiveLoader.add_constructor("!ENV", _env_tag)
_PermissiveLoader.add_multi_constructor("", lambda loader, suffix, node: None)
_PermissiveLoader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)


def find_config(start: Path | None = None) -> Path | None:
    """``mkdocs.yml`` in ``start`` (default: the working directory), or ``None``."""
    candidate = (start or Path.cwd()) / CONFIG_FILE
    return candidate if candidate.is_file() else None


def load_settings(config_file: Path | None = None) -> Settings:
    """Read the options from ``config_file`` (default: ``./mkdocs.yml`` if present).

    Returns:
        :class:`Settings` with ``docs_dir`` made absolute against the config file's folder;
        defaults when there is no config file (``docs_dir`` = ``./postmortems``).

    Raises:
        ConfigError: the file is not YAML, or a ``postmortems`` option is unknown or mistyped.
    """
    config_file = config_file or find_config()
    if config_file is None:
        return Settings(docs_dir=Path.cwd() / "postmortems")
    raw = _read_config(config_file)
    options = plugin_options_from(raw.get("plugins"))
    settings = settings_from_options(options, source=str(config_file))
    settings.docs_dir = (config_file.parent / str(raw.get("docs_dir") or "docs")).resolve()
    settings.config_file = config_file.resolve()
    extensions = raw.get("markdown_extensions")
    settings.markdown_extensions = [entry for entry in extensions if isinstance(entry, (str, dict))] \
        if isinstance(extensions, list) else []
    cache = settings.cache_path()
    if cache == settings.docs_dir or settings.docs_dir in cache.parents:
        raise ConfigError(f"{config_file}: 'cache_dir' {settings.cache_dir!r} is inside the docs folder "
                          f"{settings.docs_dir}; the build never writes there: use a folder beside mkdocs.yml "
                          "such as .pmkb-cache")
    real = cache.resolve()
    if real == settings.docs_dir or settings.docs_dir in real.parents:
        from .confine import first_link

        raise ConfigError(f"{config_file}: 'cache_dir' {settings.cache_dir!r}: {first_link(cache) or cache} is a "
                          f"symbolic link into the docs folder {settings.docs_dir}; the cache does not follow "
                          "links (remove it)")
    return settings


def _read_config(config_file: Path) -> dict:
    """``config_file`` read as YAML (MkDocs' ``!ENV`` and other tags accepted), a mapping.

    Raises:
        ConfigError: the file cannot be read, is not YAML, or not a mapping.
    """
    try:
        raw = yaml.load(config_file.read_text(encoding="utf-8"), Loader=_PermissiveLoader) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{config_file}: cannot read: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_file}: expected a mapping of settings")
    return raw


def site_dir(config_file: Path) -> Path:
    """``config_file``'s ``site_dir`` (default ``site``) as MkDocs takes it: relative to the
    file's folder, made absolute and normalised, never resolved (a link stays a link).

    Raises:
        ConfigError: the file is not YAML, or not a mapping.
    """
    import os

    raw = _read_config(config_file)
    return Path(os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(config_file)),
                                              str(raw.get("site_dir") or "site"))))


def plugin_options_from(plugins) -> dict:
    """The ``postmortems`` entry of a ``plugins:`` value (list or mapping form), or ``{}``."""
    if isinstance(plugins, dict):
        return dict(plugins.get(PLUGIN_NAME) or {})
    for item in plugins or []:
        if isinstance(item, dict) and PLUGIN_NAME in item:
            return dict(item[PLUGIN_NAME] or {})
    return {}


def settings_from_options(options: dict, source: str = CONFIG_FILE) -> Settings:
    """Build :class:`Settings` from plugin options, checking names and types.

    Raises:
        ConfigError: naming the unknown or mistyped option and what it should be.
    """
    settings = Settings()
    for name, value in options.items():
        if name not in OPTION_NAMES:
            raise ConfigError(f"{source}: unknown option '{name}' for plugin '{PLUGIN_NAME}' "
                              f"(known: {', '.join(OPTION_NAMES)})")
        default = getattr(DEFAULTS, name)
        if name == "field_weights":
            if not isinstance(value, dict) or not all(isinstance(v, (int, float)) for v in value.values()):
                raise ConfigError(f"{source}: '{name}' must map field names to numbers")
            unknown = set(value) - set(default)
            if unknown:
                raise ConfigError(f"{source}: unknown field weight(s) {sorted(unknown)} "
                                  f"(known: {', '.join(default)})")
            value = {**default, **{k: float(v) for k, v in value.items()}}
        elif name == "semantic" and isinstance(value, bool):
            value = "on" if value else "off"  # YAML 1.1 reads an unquoted on/off as true/false
        elif name == "semantic" and value not in ("auto", "on", "off"):
            raise ConfigError(f"{source}: 'semantic' must be 'auto', 'on' or 'off', not {value!r}")
        elif name in ("audience", "default_visibility") and value not in ("public", "internal"):
            raise ConfigError(f"{source}: '{name}' must be 'public' or 'internal', not {value!r}")
        elif name == "broken_links" and value not in ("error", "warning"):
            raise ConfigError(f"{source}: 'broken_links' must be 'error' or 'warning', not {value!r}")
        elif name == "attachments":
            if not isinstance(value, list) or not all(isinstance(v, str) and re.fullmatch(r"\.[a-z0-9]+", v)
                                                       for v in value):
                raise ConfigError(f"{source}: 'attachments' must be a list of lowercase file extensions with "
                                  f"the dot, e.g. ['.png', '.log'], not {value!r}")
            value = list(value)
        elif name == "synonyms":
            if not isinstance(value, list) or not all(
                    isinstance(group, list) and all(isinstance(term, str) for term in group) for group in value):
                raise ConfigError(f"{source}: 'synonyms' must be a list of groups, each a list of terms that mean "
                                  "the same, e.g. [[leap second, extra second], [oom, out of memory]]")
            from .synonyms import Synonyms

            try:
                Synonyms(value)
            except ValueError as exc:
                raise ConfigError(f"{source}: 'synonyms': {exc}") from exc
            value = [list(group) for group in value]
        elif name == "vocabulary":
            from .vocabulary import KEBAB as kebab
            if not isinstance(value, dict) or set(value) - {"services", "tags", "triggers"} or not all(
                    isinstance(v, list) and all(isinstance(x, str) and kebab.fullmatch(x) for x in v)
                    for v in value.values()):
                raise ConfigError(f"{source}: 'vocabulary' must map services, tags and/or triggers to lists of "
                                  "kebab-case values, e.g. {services: [checkout-api, edge-proxy], triggers: "
                                  f"[config-change, certificate-expiry]}}, not {value!r}")
            value = {k: list(v) for k, v in value.items()}
        elif name == "today":
            value = _today_option(value, source)
        elif name == "phone_region":
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"{source}: 'phone_region' must be a two-letter country code or null")
        elif isinstance(default, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = float(value)
        elif type(value) is not type(default):
            raise ConfigError(f"{source}: '{name}' must be {type(default).__name__}, not {value!r}")
        _check_range(name, value, source)
        setattr(settings, name, value)
    return settings


def _today_option(value, source: str) -> str | None:
    """The ``today`` option as ``None``, ``"latest"`` or an ISO day (YAML may give a date)."""
    import datetime as dt

    if value is None or value == "latest":
        return value
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise ConfigError(f"{source}: 'today' must be a day (YYYY-MM-DD), 'latest' (the date of the latest incident) "
                      f"or null (the day of the build, UTC), not {value!r}")


# Allowed ranges of the numeric options: (low, high, what it means). Scores are cosine
# similarities of non-negative TF-IDF vectors, so they lie in [0, 1].
RANGES = {
    "top_k": (1, 100, "how many related post-mortems a page lists"),
    "min_score": (0.0, 1.0, "a cosine similarity"),
    "cluster_threshold": (0.0, 1.0, "a cosine similarity"),
    "max_file_size": (1, None, "a size in bytes"),
}


def _check_range(name: str, value, source: str) -> None:
    if name == "field_weights":
        negative = sorted(k for k, v in value.items() if v < 0)
        if negative:
            raise ConfigError(f"{source}: field weight(s) {negative} are negative; use 0 to ignore a field")
        if not any(v > 0 for v in value.values()):
            raise ConfigError(f"{source}: every field weight is 0; at least one field must count")
        return
    if name == "phone_region" and value is not None:
        import phonenumbers

        if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ConfigError(f"{source}: 'phone_region' {value!r} is not a region phonenumbers knows; "
                              "use a two-letter country code such as US, GB or DE, or null")
        return
    if name in RANGES:
        low, high, meaning = RANGES[name]
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise ConfigError(f"{source}: '{name}' is {value!r}, but it is {meaning} and must be {bounds}")
