"""The route table gives the transitions a live Dijkstra would, and fits its entry budget."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.sparse import csgraph

from geodata.matching import index, route_table, transitions
from geodata.matching.matcher import DEFAULT_PARAMS


@pytest.fixture(scope="module")
def match_index(shenzhen) -> index.MatchIndex:
    return index.match_index(shenzhen)


@pytest.fixture(scope="module")
def without_table(match_index) -> route_table.RouteTable:
    return route_table.empty_route_table(len(match_index.graph.indptr) - 1)


def test_shenzhen_gets_the_longest_bound(match_index) -> None:
    table = match_index.routes
    assert table.bound_m == route_table.BOUNDS_M[0]
    assert len(table.target) <= route_table.MAX_ENTRIES
    rows = np.diff(table.indptr)
    assert rows.min() >= 1  # every node reaches itself
    for s in (0, 17, len(rows) - 1):
        targets = table.target[table.indptr[s] : table.indptr[s + 1]]
        assert np.all(np.diff(targets) > 0)


def test_rows_hold_the_shortest_lengths_within_the_bound(shenzhen, match_index) -> None:
    """Against scipy's Dijkstra (parallel edges: the shortest one counts)."""
    graph, table = match_index.graph, match_index.routes
    n = len(graph.indptr) - 1
    best: dict[tuple[int, int], float] = {}
    for e in range(len(graph.edge_u)):
        key = (int(graph.edge_u[e]), int(graph.edge_v[e]))
        best[key] = min(best.get(key, np.inf), float(graph.edge_length_m[e]))
    u, v = np.array(list(best)).T
    matrix = sparse.csr_matrix((list(best.values()), (u, v)), shape=(n, n))
    sources = np.random.default_rng(3).choice(n, 25, replace=False)
    dist = csgraph.dijkstra(matrix, indices=sources, limit=table.bound_m)
    for row, s in zip(dist, sources, strict=True):
        a, b = table.indptr[s], table.indptr[s + 1]
        expected = np.flatnonzero(np.isfinite(row))
        np.testing.assert_array_equal(table.target[a:b], expected)
        np.testing.assert_allclose(table.route["dist_m"][a:b], row[expected], rtol=1e-9)


def test_find_reports_absent_nodes(match_index) -> None:
    table = match_index.routes
    s = 5
    a, b = table.indptr[s], table.indptr[s + 1]
    present = set(table.target[a:b].tolist())
    absent = next(k for k in range(len(table.indptr) - 1) if k not in present)
    assert route_table.find(table, s, absent) == -1
    for slot in (a, b - 1):
        assert route_table.find(table, s, int(table.target[slot])) == slot


def test_a_small_budget_takes_a_shorter_bound_or_none(match_index) -> None:
    graph, ws = match_index.graph, match_index.workspace
    full = len(match_index.routes.target)
    shorter = route_table.build_route_table(graph, ws, max_entries=full // 3)
    assert shorter.bound_m < route_table.BOUNDS_M[0]
    assert 0 < len(shorter.target) <= full // 3
    none = route_table.build_route_table(graph, ws, max_entries=10)
    assert none.bound_m < 0
    assert len(none.target) == 0
    assert np.all(ws.dist_m == np.inf)  # the builds leave the workspace clean


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_prev=st.integers(1, 12),
    n_cur=st.integers(1, 12),
    limit_m=st.floats(20.0, 3_000.0),
)
def test_table_and_live_dijkstra_give_equal_transitions(
    match_index, without_table, seed, n_prev, n_cur, limit_m
) -> None:
    """Equal matrices, also past the bound (3 km: the live fallback) and for shared edges."""
    graph, ws = match_index.graph, match_index.workspace
    table = match_index.routes
    rng = np.random.default_rng(seed)
    source = graph.edge_u[rng.integers(len(graph.edge_u))]  # has an edge out
    nearby = table.target[table.indptr[source] : table.indptr[source + 1]]
    pool = np.flatnonzero(np.isin(graph.edge_u, nearby))
    pool = rng.choice(pool, min(len(pool), 40), replace=False)
    prev_e = rng.choice(pool, n_prev)
    cur_e = rng.choice(pool, n_cur)
    prev_o = rng.uniform(0, 1, n_prev) * graph.edge_length_m[prev_e]
    cur_o = rng.uniform(0, 1, n_cur) * graph.edge_length_m[cur_e]
    limits = DEFAULT_PARAMS.hmm().limits
    with_rows = transitions.route_distances(
        graph, ws, table, prev_e, prev_o, cur_e, cur_o, limit_m, limits
    )
    live = transitions.route_distances(
        graph, ws, without_table, prev_e, prev_o, cur_e, cur_o, limit_m, limits
    )
    for a, b in zip(with_rows, live, strict=True):
        np.testing.assert_array_equal(a, b)
    x, y = rng.uniform(0, limit_m / 3, (2, n_prev))
    t = np.cumsum(rng.uniform(1, 60, n_prev))
    is_break = np.zeros(n_prev, np.bool_)
    is_break[0] = True
    paths = [
        transitions.trace_paths(graph, ws, rows, prev_e, prev_o, x, y, t, is_break, limits)
        for rows in (table, without_table)
    ]
    for a, b in zip(*paths, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_route_exactly_at_the_limit_counts_in_both(match_index, without_table) -> None:
    """The budget's border: a route as long as the limit is kept, by lookup and by search."""
    graph, ws, table = match_index.graph, match_index.workspace, match_index.routes
    limits = DEFAULT_PARAMS.hmm().limits
    prev_e, prev_o = np.array([0]), graph.edge_length_m[:1]  # at the source node: no head
    s = graph.edge_v[0]
    far = next(
        slot
        for slot in range(table.indptr[s + 1] - 1, table.indptr[s], -1)
        if np.any(graph.edge_u == table.target[slot])
    )
    cur_e = np.flatnonzero(graph.edge_u == table.target[far])[:1]
    cur_o = np.array([0.0])
    exact = table.route["dist_m"][far]
    for rows in (table, without_table):
        route, _ = transitions.route_distances(
            graph, ws, rows, prev_e, prev_o, cur_e, cur_o, exact, limits
        )
        assert route[0, 0] == exact
        route, _ = transitions.route_distances(
            graph, ws, rows, prev_e, prev_o, cur_e, cur_o, np.nextafter(exact, 0), limits
        )
        assert route[0, 0] == np.inf
