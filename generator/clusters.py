"""Recurrence clusters: post-mortems that describe the same recurring problem.

Clustering is average-linkage agglomerative clustering (UPGMA, Sokal & Michener 1958) on the
cosine similarity of the TF-IDF vectors, stopped at ``cluster_threshold``: two groups merge
while the average similarity over all their pairs of post-mortems is at least the threshold
(cosine distance ``1 - threshold``). Average linkage is the usual choice for document
clustering with a threshold: single linkage chains unrelated incidents through one shared
word, complete linkage splits real recurrences whose write-ups differ (Manning et al.,
*Introduction to Information Retrieval*, ch. 17).

It runs without an N x N matrix, so it scales to tens of thousands of post-mortems:

1. The first pass works on the neighbour graph of
   :class:`~generator.similarity.SimilarityIndex` (each post-mortem's ``GRAPH_NEIGHBOURS``
   most similar others). A pair outside the graph is less similar than both members' last
   neighbour; it counts at half that bound (:data:`UNKNOWN_SHARE`). Pairs named in
   ``not_related:`` are no edge.
2. A graph of K neighbours cannot join two groups of near-duplicates larger than K, so the
   graph is rebuilt over the clusters found so far (their summed vectors: for L2-normalised
   vectors, the average of all pairwise cosines between A and B is
   ``sum(A) . sum(B) / (|A| |B|)``, exactly) and clustering continues, until a pass merges
   nothing.

Post-mortems that get no computed related link (one-offs, by the mutual nearest-neighbour
test of :mod:`generator.similarity`) join no cluster (:data:`ONE_OFFS_STAY_OUT`).

Ties are broken by the smallest ids, so the result does not depend on file order. A cluster is
a group of two or more post-mortems; the others recur nowhere.
"""

from __future__ import annotations

import heapq
import math

from .formats import compare_moments, days_between, incident_start
from .model import SEVERITIES, ActionItem, Cluster, Postmortem, Recurrence
from .settings import Settings
from .labels import LabelVocabulary, cluster_label, distinct_forms, is_generic
from .similarity import _NO_SPACE_RUN, readable_terms, stop_words

LABEL_TERMS = 3
"""Terms in a cluster's label."""

CLUSTER_TERMS = 5
"""Terms kept in :attr:`Cluster.terms`."""


UNKNOWN_SHARE = 0.5
"""A pair outside the neighbour graph is counted at this share of its upper bound (the
similarity of the last neighbour kept): halfway between 0 and the most it can be."""

ONE_OFFS_STAY_OUT = True
"""Post-mortems that fail the mutual nearest-neighbour test of the related links
(:meth:`~generator.similarity.SimilarityIndex.recurring`: they get no computed link) join no
cluster: a page that says "no similar incident" must not sit in a recurrence cluster."""

MAX_PASSES = 20
"""Upper bound on the graph rebuilds of :func:`group_rows` (in practice 2 to 4 are made)."""


