// The runtime's public socket when the Worker has enable_request_signal: workerd run locally does not
// notice a client that disconnects while it waits (workerd issue 4185, pull 5062), while production
// aborts request.signal then. This front passes every request on to Miniflare's socket unchanged and
// remembers its client connection; a client that goes before its response is complete aborts the
// signal that the Node side hands the Worker as request.signal (see signalFor).
import http from "node:http";
import { randomUUID } from "node:crypto";

// The loopback header that names the client connection; mf- headers never reach the Worker.
const CLIENT_HEADER = "mf-bv-client";
// Larger than Node's 16 KB, so that the Node server behind the shim, not this front, refuses long heads.
const FRONT_MAX_HEADER_BYTES = 256 * 1024;

export class Front {
  #clients = new Map();

  /** Listen on host:port, passing requests to `target` (Miniflare's URL); resolves with the port. */
  listen(host, port, target) {
    this.server = http.createServer({ maxHeaderSize: FRONT_MAX_HEADER_BYTES }, (req, res) => this.#pass(req, res, target));
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => resolve(this.server.address().port));
    });
  }

  /** The abort signal of the client connection named in a loopback request, if any. */
  signalFor(headers) {
    return this.#clients.get(headers[CLIENT_HEADER])?.signal;
  }

  close() {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  #pass(req, res, target) {
    const id = randomUUID();
    const client = new AbortController();
    this.#clients.set(id, client);
    res.once("close", () => {
      this.#clients.delete(id);
      if (!res.writableFinished) client.abort(new Error("client disconnected"));
    });
    const upstream = http.request(target, {
      method: req.method,
      path: req.url,
      headers: { ...req.headers, [CLIENT_HEADER]: id },
      signal: client.signal,
    });
    upstream.on("response", (reply) => {
      res.writeHead(reply.statusCode, reply.statusMessage, reply.rawHeaders);
      reply.pipe(res);
      reply.on("error", () => res.destroy());
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  }
}
