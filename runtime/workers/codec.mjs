// JSON-safe encoding of JS values crossing between Node and the workerd bridge/shim.
// Shared by Node and workerd, so it uses only web-platform APIs (no Buffer).
// Special leaves become {"$bv": tag, "v": ...}: undefined, bytes, Date, BigInt.

const CHUNK = 0x8000;
const TAG = "$bv";

export function bytesToBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK));
  }
  return btoa(binary);
}

export function base64ToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A plain Uint8Array view of any BufferSource, or null. */
export function asBytes(value) {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return null;
}

function isPyProxy(value) {
  return value !== null && (typeof value === "object" || typeof value === "function") &&
    typeof value.toJs === "function" && typeof value.destroy === "function";
}

/** Encode a value tree for JSON; refuses Python objects that were not converted to JS. */
export function encodeDeep(value, where = "value") {
  if (value === undefined) return { [TAG]: "u" };
  if (value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  if (typeof value === "bigint") return { [TAG]: "n", v: value.toString() };
  if (isPyProxy(value)) {
    throw new TypeError(
      `${where}: a Python object (${value.type}) reached a JS binding unconverted; ` +
        "call the binding through self.env.X (the SDK converts arguments) or convert with to_js()",
    );
  }
  const bytes = asBytes(value);
  if (bytes) return { [TAG]: "b", v: bytesToBase64(bytes) };
  if (value instanceof Date) return { [TAG]: "d", v: value.getTime() };
  if (typeof Headers !== "undefined" && value instanceof Headers) return Object.fromEntries(value.entries());
  if (Array.isArray(value)) return value.map((v, i) => encodeDeep(v, `${where}[${i}]`));
  if (typeof value === "function") throw new TypeError(`${where}: functions cannot cross to the binding`);
  const out = {};
  for (const [k, v] of Object.entries(value)) out[k] = encodeDeep(v, `${where}.${k}`);
  return out;
}

export function decodeDeep(value) {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(decodeDeep);
  if (typeof value[TAG] === "string") {
    switch (value[TAG]) {
      case "u": return undefined;
      case "b": return base64ToBytes(value.v);
      case "d": return new Date(value.v);
      case "n": return BigInt(value.v);
      default: throw new TypeError(`unknown encoded tag ${value[TAG]}`);
    }
  }
  const out = {};
  for (const [k, v] of Object.entries(value)) out[k] = decodeDeep(v);
  return out;
}

/** An Error as plain data, so the other side can re-raise it with the same name and message. */
export function encodeError(err) {
  const out = { name: err?.name ?? "Error", message: String(err?.message ?? err) };
  if (err?.cause !== undefined && err.cause !== err) out.cause = encodeError(err.cause);
  return out;
}

export function decodeError(data) {
  const err = new Error(data.message, data.cause ? { cause: decodeError(data.cause) } : undefined);
  err.name = data.name;
  return err;
}