def average_linkage(n: int, edges: dict[tuple[int, int], float], threshold: float,
                    sizes: list[int] | None = None, bound: list[float] | None = None) -> list[list[int]]:
    """Average-linkage agglomerative clustering on a sparse similarity graph.

    Args:
        n: number of nodes (0 .. n-1); a smaller node number wins ties.
        edges: ``{(i, j): average similarity}`` with ``i < j``: the pairs that are known.
        threshold: stop when the best average similarity between two clusters is below this
            (cosine similarity, 0..1; the cosine distance threshold is ``1 - threshold``).
        sizes: how many post-mortems each node stands for (default 1 each).
        bound: per node, an upper bound of its average similarity to any node it has no edge
            with (its last neighbour's score). An unknown pair counts as
            ``UNKNOWN_SHARE * sqrt(bound[i] * bound[j])``; ``None`` counts unknown pairs as 0,
            which is exact average linkage when the graph holds every non-zero pair.

    Returns:
        Groups of two or more nodes, each sorted, ordered by their first node. Only clusters
        joined by at least one edge are merged.

    The average between clusters A and B is ``(E_AB + Q_A * Q_B) / (|A| |B|)``: ``Q_A`` sums
    ``sqrt(UNKNOWN_SHARE * bound)`` over A's post-mortems and ``E_AB`` is what the known pairs
    add beyond that estimate. Both are sums, so a merge only adds them up (Lance-Williams
    update for average linkage) at the cost of the smaller cluster's degree. Queue entries
    are re-evaluated lazily when they reach the top: an average after a merge is a weighted
    mean of the two before, so an old entry bounds it from above.
    """
    sizes = list(sizes) if sizes is not None else [1] * n
    q = [sizes[i] * math.sqrt(UNKNOWN_SHARE * b) if b and b > 0 else 0.0
         for i, b in enumerate(bound or [0.0] * n)]
    parent = list(range(n))
    low = list(range(n))  # smallest node of each cluster (tie-breaks)
    excess: list[dict[int, list[float]]] = [{} for _ in range(n)]
    heap: list[tuple[float, int, int, int, int]] = []

    def average(a: int, b: int, e: float) -> float:
        return (e + q[a] * q[b]) / (sizes[a] * sizes[b])

    for (i, j), s in edges.items():
        if i == j:
            continue
        cell = [s * sizes[i] * sizes[j] - q[i] * q[j]]
        excess[i][j] = cell
        excess[j][i] = cell
        heapq.heappush(heap, (-average(i, j, cell[0]), i, j, i, j))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    while heap:
        neg, _, _, a, b = heapq.heappop(heap)
        if -neg < threshold:
            break
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        cell = excess[ra].get(rb)
        if cell is None:
            continue
        current = average(ra, rb, cell[0])
        if current != -neg:
            # Stale: one side has merged since. The merged average is a weighted mean of the
            # two old ones, so the stored value was an upper bound; re-queue the current one.
            if current >= threshold:
                heapq.heappush(heap, (-current, min(low[ra], low[rb]), max(low[ra], low[rb]), ra, rb))
            continue
        big, small = (ra, rb) if len(excess[ra]) >= len(excess[rb]) else (rb, ra)
        parent[small] = big
        low[big] = min(low[big], low[small])
        sizes[big] += sizes[small]
        q[big] += q[small]
        excess[big].pop(small, None)
        excess[small].pop(big, None)
        for c, theirs in excess[small].items():
            excess[c].pop(small, None)
            mine = excess[big].get(c)
            if mine is None:
                excess[big][c] = theirs
                excess[c][big] = theirs
            else:
                mine[0] += theirs[0]
        excess[small] = {}
    groups: dict[int, list[int]] = {}
    for x in range(n):
        groups.setdefault(find(x), []).append(x)
    return sorted((g for g in groups.values() if len(g) >= 2), key=lambda g: g[0])


def _graph(neighbours: list[list[tuple[int, float]]], k: int, skip: set[tuple[int, int]] = frozenset()
           ) -> tuple[dict[tuple[int, int], float], list[float]]:
    """Symmetric edges ``{(i, j): score}`` (i < j) and each node's bound (its k-th score, or 0
    when it has fewer than k neighbours, i.e. every other node with a score > 0 is listed)."""
    edges: dict[tuple[int, int], float] = {}
    for i, nbrs in enumerate(neighbours):
        for j, score in nbrs:
            key = (i, j) if i < j else (j, i)
            if key not in skip and score > edges.get(key, 0.0):
                edges[key] = score
    bound = [nbrs[-1][1] if len(nbrs) >= k else 0.0 for nbrs in neighbours]
    return edges, bound


