"""Toy Worker for the runtime smoke test: one route per platform feature."""

import asyncio
import json
import time
from urllib.parse import parse_qs, urlparse

import js
from workers import Response, WorkerEntrypoint, fetch

from services.events import read_all, record


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        url = urlparse(request.url)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        handler = getattr(self, "route_" + url.path.strip("/").replace("-", "_"), None)
        if handler is None:
            return Response.json({"error": "not found"}, status=404)
        return await handler(request, query)

    async def route_hello(self, request, query):
        return Response.json({"hello": "world", "base_url": self.env.FLIGHTDECK_BASE_URL, "cf": request.cf is not None})

    async def route_method(self, request, query):
        return Response.json({"method": str(request.method)})

    async def route_events(self, request, query):
        return Response.json(await read_all(self.env))

    async def route_d1(self, request, query):
        db = self.env.DB
        await db.prepare("CREATE TABLE IF NOT EXISTS smoke_kv (k TEXT PRIMARY KEY, v TEXT, n INTEGER, b BLOB)").run()
        run = await db.prepare("INSERT OR REPLACE INTO smoke_kv (k, v, n, b) VALUES (?, ?, ?, ?)").bind(
            "a", None, 5, b"\x00\x01").run()
        rows = await db.prepare("SELECT k, v, n, b FROM smoke_kv WHERE k = ?").bind("a").all()
        first = await db.prepare("SELECT k, v, n FROM smoke_kv WHERE k = ?").bind("a").first()
        first_n = await db.prepare("SELECT n FROM smoke_kv WHERE k = ?").bind("a").first("n")
        missing = await db.prepare("SELECT * FROM smoke_kv WHERE k = ?").bind("zz").first()
        batch = await db.batch([
            db.prepare("INSERT OR REPLACE INTO smoke_kv (k, v, n) VALUES (?, ?, ?)").bind("b", "x", 1),
            db.prepare("SELECT count(*) AS c FROM smoke_kv"),
        ])
        raw = await db.prepare("SELECT k, n FROM smoke_kv ORDER BY k").raw()
        errors = {}
        try:
            await db.prepare("SELECT * FROM no_such_table").all()
        except Exception as exc:
            errors["missing_table"] = str(exc)
        try:
            await db._binding.prepare("SELECT ?").bind(None).all()
        except Exception as exc:
            errors["raw_none"] = str(exc)
        return Response.json({
            "changes": run.meta.changes,
            "rows": rows.results,
            "first": first,
            "first_n": first_n,
            "missing": missing,
            "batch": [len(batch), batch[1].results[0]["c"]],
            "raw": raw,
            "errors": errors,
        })

    async def route_ratelimit(self, request, query):
        limiter = self.env.RATE_LIMIT_TOKEN
        key = query.get("key", "smoke")
        outcomes = [(await limiter.limit({"key": key})).success for _ in range(3)]
        other = (await limiter.limit({"key": key + "-other"})).success
        errors = {}
        try:
            await limiter.limit({"key": key, "bogus": 1})
        except Exception as exc:
            errors["bad_option"] = str(exc)
        return Response.json({"wrapper": type(limiter).__name__, "outcomes": outcomes, "other": other,
                              "errors": errors})

    async def route_r2(self, request, query):
        bucket = self.env.TIMESERIES_CACHE
        data = bytes(range(256)) * 4
        put = await bucket.put("smoke/a", data, {
            "customMetadata": {"codec": "zlib"},
            "httpMetadata": {"contentType": "application/octet-stream"},
        })
        obj = await bucket.get("smoke/a")
        body = bytes(await obj.arrayBuffer())
        head = await bucket.head("smoke/a")
        listing = await bucket.list({"prefix": "smoke/", "include": ["customMetadata", "httpMetadata"]})
        item = listing.objects[0]
        missing = await bucket.get("smoke/none")
        await bucket.delete(["smoke/a"])
        gone = await bucket.head("smoke/a")
        return Response.json({
            "put_size": put.size,
            "same_bytes": body == data,
            "custom": dict(obj.customMetadata),
            "http": dict(obj.httpMetadata),
            "uploaded_year": obj.uploaded.year,
            "head_size": head.size,
            "list": [item.key, item.size, item.customMetadata.to_py(), listing.truncated],
            "missing": missing,
            "gone": gone,
        })

    async def route_send(self, request, query):
        kind = query.get("kind", "ok")
        count = int(query.get("n", "1"))
        queue = self.env.JOBS_QUEUE_HIGH if query.get("queue") == "high" else self.env.JOBS_QUEUE
        await queue.send(json.dumps({"kind": kind, "i": 0}))
        if count > 1:
            await queue.sendBatch([{"body": json.dumps({"kind": kind, "i": i})} for i in range(1, count)])
        return Response.json({"sent": count})

    async def route_wait(self, request, query):
        async def later():
            await asyncio.sleep(0.2)
            await record(self.env, "waited", {"at": time.time()})

        async def fails():
            raise ValueError("background failure for the smoke test")

        self.ctx.waitUntil(later())
        self.ctx.waitUntil(fails())
        return Response.json({"scheduled": 2})

    async def route_stream(self, request, query):
        stream = js.TransformStream.new()
        writer = stream.writable.getWriter()
        encoder = js.TextEncoder.new()

        async def produce():
            try:
                for i in range(int(query.get("n", "5"))):
                    await writer.write(encoder.encode(json.dumps({"i": i}) + "\n"))
                    await asyncio.sleep(0.1)
            finally:
                await writer.close()

        self.ctx.waitUntil(produce())
        return Response(stream.readable, headers={"content-type": "application/x-ndjson"})

    async def route_outgoing(self, request, query):
        via_sdk = await fetch(query["url"])
        via_js = await js.fetch(query["url"])
        return Response.json({"status": via_sdk.status, "sdk": await via_sdk.text(), "js": await via_js.text()})

    async def route_fanout(self, request, query):
        done = 0
        try:
            for _ in range(int(query["n"])):
                await (await fetch(query["url"])).text()
                done += 1
        except Exception as exc:
            return Response.json({"done": done, "error": str(exc)})
        return Response.json({"done": done, "error": None})

    async def route_limits(self, request, query):
        async def error_of(awaitable):
            try:
                await awaitable
            except Exception as exc:
                return str(exc)
            return None

        db = self.env.DB
        queue = self.env.JOBS_QUEUE
        many = ", ".join("?" * 101)
        return Response.json({
            "params_101": await error_of(db.prepare(f"SELECT {many}").bind(*range(101)).all()),
            "params_100": await error_of(db.prepare(f"SELECT {many[:-3]}").bind(*range(100)).all()),
            "statement_100k": await error_of(db.prepare("SELECT 1 -- " + "x" * 100_000).all()),
            "row_2mb": await error_of(db.prepare("SELECT length(?)").bind("x" * 2_000_001).all()),
            "message_128k": await error_of(queue.send("x" * 128_001)),
            "batch_101": await error_of(queue.sendBatch([{"body": "x"}] * 101)),
            "batch_260k": await error_of(queue.sendBatch([{"body": "x" * 127_000}] * 2 + [{"body": "x" * 6_000}])),
        })

    async def route_echo(self, request, query):
        body = await request.bytes()
        return Response(body, headers={"x-method": str(request.method), "x-length": str(len(body))})

    async def route_raise(self, request, query):
        raise RuntimeError("deliberate failure for the smoke test")

    async def queue(self, batch, env, ctx):
        for message in batch.messages:
            body = json.loads(message.body)
            await record(self.env, "queue", {"queue": batch.queue, "id": message.id,
                                             "attempts": message.attempts, "body": body, "at": time.time()})
            if batch.queue.endswith("-dlq"):
                message.ack()
            elif body["kind"] == "raise":
                raise RuntimeError("queue handler failure for the smoke test")
            elif body["kind"] == "fail":
                message.retry(delaySeconds=1)
            else:
                message.ack()

    async def scheduled(self, controller, env, ctx):
        await record(self.env, "scheduled", {"cron": controller.cron, "time": controller.scheduledTime})
