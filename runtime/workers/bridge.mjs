// Binding bridge: runs inside Miniflare (workerd) next to the real D1, R2, Queue and Rate Limiting bindings,
// and executes binding calls that the Node host sends as one HTTP request each.
// It has no route: only the Node host reaches it, through mf.getWorker().
import { decodeDeep, encodeDeep, encodeError } from "./codec.mjs";

const json = (data, status = 200) =>
  new Response(JSON.stringify(data), { status, headers: { "content-type": "application/json" } });

function binding(env, name, kind) {
  const b = env[name];
  if (!b) throw new TypeError(`no ${kind} binding named ${name}`);
  return b;
}

function statement(target, { sql, params }) {
  const stmt = target.prepare(sql);
  return params.length ? stmt.bind(...decodeDeep(params)) : stmt;
}

async function d1(env, req) {
  const { binding: name, op, stmts, arg, bookmark } = req;
  let target = binding(env, name, "D1");
  // Sessions are stateless here: a bookmark only selects where reads start.
  if (bookmark !== undefined && typeof target.withSession === "function") target = target.withSession(bookmark ?? undefined);
  switch (op) {
    case "all": return statement(target, stmts[0]).all();
    case "run": return statement(target, stmts[0]).run();
    case "first": return arg === undefined ? statement(target, stmts[0]).first() : statement(target, stmts[0]).first(arg);
    case "raw": return statement(target, stmts[0]).raw(arg);
    case "batch": return target.batch(stmts.map((s) => statement(target, s)));
    case "exec": return target.exec(arg);
    default: throw new TypeError(`unknown D1 operation ${op}`);
  }
}

function objectMeta(obj) {
  if (obj === null || obj === undefined) return null;
  const httpMetadata = { ...(obj.httpMetadata ?? {}) };
  return {
    key: obj.key,
    version: obj.version,
    size: obj.size,
    etag: obj.etag,
    httpEtag: obj.httpEtag,
    uploaded: obj.uploaded,
    httpMetadata,
    customMetadata: { ...(obj.customMetadata ?? {}) },
    range: obj.range,
    checksums: obj.checksums?.toJSON ? obj.checksums.toJSON() : obj.checksums,
    storageClass: obj.storageClass,
    ssecKeyMd5: obj.ssecKeyMd5,
  };
}

async function r2(env, op, args, request) {
  const bucket = binding(env, args.binding, "R2");
  const options = decodeDeep(args.options);
  switch (op) {
    case "put": {
      const body = args.isNull ? null : new Uint8Array(await request.arrayBuffer());
      return { meta: objectMeta(await bucket.put(args.key, body, options)) };
    }
    case "get": {
      const obj = await bucket.get(args.key, options);
      if (obj === null) return { meta: null };
      // An object without a body is what a failed onlyIf precondition returns.
      const hasBody = "body" in obj && obj.body !== undefined;
      return { meta: objectMeta(obj), hasBody, body: hasBody ? await obj.arrayBuffer() : null };
    }
    case "head": return { meta: objectMeta(await bucket.head(args.key)) };
    case "delete": await bucket.delete(decodeDeep(args.keys)); return { meta: null };
    case "list": {
      const res = await bucket.list(options);
      return { list: { ...res, objects: res.objects.map(objectMeta) } };
    }
    default: throw new TypeError(`unknown R2 operation ${op}`);
  }
}

async function queue(env, req) {
  const q = binding(env, req.binding, "Queue");
  const options = decodeDeep(req.options);
  if (req.op === "send") return q.send(decodeDeep(req.body), options);
  if (req.op === "sendBatch") return q.sendBatch(decodeDeep(req.messages), options);
  throw new TypeError(`unknown Queue operation ${req.op}`);
}

async function ratelimit(env, req) {
  return binding(env, req.binding, "Rate Limiting").limit(decodeDeep(req.options));
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    try {
      if (url.pathname === "/d1") return json({ ok: encodeDeep(await d1(env, await request.json())) });
      if (url.pathname === "/queue") return json({ ok: encodeDeep(await queue(env, await request.json())) });
      if (url.pathname === "/ratelimit") return json({ ok: encodeDeep(await ratelimit(env, await request.json())) });
      if (url.pathname.startsWith("/r2/")) {
        const args = JSON.parse(request.headers.get("x-bv-args"));
        const out = await r2(env, url.pathname.slice(4), args, request);
        if (!out.body) return json({ ok: encodeDeep(out) });
        // Object bytes travel raw; the (small) metadata rides in a header.
        const headers = { "x-bv-result": encodeURIComponent(JSON.stringify(encodeDeep({ ...out, body: null }))) };
        return new Response(out.body, { headers });
      }
      return json({ error: { name: "TypeError", message: `unknown bridge path ${url.pathname}` } }, 404);
    } catch (err) {
      return json({ error: encodeError(err) });
    }
  },
};
