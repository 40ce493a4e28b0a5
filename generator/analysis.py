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


def analyse(postmortems: list[Postmortem], settings: Settings, cache=None, terms=None) -> Analysis:
    """Link and cluster ``postmortems`` with the options in ``settings``.

    Implemented in :mod:`generator.similarity` and :mod:`generator.clusters` (imported here,
    lazily, because scikit-learn takes about a second to import).

    Args:
        postmortems: the corpus.
        settings: the options.
        cache: a :class:`generator.cache.Cache` (the ``cache_dir`` folder) or ``None``. With
            one, an unchanged corpus is answered from the entries of an earlier run (no
            scikit-learn import, no tokenising), and a changed one tokenises only the
            post-mortems that changed (:mod:`generator.analysis_cache`).
        terms: a :class:`generator.analysis_cache.TermStore` to use (one kept across
            ``mkdocs serve`` rebuilds); default: one over ``cache``.

    Returns:
        The :class:`Analysis`; the same with or without a cache.
    """
    from . import analysis_cache as stored

    key = stored.corpus_key(postmortems, settings) if cache is not None else None
    index = build_index(postmortems, settings, cache, terms, key=key)
    links_key = stored.links_key(key, settings) if cache is not None else None
    found = stored.load_links(cache, links_key, index.postmortems) if cache is not None else None
    if found is not None:
        clusters = found["clusters"]
        return Analysis(postmortems=list(postmortems), related=found["related"], clusters=clusters,
                        cluster_of={member: c.id for c in clusters for member in c.members},
                        warnings=found["warnings"], notes=list(index.notes), semantic=index.semantic is not None,
                        index=index)
    from .clusters import find_clusters

    related = index.related_links()
    warnings = list(index.warnings)
    clusters = find_clusters(postmortems, index, settings, warnings=warnings)
    cluster_of = {member: c.id for c in clusters for member in c.members}
    analysis = Analysis(postmortems=list(postmortems), related=related, clusters=clusters,
                        cluster_of=cluster_of, warnings=warnings, notes=list(index.notes),
                        semantic=index.semantic is not None, index=index)
    if cache is not None:
        stored.save_links(cache, links_key, analysis)
    return analysis


def build_index(postmortems: list[Postmortem], settings: Settings, cache=None, terms=None, key: str | None = None):
    """A :class:`~generator.similarity.SimilarityIndex` with the sentence model of the
    ``[semantic]`` extra attached when ``settings.semantic`` allows it and it is installed.

    ``semantic: auto`` (default) uses the extra when installed and otherwise adds, once per
    process, a note to ``index.notes`` that it would improve links; ``on`` without the extra
    is a warning; ``off`` never loads it. Embeddings are cached in ``settings.cache_path()``.

    With ``cache`` (a :class:`generator.cache.Cache`), the index of an unchanged corpus is
    restored from it (NumPy and SciPy only) and a new one is stored there; ``terms`` and
    ``key`` as for :func:`analyse` (``key``: :func:`generator.analysis_cache.corpus_key`,
    computed when not given).
    """
    from . import analysis_cache as stored

    if cache is not None:
        key = key or stored.corpus_key(postmortems, settings)
        index = stored.load_index(cache, key, postmortems, settings)
        if index is not None:
            if index._vectors is not None:  # (a query file is embedded through the cache too)
                from .cache import Cache

                index.semantic_cache = Cache(settings.cache_path())
            if _would_note(index, settings):  # the once-per-process note is not stored
                from . import semantic

                index.notes = index.notes + semantic.note_once()
            return index
        terms = terms if terms is not None else stored.TermStore(cache)
    index = _build_index(postmortems, settings, terms)
    if terms is not None:
        terms.save()
    if cache is not None:
        from .semantic import EXTRA_HINT

        said = index.notes
        index.notes = [n for n in said if n != EXTRA_HINT]
        stored.save_index(cache, key, index)
        index.notes = said
        _save_text_query(cache, key, index)
    return index


def _save_text_query(cache, key: str, index) -> None:
    from . import analysis_cache as stored
    from .text_query import TextQuery

    stored.save_text_query(cache, key, TextQuery.from_index(index))


def text_query(postmortems: list[Postmortem], settings: Settings, cache):
    """What a free-text query needs (:class:`generator.text_query.TextQuery`), from the cache
    folder when the corpus is unchanged (no SciPy, no scikit-learn), else from
    :func:`build_index` (then stored, with the index).

    ``cache``: a :class:`generator.cache.Cache`. ``notes`` and ``warnings`` are the index's
    (the once-per-process note of :func:`build_index` included).
    """
    from . import analysis_cache as stored

    key = stored.corpus_key(postmortems, settings)
    query = stored.load_text_query(cache, key, postmortems, settings)
    if query is not None:
        if _would_note(query, settings):
            from . import semantic

            query.notes = query.notes + semantic.note_once()
        return query
    from .text_query import TextQuery

    index = build_index(postmortems, settings, cache, key=key)
    query = TextQuery.from_index(index)
    stored.save_text_query(cache, key, query)  # (the index may have come from the cache without it)
    return query


def _would_note(index, settings: Settings) -> bool:
    """Would :func:`_build_index` say that the ``[semantic]`` extra would improve links?"""
    if settings.semantic != "auto" or len(index.ids) < 2 or not index.vocabulary:
        return False
    from . import semantic

    return not semantic.available()


def _build_index(postmortems: list[Postmortem], settings: Settings, terms=None):
    from .similarity import SimilarityIndex

    index = SimilarityIndex.build(postmortems, settings, terms=terms)
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