def group_rows(index, threshold: float) -> list[list[int]]:
    """Rows of ``index.matrix`` that form recurrence clusters (average linkage >= threshold).

    The first pass clusters post-mortems on their neighbour graph (pairs named in
    ``not_related:`` are no edge; one-offs, see :data:`ONE_OFFS_STAY_OUT`, have no edge). A
    neighbour graph of K links per node cannot join two groups of near-duplicates larger than K,
    so the graph is then rebuilt over the clusters found so far and clustering continues on it,
    until a pass merges nothing. Between clusters the average cosine similarity is exact: for
    L2-normalised vectors the mean of all pairwise dot products between A and B equals
    ``sum(A) . sum(B) / (|A| |B|)``.

    Returns:
        Groups of two or more rows, each sorted, ordered by their first row.
    """
    import numpy as np
    from scipy import sparse

    from .similarity import top_neighbours

    n = len(index.ids)
    if n < 2 or not index.vocabulary:
        return []
    suppressed = set()
    for pm in index.postmortems:
        i = index.row(pm.id)
        for other in pm.not_related:
            j = index.row(other)
            if j is not None and j != i:
                suppressed.add((min(i, j), max(i, j)))
    k = index.graph_size()
    edges, bound = _graph(index.neighbours(), k, suppressed)
    if ONE_OFFS_STAY_OUT:
        alone = [not ok for ok in index.recurring()]
        edges = {(i, j): s for (i, j), s in edges.items() if not alone[i] and not alone[j]}
    groups = average_linkage(n, edges, threshold, None, bound)
    for _ in range(MAX_PASSES):
        if not groups:
            break
        label = np.arange(n)
        for g in groups:
            label[g] = g[0]
        firsts, node_of = np.unique(label, return_inverse=True)  # nodes ordered by first row
        members: list[list[int]] = [[] for _ in firsts]
        for row, node in enumerate(node_of.tolist()):
            members[node].append(row)
        sizes = np.bincount(node_of)
        indicator = sparse.csr_matrix((np.ones(n), (node_of, np.arange(n))), shape=(len(firsts), n))
        sums = (indicator @ index.matrix).tocsr()
        edges, bound = _graph(top_neighbours(sums, k, sizes), k)
        if ONE_OFFS_STAY_OUT:
            single = [sizes[a] == 1 and alone[members[a][0]] for a in range(len(firsts))]
            edges = {(a, b): s for (a, b), s in edges.items() if not single[a] and not single[b]}
        merged = average_linkage(len(firsts), edges, threshold, sizes.tolist(), bound)
        if not merged:
            break
        for node_group in merged:
            rows = sorted(r for node in node_group for r in members[node])
            label[rows] = rows[0]
        groups_map: dict[int, list[int]] = {}
        for row, first in enumerate(label.tolist()):
            groups_map.setdefault(first, []).append(row)
        groups = sorted((g for g in groups_map.values() if len(g) >= 2), key=lambda g: g[0])
    return groups


def _start(pm: Postmortem):
    """Sort key for "when did it start": ``started_at`` in UTC if known, else the date."""
    import datetime as dt

    if pm.started_at is not None:
        return pm.started_at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return dt.datetime.combine(pm.date, dt.time())


BOUNDARY_DAYS = 2
"""Calendar days either side of a member's start day within which two moments are compared
exactly (:func:`generator.formats.compare_moments`). A timestamp's instant lies strictly within
(its day - 1, its day + 2) in UTC days for any UTC offset (Python's offsets are under 24 h), so
two moments three or more calendar days apart are in the same order as instants and as days."""


def _day_number(moment) -> int:
    """The proleptic Gregorian ordinal of a moment's calendar day (a timestamp's in its own offset)."""
    import datetime as dt

    return (moment.date() if isinstance(moment, dt.datetime) else moment).toordinal()


