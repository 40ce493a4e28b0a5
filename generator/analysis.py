"""One call that runs the analysis half of the pipeline: ``link (TF-IDF) -> cluster``.

The CLI, the MkDocs plugin, the reports and ``pmkb review`` all call :func:`analyse`, so every
consumer shows the same related links and clusters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Cluster, Postmortem, RelatedLink
from .settings import Settings


@dataclass
class Analysis:
    """Related links and recurrence clusters for a corpus.

    ``related`` maps every post-mortem id to its links (pinned first, then by descending score,
    ties by id); ``clusters`` are sorted by id; ``cluster_of`` maps a member id to its cluster
    id (post-mortems in no cluster are absent); ``warnings`` are messages for the user (for
    example "no shared vocabulary").
    """

    postmortems: list[Postmortem]
    related: dict[str, list[RelatedLink]] = field(default_factory=dict)
    clusters: list[Cluster] = field(default_factory=list)
    cluster_of: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def by_id(self) -> dict[str, Postmortem]:
        return {pm.id: pm for pm in self.postmortems}


def published(postmortems: list[Postmortem]) -> list[Postmortem]:
    """The post-mortems a built site shows: every one whose ``status`` is not ``draft``.

    ``mkdocs build`` leaves drafts out (``mkdocs serve`` shows them), so the CLI's related
    lists, clusters and reports use this set by default too, and the numbers agree with the site.
    """
    return [pm for pm in postmortems if pm.status != "draft"]


def analyse(postmortems: list[Postmortem], settings: Settings) -> Analysis:
    """Link and cluster ``postmortems`` with the options in ``settings``.

    Implemented in :mod:`generator.similarity` and :mod:`generator.clusters` (imported here,
    lazily, because scikit-learn takes about a second to import).
    """
    from .clusters import find_clusters
    from .similarity import SimilarityIndex

    index = SimilarityIndex.build(postmortems, settings)
    related = index.related_links()
    clusters = find_clusters(postmortems, index, settings)
    cluster_of = {member: c.id for c in clusters for member in c.members}
    return Analysis(postmortems=list(postmortems), related=related, clusters=clusters,
                    cluster_of=cluster_of, warnings=list(index.warnings))
