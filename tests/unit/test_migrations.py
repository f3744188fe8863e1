"""migrations/ (wrangler's D1 migrations) and schema.sql describe one schema."""

import sqlite3
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = sorted((ROOT / "migrations").glob("*.sql"))


def migrated() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    for migration in MIGRATIONS:
        conn.executescript(migration.read_text())
    return conn


def from_schema() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript((ROOT / "schema.sql").read_text())
    return conn


def shape(conn: sqlite3.Connection) -> dict[str, object]:
    """Tables and views by name with their columns (as a set: ADD COLUMN appends), indexes with theirs."""
    objects = conn.execute("SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall()
    out: dict[str, object] = {}
    for kind, name, table in objects:
        if kind in ("table", "view"):
            out[name] = (kind, frozenset(tuple(row[1:]) for row in conn.execute(f'PRAGMA table_xinfo("{name}")')))
        elif kind == "index":
            out[name] = (kind, table, tuple(row[2] for row in conn.execute(f'PRAGMA index_info("{name}")')))
    return out


def test_migrations_are_numbered_in_order_as_wrangler_names_them():
    numbers = [int(path.name.split("_")[0]) for path in MIGRATIONS]
    assert numbers == list(range(1, len(MIGRATIONS) + 1))
    assert all(len(path.name.split("_")[0]) == 4 for path in MIGRATIONS)


def test_migrations_build_the_schema_schema_sql_holds():
    assert shape(migrated()) == shape(from_schema())


def test_migrations_build_the_view_schema_sql_defines():
    views = "SELECT name, sql FROM sqlite_master WHERE type = 'view' ORDER BY name"
    normalize = lambda sql: " ".join(sql.replace("IF NOT EXISTS ", "").split())  # noqa: E731
    assert [(n, normalize(s)) for n, s in migrated().execute(views)] == [
        (n, normalize(s)) for n, s in from_schema().execute(views)
    ]


@pytest.mark.parametrize("route_type", ["query", "paginated"])
def test_migrated_request_analytics_takes_the_widened_route_types(route_type):
    conn = migrated()
    conn.execute("INSERT INTO request_analytics (request_id, method, path, route_type, status_code, duration_ms,"
                 " created_at) VALUES ('r', 'GET', '/api/query', ?, 200, 1, '2026-11-30T00:00:00.000Z')", (route_type,))
    assert conn.execute("SELECT route_type FROM request_analytics").fetchall() == [(route_type,)]


def test_upgrade_keeps_the_previous_release_rows():
    conn = sqlite3.connect(":memory:")
    conn.executescript(MIGRATIONS[0].read_text())
    conn.execute("INSERT INTO request_analytics (request_id, method, path, route_type, status_code, duration_ms,"
                 " created_at) VALUES ('old', 'GET', '/api/timeseries', 'cached', 200, 7, '2026-11-01T00:00:00.000Z')")
    for migration in MIGRATIONS[1:]:
        conn.executescript(migration.read_text())
    assert conn.execute("SELECT id, request_id, duration_ms FROM request_analytics").fetchall() == [(1, "old", 7)]
