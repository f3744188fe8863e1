// Entry shim: the Worker Miniflare routes to and delivers queue batches and cron events to.
// It forwards each event to the Node host (service bindings backed by Node functions), where
// the Python WorkerEntrypoint runs, and applies the host's ack/retry decisions to the real batch.
import { encodeDeep, decodeError } from "./codec.mjs";

// Service bindings provided by the Node host.
const FETCH = "__BV_FETCH"; // public HTTP requests, forwarded untouched
const EVENT = "__BV_EVENT"; // queue batches and scheduled events, as JSON

async function postEvent(env, kind, payload) {
  const res = await env[EVENT].fetch(`http://runtime/${kind}`, { method: "POST", body: JSON.stringify(payload) });
  return res.json();
}

// Refusals made by Node's HTTP parser behind the service binding (a request head over Node's 16 KB,
// a malformed request) come with an empty body; the Worker's API answers errors as JSON, so do these.
const NODE_REFUSALS = {
  400: ["bad_request", "The request could not be parsed"],
  431: ["header_fields_too_large", "The request's URL and headers exceed 16 KB (the local runtime's limit)"],
};

function jsonRefusal(response) {
  const refusal = NODE_REFUSALS[response.status];
  if (!refusal || response.headers.has("content-type")) return response;
  const [code, message] = refusal;
  return Response.json({ error: { code, message } }, { status: response.status });
}

async function runScheduled(env, cron, scheduledTime) {
  const out = await postEvent(env, "scheduled", { cron, scheduledTime });
  if (out.error) throw decodeError(out.error);
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    // `wrangler dev --test-scheduled` convention; Miniflare itself answers /cdn-cgi/handler/scheduled.
    if (url.pathname === "/__scheduled") {
      const time = url.searchParams.get("time");
      await runScheduled(env, url.searchParams.get("cron") ?? "", time ? Number(time) : Date.now());
      return new Response("Ran scheduled event");
    }
    if (request.headers.has("expect")) {
      // Forwarded to the Node host, Node's HTTP server would answer "Expect: 100-continue" with
      // an interim 100 that workerd then takes for the final response (a RangeError, then 500).
      const headers = new Headers(request.headers);
      headers.delete("expect");
      request = new Request(request, { headers });
    }
    return jsonRefusal(await env[FETCH].fetch(request));
  },

  async queue(batch, env) {
    const byId = new Map(batch.messages.map((m) => [m.id, m]));
    const messages = batch.messages.map((m) => ({
      id: m.id,
      timestamp: m.timestamp.getTime(),
      attempts: m.attempts,
      body: encodeDeep(m.body, "message.body"),
    }));
    const out = await postEvent(env, "queue", { queue: batch.queue, messages });
    // Replay the handler's calls, in order, on the real messages so Miniflare's own
    // retry counting, retry delays and dead-letter queue apply.
    for (const { id, name, options } of out.calls ?? []) {
      const target = id === null ? batch : byId.get(id);
      if (!target) continue;
      if (name === "ack" || name === "ackAll") target[name]();
      else target[name](options ?? undefined);
    }
    if (out.error) throw decodeError(out.error);
  },

  async scheduled(controller, env) {
    await runScheduled(env, controller.cron, controller.scheduledTime);
  },
};
