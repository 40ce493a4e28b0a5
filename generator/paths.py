"""Where the knowledge base puts its pages, and the anchors it adds to post-mortem pages.

The one place that names the site's paths: the renderer (:mod:`generator.render`) writes the
pages at these paths, the validator (:mod:`generator.validate`) checks links and reserved
names against them, and the engine adapters hand them over as they are. Nothing here imports
an engine, the renderer or the validator.

Paths are docs-relative source paths with forward slashes (``services/edge-proxy.md``); an
engine turns ``a/b.md`` into the URL ``a/b/`` (``use_directory_urls``) or ``a/b.html``, and
``a/index.md`` into ``a/``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

HOME = "index.md"
"""The home page (search first, latest incidents, most active recurring problems)."""
INCIDENTS = "incidents/index.md"
"""The incident index (newest first, by year)."""
SERVICES = "services/index.md"
"""The services overview."""
CLUSTERS = "clusters/index.md"
"""The recurring-problems overview."""
TAGS = "tags/index.md"
"""The tag index."""
REPORTS = "reports/index.md"
"""The reports landing page."""
SEEN = "have-we-seen-this.md"
""""Have we seen this?": paste symptoms, get the nearest past incidents (:mod:`generator.seen`)."""

GENERATED_FOLDERS = ("incidents", "services", "clusters", "tags", "reports", "api")
"""Top-level folders whose pages the site generates (an authored page there may clash)."""

RELATED_ANCHOR = "related-incidents"
"""Id of the "Related incidents" heading that ends every published post-mortem page."""
ACTION_ITEMS_ANCHOR = "tracked-action-items"
"""Id of the "Tracked action items" heading (post-mortems with action items)."""
ANCHOR_SUFFIX = "-pmkb"
"""Appended to a generated anchor when a heading of the author already has that id."""


def service_page(service: str) -> str:
    """Docs-relative path of a service's page: ``services/<service>.md``."""
    return f"services/{service}.md"


def tag_page(tag: str) -> str:
    """Docs-relative path of a tag's listing page: ``tags/<tag>.md``."""
    return f"tags/{tag}.md"


OWN_PAGE_FROM = 2
"""A service or tag gets a page of its own from this many published incidents on; one used
by fewer is a row of its overview (:data:`SERVICES`, :data:`TAGS`) and nothing more. Every row
of an overview has an anchor (:func:`listing_anchor`), whether its value has a page or not, so a
link or bookmark to the row survives the value's gaining or losing its page. Most values name one incident (the shipped corpus: 255 of 290), and a
page that lists one incident repeats that incident's card: rows keep the site small and quick
to build without losing a link."""


def listing_anchor(kind: str, value: str) -> str:
    """Id of the row of ``value`` in its overview: ``listing_anchor("service", "edge-proxy")``
    is ``service-edge-proxy`` (``kind`` is ``service`` or ``tag``). Every row has one, that of a
    value with a page of its own as well."""
    return f"{kind}-{value}"


class Listings:
    """Which services and tags have a page of their own, and where a link to one goes.

    Args:
        counts: ``{(kind, value): published incidents}`` with ``kind`` ``service`` or ``tag``
            (:meth:`of` counts them); ``None``: every value has its own page (a page written
            without the corpus at hand, e.g. ``pmkb report``).
    """

    _OVERVIEW = {"service": SERVICES, "tag": TAGS}
    _PAGE = {"service": service_page, "tag": tag_page}

    def __init__(self, counts: "Counter[tuple[str, str]] | dict[tuple[str, str], int] | None" = None):
        self.counts = counts

    @classmethod
    def of(cls, postmortems: Iterable) -> "Listings":
        """The listings of the published ``postmortems`` (objects with ``services`` and ``tags``
        lists; a value listed twice in one post-mortem counts once)."""
        counts: Counter[tuple[str, str]] = Counter()
        for pm in postmortems:
            counts.update(("service", s) for s in dict.fromkeys(pm.services))
            counts.update(("tag", t) for t in dict.fromkeys(pm.tags))
        return cls(counts)

    def has_page(self, kind: str, value: str) -> bool:
        """Whether ``value`` gets its own page: used by :data:`OWN_PAGE_FROM` published
        incidents or more (always, without counts)."""
        return self.counts is None or self.counts.get((kind, value), 0) >= OWN_PAGE_FROM

    def link(self, kind: str, value: str) -> tuple[str, str]:
        """Where a link to ``value`` goes: ``(docs-relative page, fragment)``. Its own page and
        ``""``; else its row in the overview and :func:`listing_anchor`; the overview and ``""``
        when no published incident uses it (a draft's value).

        Raises:
            KeyError: ``kind`` is not ``service`` or ``tag``.
        """
        if self.has_page(kind, value):
            return self._PAGE[kind](value), ""
        if self.counts.get((kind, value), 0) == 0:
            return self._OVERVIEW[kind], ""
        return self._OVERVIEW[kind], listing_anchor(kind, value)


def cluster_page(cluster_id: str) -> str:
    """Docs-relative path of a recurrence cluster's page (ids are upper case, paths lower):
    ``C-PM-2024-017`` -> ``clusters/c-pm-2024-017.md``."""
    return f"clusters/{cluster_id.lower()}.md"


def year_page(year: int) -> str:
    """Docs-relative path of the incident index of one year (large corpora): ``incidents/2024.md``."""
    return f"incidents/{year}.md"


def part_page(first_page: str, part: int) -> str:
    """Path of part ``part`` (1-based) of a list split over several pages; part 1 is
    ``first_page`` itself: ``part_page("services/x.md", 2)`` is ``services/x/page-2.md`` and
    ``part_page("incidents/index.md", 3)`` is ``incidents/page-3.md``.

    Raises:
        ValueError: ``part`` is below 1 or ``first_page`` is not a ``.md`` path.
    """
    if part < 1 or not first_page.endswith(".md"):
        raise ValueError(f"no part {part} of {first_page!r}")
    if part == 1:
        return first_page
    stem = first_page[:-3]
    if stem.endswith("/index"):
        stem = stem[: -len("/index")]
    return f"{stem}/page-{part}.md"


def section_anchors(heading_ids: Iterable[str], has_action_items: bool) -> tuple[str | None, str]:
    """The ids of the two sections the site appends to a published post-mortem page.

    Args:
        heading_ids: the ids of the page's own headings (as the ``toc`` extension makes them).
        has_action_items: whether the front matter has action items (the site then lists
            them under "Tracked action items").

    Returns:
        ``(tracked action items id or None, related incidents id)``: each is
        :data:`ACTION_ITEMS_ANCHOR` / :data:`RELATED_ANCHOR`, with :data:`ANCHOR_SUFFIX`
        appended when one of ``heading_ids`` already is that id (the author's heading keeps it).
    """
    ids = set(heading_ids)

    def free(anchor: str) -> str:
        return anchor + ANCHOR_SUFFIX if anchor in ids else anchor

    return (free(ACTION_ITEMS_ANCHOR) if has_action_items else None), free(RELATED_ANCHOR)


def generated_anchors(heading_ids: Iterable[str], has_action_items: bool) -> frozenset[str]:
    """Every id the site adds to a published post-mortem page (:func:`section_anchors`), so
    that a link to ``#related-incidents`` or ``#tracked-action-items`` is a valid anchor."""
    return frozenset(anchor for anchor in section_anchors(heading_ids, has_action_items) if anchor)
