// Five-field cron expressions (UTC, as Cron Triggers run) and a timer that fires them.
const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"] },
  { name: "day of week", min: 0, max: 7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] },
];
const MAX_TIMER_MS = 2 ** 31 - 1;
const MINUTE_MS = 60_000;
const SEARCH_LIMIT_MINUTES = 366 * 24 * 60 * 5;

function parseValue(text, field) {
  const upper = text.toUpperCase();
  const named = field.names?.indexOf(upper) ?? -1;
  if (named >= 0) return named + (field.name === "month" ? 1 : 0);
  const n = Number(text);
  if (!Number.isInteger(n) || n < field.min || n > field.max) throw new Error(`bad ${field.name} value ${JSON.stringify(text)}`);
  return n;
}

function parseField(text, field) {
  const values = new Set();
  for (const part of text.split(",")) {
    const [range, stepText] = part.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`bad step in ${JSON.stringify(part)}`);
    let lo, hi;
    if (range === "*") [lo, hi] = [field.min, field.max];
    else if (range.includes("-")) [lo, hi] = range.split("-").map((v) => parseValue(v, field));
    else [lo, hi] = [parseValue(range, field), stepText === undefined ? parseValue(range, field) : field.max];
    for (let v = lo; v <= hi; v += step) values.add(field.name === "day of week" && v === 7 ? 0 : v);
  }
  return { values, any: text === "*" };
}

/** Parse "m h dom mon dow"; throws with the offending field on error. */
export function parseCron(expr) {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`cron ${JSON.stringify(expr)}: expected 5 fields`);
  try {
    const [minute, hour, dom, month, dow] = parts.map((p, i) => parseField(p, FIELDS[i]));
    return { expr, minute, hour, dom, month, dow };
  } catch (err) {
    throw new Error(`cron ${JSON.stringify(expr)}: ${err.message}`);
  }
}

function matches(cron, d) {
  if (!cron.minute.values.has(d.getUTCMinutes()) || !cron.hour.values.has(d.getUTCHours())) return false;
  if (!cron.month.values.has(d.getUTCMonth() + 1)) return false;
  const domOk = cron.dom.values.has(d.getUTCDate());
  const dowOk = cron.dow.values.has(d.getUTCDay());
  // Classic cron: when both day fields are restricted, either may match.
  if (!cron.dom.any && !cron.dow.any) return domOk || dowOk;
  return domOk && dowOk;
}

/** The first whole minute strictly after `afterMs` that the cron matches. */
export function nextFireTime(cron, afterMs) {
  let t = Math.floor(afterMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  for (let i = 0; i < SEARCH_LIMIT_MINUTES; i++, t += MINUTE_MS) {
    if (matches(cron, new Date(t))) return t;
  }
  throw new Error(`cron ${JSON.stringify(cron.expr)} never fires`);
}

/** Calls fire(cron, scheduledTimeMs) at each matching minute until stop() is called. */
export function scheduleCrons(expressions, fire) {
  const timers = new Map();
  let stopped = false;
  const arm = (cron, after) => {
    const at = nextFireTime(cron, after);
    const tick = () => {
      if (stopped) return;
      const wait = at - Date.now();
      if (wait > 0) {
        timers.set(cron.expr, setTimeout(tick, Math.min(wait, MAX_TIMER_MS)));
        return;
      }
      fire(cron.expr, at);
      arm(cron, at);
    };
    tick();
  };
  for (const cron of expressions.map(parseCron)) arm(cron, Date.now());
  return {
    stop() {
      stopped = true;
      for (const timer of timers.values()) clearTimeout(timer);
    },
  };
}
