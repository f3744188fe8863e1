"""Smoke worker helpers: an events table in D1 that the smoke test reads back."""

import json

CREATE = "CREATE TABLE IF NOT EXISTS smoke_events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, data TEXT)"


async def record(env, kind, data):
    await env.DB.prepare(CREATE).run()
    await env.DB.prepare("INSERT INTO smoke_events (kind, data) VALUES (?, ?)").bind(kind, json.dumps(data)).run()


async def read_all(env):
    await env.DB.prepare(CREATE).run()
    result = await env.DB.prepare("SELECT kind, data FROM smoke_events ORDER BY id").all()
    return [{"kind": row["kind"], "data": json.loads(row["data"])} for row in result.results]