def recurred_after_fix(members: list[Postmortem]) -> tuple[list[Recurrence], list[str]]:
    """Which members of a cluster came back after a fix, and for which it cannot be told.

    A member came back after a fix when it started after the ``done_at`` of a ``done`` action
    item of an earlier member (format v2). "After" compares instants when both are timestamps
    (``started_at`` and a ``done_at`` with time and offset); otherwise calendar days, each
    timestamp's day read in its own offset (:func:`generator.formats.compare_moments`), so a
    member that started on the day a date-only ``done_at`` names may or may not have come
    back. A ``done`` item without ``done_at`` (format v1) says the fix was made at some time
    after its own incident started, not when: a member that started on a later day may have
    come back after it, or before it was made.

    Time: O(n log n + w) for n members and their items, w the items whose start or ``done_at``
    lies within :data:`BOUNDARY_DAYS` of a member's start day (or within six days of the
    latest fix done before it), which are compared exactly: a sweep over the members by start
    day, the dated ``done`` items sorted by the later of their member's start day and their
    ``done_at`` day. Every item at least three days before a member's start on both counts is
    a fix before it without comparing; the fewest days are among the fixes done in the six
    days up to the latest one (a timestamp pair's whole days differ from their calendar days by
    -3..+2). Same results as comparing every pair of members.

    Args:
        members: post-mortems of one cluster, in any order.

    Returns:
        ``(recurrences, unknown)``, both in the cluster's member order (date, start, id):
        one :class:`~generator.model.Recurrence` per member that came back, naming the latest
        fix done before it started (the fewest days; ties: the later member, then the first
        item); and the ids of the other members that may have come back after a fix, the
        order of the two being unknown (never counted as came back).
    """
    from bisect import bisect_left, bisect_right

    ordered = sorted(members, key=lambda pm: (pm.date, _start(pm), pm.id))
    starts = {pm.id: incident_start(pm.started_at, pm.date) for pm in ordered}
    # Dated done items by the later of the two days that decide "before the member started";
    # undated ones (v1) by their member's start day.
    dated: list[tuple[int, int, int, int, Postmortem, ActionItem]] = []
    undated: list[tuple[int, int, Postmortem]] = []
    for rank, earlier in enumerate(ordered):
        start_day = _day_number(starts[earlier.id])
        for index, item in enumerate(earlier.action_items):
            if item.status != "done":
                continue
            if item.done_at is None:
                undated.append((start_day, rank, earlier))
            else:
                done_day = _day_number(item.done_at)
                dated.append((max(start_day, done_day), done_day, rank, index, earlier, item))
    dated.sort(key=lambda f: f[:4])
    undated.sort(key=lambda f: f[:2])
    dated_keys = [f[0] for f in dated]
    undated_keys = [f[0] for f in undated]

    by_done_day: dict[int, list[int]] = {}  # the fixes surely before the current member, by done day
    latest_done_day = None
    swept = 0
    results: dict[int, Recurrence] = {}
    unknown_at: set[int] = set()
    for position, member in sorted(enumerate(ordered), key=lambda p: _day_number(starts[p[1].id])):
        started = starts[member.id]
        day = _day_number(started)
        while swept < len(dated) and dated_keys[swept] <= day - BOUNDARY_DAYS - 1:
            done_day = dated[swept][1]
            by_done_day.setdefault(done_day, []).append(swept)
            latest_done_day = done_day if latest_done_day is None else max(latest_done_day, done_day)
            swept += 1
        fixes = swept  # both days >= 3 before: earlier, and done before it started
        best = None
        if swept:
            for done_day in range(latest_done_day - 5, latest_done_day + 1):
                for k in by_done_day.get(done_day, ()):
                    _, _, rank, index, earlier, item = dated[k]
                    key = (days_between(item.done_at, started), -rank, index)
                    if best is None or key < best[0]:
                        best = (key, earlier, item)
        maybe = False
        for k in range(swept, bisect_right(dated_keys, day + BOUNDARY_DAYS)):
            _, _, rank, index, earlier, item = dated[k]
            order = compare_moments(starts[earlier.id], started)
            if earlier is member or order == 1 or order == 0:
                continue  # not earlier: the same post-mortem, later, or the same instant
            done = compare_moments(item.done_at, started)
            if done == -1:
                fixes += 1
                key = (days_between(item.done_at, started), -rank, index)
                if best is None or key < best[0]:
                    best = (key, earlier, item)
            elif done is None:
                maybe = True
        if best is not None:
            (days, _, _), earlier, item = best
            results[position] = Recurrence(member=member.id, started=started, fixed_in=earlier.id, item=item.title,
                                           done_at=item.done_at, days=days, fixes_before=fixes)
            continue
        if not maybe:
            # A v1 fix of a member that surely started earlier: from 3 days before, on day order alone.
            maybe = bisect_right(undated_keys, day - BOUNDARY_DAYS - 1) > 0
        if not maybe:
            for k in range(bisect_left(undated_keys, day - BOUNDARY_DAYS),
                           bisect_right(undated_keys, day + BOUNDARY_DAYS)):
                earlier = undated[k][2]
                if earlier is not member and compare_moments(starts[earlier.id], started) == -1:
                    maybe = True
                    break
        if maybe:
            unknown_at.add(position)
    recurrences = [results[p] for p in range(len(ordered)) if p in results]
    unknown = [ordered[p].id for p in range(len(ordered)) if p in unknown_at]
    return recurrences, unknown


