"""Who a built site is for: the public site leaves internal incidents out, everywhere.

One repository builds two sites (the Dispatch / AIID pattern of open and restricted
incidents): ``audience: internal`` shows every post-mortem, the internal ones marked;
``audience: public`` shows only the post-mortems whose visibility is ``public``. A post-mortem
says ``visibility: public | internal`` (format v2); one that does not, every format v1 file
among them, takes the ``default_visibility`` option, ``internal`` unless set: a public site
shows nothing nobody chose to publish.

The public site is built from the public post-mortems alone, as if the others did not exist:
related links, recurrence clusters, reports, charts, exports and search all come from that
set, so no page, list, link, count, chart point, export row or search entry can name an
internal incident, and no term of one weighs in the similarity. The engine adapters leave the
internal files out of the build, and the attachments that only internal post-mortems link to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath
from urllib.parse import unquote

from .model import VISIBILITIES, Postmortem

AUDIENCES = VISIBILITIES
"""``public`` and ``internal``: the values of the ``audience`` option."""


def visibility_of(pm: Postmortem, default_visibility: str) -> str:
    """``pm.visibility`` when the post-mortem says, else ``default_visibility``."""
    return pm.visibility if pm.visibility in VISIBILITIES else default_visibility


def for_audience(postmortems: Iterable[Postmortem], audience: str,
                 default_visibility: str) -> tuple[list[Postmortem], list[Postmortem]]:
    """Split ``postmortems`` into what a site for ``audience`` shows and what it withholds.

    Args:
        audience: ``internal`` (everything is shown) or ``public`` (only the post-mortems whose
            :func:`visibility_of` is ``public``).
        default_visibility: the visibility of a post-mortem that does not say.

    Returns:
        ``(shown, withheld)``, each in the given order.

    Raises:
        ValueError: ``audience`` or ``default_visibility`` is not ``public`` or ``internal``.
    """
    if audience not in AUDIENCES or default_visibility not in VISIBILITIES:
        raise ValueError(f"audience and default_visibility must be 'public' or 'internal', "
                         f"not {audience!r} and {default_visibility!r}")
    shown: list[Postmortem] = []
    withheld: list[Postmortem] = []
    for pm in postmortems:
        public = visibility_of(pm, default_visibility) == "public"
        (shown if audience == "internal" or public else withheld).append(pm)
    return shown, withheld


def internal_ids(postmortems: Iterable[Postmortem], default_visibility: str) -> frozenset[str]:
    """Ids of the post-mortems that are internal (to mark them on the internal site)."""
    return frozenset(pm.id for pm in postmortems if visibility_of(pm, default_visibility) == "internal")


def linked_files(pm: Postmortem) -> set[str]:
    """Docs-relative paths (forward slashes) of the files ``pm``'s body links or embeds with a
    relative link (absolute URLs, anchors and links leaving the folder are left out)."""
    from . import scan

    if "](" not in pm.body and "]:" not in pm.body:
        return set()
    lines = pm.body.split("\n")
    prose = scan.prose_lines(lines, scan.code_line_indexes(pm.body))
    folder = PurePosixPath(pm.path).parent
    out: set[str] = set()
    for link in scan.body_links(prose, pm.body_line):
        target = scan.link_destination(link.target)
        if scan.unsafe_scheme(target) or scan._SCHEME.match(target) or target.startswith(("/", "//", "#")):
            continue
        path = unquote(target.split("#", 1)[0].split("?", 1)[0])
        parts: list[str] = []
        for part in (folder / path).parts:
            if part == "..":
                if not parts:
                    break
                parts.pop()
            elif part not in (".", ""):
                parts.append(part)
        else:
            if parts:
                out.add("/".join(parts))
    return out


def withheld_attachments(withheld: Sequence[Postmortem], shown: Sequence[Postmortem]) -> set[str]:
    """Files of the docs folder (not post-mortems) that only withheld post-mortems link to:
    the public site leaves them out too (a diagram of an internal incident says as much as its
    page). A file a shown post-mortem links to as well stays."""
    if not withheld:
        return set()
    kept = set().union(*(linked_files(pm) for pm in shown)) if shown else set()
    pages = {pm.path for pm in withheld} | {pm.path for pm in shown}
    return {path for pm in withheld for path in linked_files(pm)} - kept - pages
