"""The polygon grid gives exactly the polygons covering each point, as a brute-force test does."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geodata import polygon_grid
from geodata.polygon_grid import PolygonGrid

coordinate = st.floats(-3_000.0, 3_000.0, allow_nan=False)


@st.composite
def polygons(draw: st.DrawFn) -> shapely.Geometry:
    """Boxes, triangles and buffered points from a few metres to several kilometres."""
    x, y = draw(coordinate), draw(coordinate)
    size = draw(st.floats(1.0, 6_000.0))
    shape = draw(st.sampled_from(["box", "triangle", "disc"]))
    if shape == "box":
        return shapely.box(x, y, x + size, y + draw(st.floats(1.0, 6_000.0)))
    if shape == "triangle":
        return shapely.Polygon([(x, y), (x + size, y), (x, y + size)])
    return shapely.Point(x, y).buffer(size / 2)


def brute_force(geometries: list[shapely.Geometry], x: np.ndarray, y: np.ndarray) -> set:
    """Every (point, polygon) pair where the polygon covers the point."""
    return {
        (p, g)
        for p in range(len(x))
        for g, geometry in enumerate(geometries)
        if shapely.intersects_xy(geometry, x[p], y[p])
    }


@settings(max_examples=60, deadline=None)
@given(
    geometries=st.lists(polygons(), min_size=0, max_size=12),
    points=st.lists(st.tuples(coordinate, coordinate), max_size=40),
    order_seed=st.integers(0, 2**16),
)
def test_query_equals_brute_force_sorted_by_point_then_order(geometries, points, order_seed):
    order = np.random.default_rng(order_seed).integers(0, 5, size=len(geometries))
    grid = PolygonGrid.build(np.array(geometries, dtype=object), order=order)
    x = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1] for p in points], dtype=float)
    point_pos, polygon_pos = grid.query(x, y)
    assert set(zip(point_pos.tolist(), polygon_pos.tolist(), strict=True)) == brute_force(
        geometries, x, y
    )
    keys = list(
        zip(point_pos.tolist(), order[polygon_pos].tolist(), polygon_pos.tolist(), strict=True)
    )
    assert keys == sorted(keys)  # by point, then order, each pair once
    assert len(set(keys)) == len(keys)


def test_points_on_borders_corners_and_outside_the_grid():
    square = shapely.box(0.0, 0.0, 100.0, 100.0)
    grid = PolygonGrid.build(np.array([square], dtype=object))
    x = np.array([0.0, 100.0, 50.0, 100.000001, -1e9, np.nan, 50.0])
    y = np.array([50.0, 100.0, 50.0, 50.0, 0.0, 50.0, np.inf])
    point_pos, polygon_pos = grid.query(x, y)
    assert point_pos.tolist() == [0, 1, 2]
    assert polygon_pos.tolist() == [0, 0, 0]


def test_huge_polygons_widen_the_cells_instead_of_filling_memory():
    province = shapely.box(0.0, 0.0, 400_000.0, 400_000.0)  # 400 km square
    grid = PolygonGrid.build(np.array([province, shapely.box(10.0, 10.0, 20.0, 20.0)]))
    assert len(grid.items) <= polygon_grid.MAX_CELLS_PER_POLYGON * 2
    assert grid.cell_m > polygon_grid.BASE_CELL_M
    point_pos, polygon_pos = grid.query(np.array([15.0, 399_999.0]), np.array([15.0, 5.0]))
    assert list(zip(point_pos.tolist(), polygon_pos.tolist(), strict=True)) == [
        (0, 0),
        (0, 1),
        (1, 0),
    ]


def test_no_polygons_cover_nothing():
    grid = PolygonGrid.build(np.array([], dtype=object))
    point_pos, polygon_pos = grid.query(np.array([1.0]), np.array([2.0]))
    assert point_pos.size == polygon_pos.size == 0


def test_pickled_grid_answers_the_same():
    import pickle

    disc = shapely.Point(0.0, 0.0).buffer(500.0)
    grid = PolygonGrid.build(np.array([disc], dtype=object))
    again = pickle.loads(pickle.dumps(grid))
    assert shapely.is_prepared(again.geometries).all()
    x, y = np.array([0.0, 499.0, 501.0]), np.zeros(3)
    assert [a.tolist() for a in again.query(x, y)] == [a.tolist() for a in grid.query(x, y)]