def cluster_terms(index, rows: list[int], limit: int = CLUSTER_TERMS) -> tuple[str, ...]:
    """Top terms of a group of rows: mean TF-IDF weight times the share of members using it.

    A term every member uses outranks a heavier term only one member uses, so the label
    describes what the incidents have in common.
    """
    import numpy as np

    if not index.vocabulary or not rows:
        return ()
    block = index.term_matrix()[rows]
    mean = np.asarray(block.mean(axis=0)).ravel()
    share = np.asarray((block > 0).sum(axis=0)).ravel() / len(rows)
    weight = np.round(mean * share, 9)
    candidates = np.flatnonzero(weight > 0)
    order = candidates[np.lexsort((candidates, -weight[candidates]))][:3 * limit]
    # A run is shown when one member wrote it (a label term need not be in every member).
    return readable_terms(distinct_forms(index.tokenizer.display(index.vocabulary[j]) for j in order), limit,
                          lambda: ["\n".join(index.text_of(r) for r in rows)])


def find_clusters(postmortems: list[Postmortem], index, settings: Settings, names=None,
                  warnings: list[str] | None = None) -> list[Cluster]:
    """Group post-mortems that describe the same recurring problem.

    Args:
        postmortems: the corpus (the same one ``index`` was built from; order does not matter).
        index: a built :class:`~generator.similarity.SimilarityIndex`.
        settings: ``cluster_threshold`` is the lowest average cosine similarity within a
            cluster (see :func:`average_linkage`).
        names: entries of the problems file (:class:`generator.problems.ProblemName`), or
            ``None``: then the file of ``settings`` is read (none without a config file).
        warnings: a list that gets the problems file's faults and the entries that match no
            cluster or lost a merge (:func:`generator.problems.assign`).

    Returns:
        Clusters of two or more post-mortems, sorted by id (the matching problems-file entry's
        id, else ``C-`` + the earliest member's id, see :mod:`generator.problems`); members in
        date order (ties by id); ``label`` the hand-given name or the generated label
        (:func:`generator.labels.cluster_label`; the top three terms when the members share no
        phrase); ``services`` sorted; ``severities`` counts per SEV level (worst first, only
        levels present); ``action_items`` every member's items as ``(member id, item)``.
    """
    from . import problems

    if names is None:
        names, faults = problems.load(settings.problems_path(), settings.problems_file, settings.max_file_size)
        if warnings is not None:
            warnings.extend(f"{p.location}: {p.message}; {p.fix}" for p in faults)
    by_id = {pm.id: pm for pm in index.postmortems}
    vocabulary = LabelVocabulary.from_index(index)
    stop = stop_words()
    found = []
    for rows in group_rows(index, settings.cluster_threshold):
        members = sorted((by_id[index.ids[r]] for r in rows), key=lambda pm: (pm.date, _start(pm), pm.id))
        found.append((rows, members))
    assigned, notes = problems.assign([[pm.id for pm in members] for _, members in found], names,
                                      settings.problems_file or problems.DEFAULT_FILE, set(index.ids))
    if warnings is not None:
        warnings.extend(notes)
    clusters = []
    for (rows, members), (cluster_id, entry) in zip(found, assigned):
        terms = cluster_terms(index, rows)
        if any(_NO_SPACE_RUN.search(t) for t in terms[:LABEL_TERMS]):
            # Scripts written without spaces have no word runs to take phrases from: their
            # label is the top terms, bigrams joined into the runs the members wrote.
            generated = ", ".join(terms[:LABEL_TERMS])
        else:
            generated = cluster_label(members, vocabulary, stop, index.names) or \
                ", ".join([t for t in terms if not is_generic(t)][:LABEL_TERMS])
        severities = {}
        for level in SEVERITIES:
            count = sum(pm.severity == level for pm in members)
            if count:
                severities[level] = count
        recurrences, unknown = recurred_after_fix(members)
        clusters.append(Cluster(
            id=cluster_id,
            label=(entry.name if entry is not None and entry.name else generated),
            members=[pm.id for pm in members],
            first=members[0].date,
            last=max(pm.date for pm in members),
            services=sorted({s for pm in members for s in pm.services}),
            severities=severities,
            terms=terms,
            action_items=[(pm.id, item) for pm in members for item in pm.action_items],
            recurred_after_fix=[r.member for r in recurrences],
            recurrences=recurrences,
            recurrence_unknown=unknown,
            name=entry.name if entry is not None else "",
            owner=entry.owner if entry is not None else "",
            note=entry.note if entry is not None else "",
            generated_label=generated,
        ))
    clusters.sort(key=lambda c: c.id)
    return clusters
