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
    example "no shared vocabulary"); ``index`` is the
    :class:`~generator.similarity.SimilarityIndex` the links came from (for pair scores, e.g.
    :func:`generator.duplicates.find_same_incidents`).
    """

    postmortems: list[Postmortem]
    related: dict[str, list[RelatedLink]] = field(default_factory=dict)
    clusters: list[Cluster] = field(default_factory=list)
    cluster_of: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    semantic: bool = False
    index: object | None = field(default=None, repr=False, compare=False)

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

    index = build_index(postmortems, settings)
    related = index.related_links()
    warnings = list(index.warnings)
    clusters = find_clusters(postmortems, index, settings, warnings=warnings)
    cluster_of = {member: c.id for c in clusters for member in c.members}
    return Analysis(postmortems=list(postmortems), related=related, clusters=clusters,
                    cluster_of=cluster_of, warnings=warnings, notes=list(index.notes),
                    semantic=index.semantic is not None, index=index)


def build_index(postmortems: list[Postmortem], settings: Settings):
    """A :class:`~generator.similarity.SimilarityIndex` with the sentence model of the
    ``[semantic]`` extra attached when ``settings.semantic`` allows it and it is installed.

    ``semantic: auto`` (default) uses the extra when installed and otherwise adds, once per
    process, a note to ``index.notes`` that it would improve links; ``on`` without the extra
    is a warning; ``off`` never loads it. Embeddings are cached in ``settings.cache_path()``.
    """
    from .similarity import SimilarityIndex

    index = SimilarityIndex.build(postmortems, settings)
    if settings.semantic == "off" or len(index.ids) < 2 or not index.vocabulary:
        return index
    from . import semantic

    if not semantic.available():
        if settings.semantic == "on":
            index.warnings.append("semantic: on, but the [semantic] extra is not installed; "
                                  "links use TF-IDF only (pip install 'postmortem-kb[semantic]')")
        else:
            index.notes.extend(semantic.note_once())
        return index
    from .cache import Cache

    cache = Cache(settings.cache_path())
    index.semantic_cache = cache
    try:
        vectors, _ = semantic.embed_postmortems(index.postmortems, cache)
    except semantic.ModelError as exc:
        index.warnings.append(f"semantic links are off: {exc}")
        return index
    index.attach_semantic(vectors)
    return index
