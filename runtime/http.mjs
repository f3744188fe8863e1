// HTTP glue between Miniflare's Node service-binding loopback and the platform Request and
// Response objects Python sees. Mirrors Miniflare's own handling, except that a response body
// that fails mid-stream aborts the connection (as on the platform) instead of ending cleanly.
import { Readable } from "node:stream";
import { _transformsForContentEncodingAndContentType as contentEncoders } from "miniflare";

// Miniflare's loopback headers: the original URL and the request's cf object ride in these.
const ORIGINAL_URL = "mf-original-url";
const CF_BLOB = "mf-cf-blob";
// Methods workerd hands to a Worker but Node's Request refuses to construct: built as GET, then given
// their real method, so the Worker answers them itself (the service with a JSON 405).
const NODE_FORBIDDEN_METHODS = new Set(["TRACE", "TRACK", "CONNECT"]);
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "expect", "te", "trailer", "proxy-connection"]);

export function jsonResponse(data, status = 200) {
  return new Response(JSON.stringify(data), { status, headers: { "content-type": "application/json" } });
}

/**
 * The platform-shaped Request (global fetch classes, with `cf`) for a loopback request; `signal`
 * (the front's for its client, or none: never aborted) becomes its `request.signal`.
 */
export function platformRequest(req, signal = undefined) {
  const headers = new Headers();
  let url = req.url;
  let cf = null;
  for (const [name, value] of Object.entries(req.headers)) {
    if (name === ORIGINAL_URL) url = value;
    else if (name === CF_BLOB) cf = JSON.parse(value);
    else if (name.startsWith("mf-") || HOP_BY_HOP.has(name) || value === undefined) continue;
    else for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const forbidden = NODE_FORBIDDEN_METHODS.has(req.method);
  const hasBody = req.method !== "GET" && req.method !== "HEAD" && !forbidden;
  const request = new Request(new URL(url, "http://localhost"), {
    method: forbidden ? "GET" : req.method,
    headers,
    body: hasBody ? Readable.toWeb(req) : null,
    duplex: hasBody ? "half" : undefined,
    redirect: "manual",
    signal,
  });
  // As `request.cf` on the platform (Miniflare's placeholder IncomingRequestCfProperties).
  Object.defineProperty(request, "cf", { value: cf, enumerable: true });
  if (forbidden) Object.defineProperty(request, "method", { value: req.method, enumerable: true });
  return request;
}

function drained(out, res) {
  return new Promise((resolve) => {
    const done = () => {
      out.off("drain", done);
      res.off("close", done);
      resolve();
    };
    out.on("drain", done);
    res.on("close", done);
  });
}

/**
 * Write a Response to the loopback connection. Resolves with null when the body was sent
 * whole, or with the error that made it stop (the connection is then destroyed).
 */
export async function writeResponse(response, res) {
  const headers = {};
  for (const [name, value] of response.headers) {
    headers[name] = name === "set-cookie" ? response.headers.getSetCookie() : value;
  }
  // workerd compresses a body whose Content-Encoding asks for it; Miniflare does the same here.
  const encoders = contentEncoders(headers["content-encoding"], headers["content-type"]);
  if (encoders.length > 0) delete headers["content-length"];
  res.writeHead(response.status, response.statusText, headers);
  let out = res;
  for (let i = encoders.length - 1; i >= 0; i--) {
    encoders[i].pipe(out);
    out = encoders[i];
  }
  if (response.body) {
    const reader = response.body.getReader();
    let finished = false;
    // A client that goes away cancels the body with an Error: a Python writer then gets a
    // JsException (cancelling without a reason leaves Pyodide an `undefined` it cannot raise).
    const onClose = () => {
      if (!finished) reader.cancel(new Error("client disconnected")).catch(() => {});
    };
    res.on("close", onClose);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || res.destroyed) break;
        if (value?.length && !out.write(value)) await drained(out, res);
      }
    } catch (err) {
      res.destroy();
      return res.destroyed && err?.message === "client disconnected" ? null : err;
    } finally {
      finished = true;
      res.off("close", onClose);
    }
  }
  out.end();
  return null;
}
