// The operations page: health, stats with charts, the caller's jobs with live progress, and a query
// form that plots its answer. The token lives in sessionStorage and travels only as X-ACE-Token.
"use strict";

const TOKEN_KEY = "bv-token";
const STATS_EVERY_MS = 15_000;
const HEALTH_EVERY_MS = 60_000;
const JOBS_ACTIVE_EVERY_MS = 5_000; // the list, beside each active job's event stream
const JOBS_IDLE_EVERY_MS = 10_000;
const ACTIVE = new Set(["queued", "processing", "retrying"]);
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];
const HOUR_MS = 3_600_000;

const $ = (id) => document.getElementById(id);
const token = () => sessionStorage.getItem(TOKEN_KEY) || "";

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

/** One call to this Worker; the token goes in a header, never in the URL. */
async function api(path, { method = "GET", accept = [200] } = {}) {
  const headers = token() ? { "X-ACE-Token": token() } : {};
  const response = await fetch(path, { method, headers, cache: "no-store" });
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!accept.includes(response.status)) throw new ApiError(response.status, body);
  return { status: response.status, body };
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function say(id, text, isError = false) {
  $(id).textContent = text;
  $(id).classList.toggle("error", isError);
}

function chartWidth(container) {
  return Math.max(240, container.clientWidth || container.parentElement.clientWidth || 300);
}

function drawChart(container, options, data) {
  container.replaceChildren();
  return new uPlot({ width: chartWidth(container), ...options }, data, container);
}

// -- token ---------------------------------------------------------------------------------------

function showTokenState() {
  say("token-state", token() ? "Token set for this tab." : "No token: health and stats only.");
  $("token").value = "";
}

function setUpToken() {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token").value.trim();
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    showTokenState();
    refreshJobs();
    loadSites();
    loadPoints();
  });
  $("token-forget").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    stopFollowing();
    showTokenState();
    refreshJobs();
  });
  showTokenState();
}

// -- health and stats ----------------------------------------------------------------------------

async function refreshHealth() {
  try {
    const { body } = await api("/api/health", { accept: [200, 503] });
    const healthy = body.status === "healthy";
    $("health-status").textContent = body.status;
    $("health-status").className = `badge ${healthy ? "ok" : "bad"}`;
    $("health-checks").replaceChildren(...Object.entries(body.checks).map(([name, check]) =>
      element("li", `${name}: ${check.ok ? `ok, ${check.ms} ms` : check.error}`, check.ok ? "" : "bad")));
    $("health-versions").textContent = Object.entries(body.versions || {}).map(([k, v]) => `${k} ${v}`).join(" · ");
  } catch (error) {
    $("health-status").textContent = "unreachable";
    $("health-status").className = "badge bad";
    $("health-checks").replaceChildren(element("li", error.message, "bad"));
  }
}

const hitRates = [[], []];

function showFigures(stats) {
  const cache = stats.cache;
  const figures = {
    "cache objects": cache.totalObjects,
    "cache size": `${cache.totalSizeMB} MB`,
    "hit rate": cache.hitRate === null || cache.hitRate === undefined ? "–" : `${(cache.hitRate * 100).toFixed(1)} %`,
    "jobs": stats.jobs.total_jobs,
    "active jobs": stats.jobs.active,
    "completed": stats.jobs.completed,
    "failed": stats.jobs.failed,
  };
  $("stats-figures").replaceChildren(...Object.entries(figures).map(([name, value]) => {
    const row = element("div");
    row.append(element("dt", name), element("dd", String(value)));
    return row;
  }));
}

function drawMix(requests) {
  const routes = requests.map((row) => row.route_type || "other");
  const data = [routes.map((_, index) => index), requests.map((row) => row.count),
    requests.map((row) => row.cache_hits || 0)];
  const bars = uPlot.paths.bars({ size: [0.6, 60] });
  drawChart($("mix-chart"), {
    height: 180,
    scales: { x: { time: false, range: [-0.5, Math.max(routes.length - 0.5, 0.5)] } },
    axes: [{ values: (_, ticks) => ticks.map((tick) => routes[tick] ?? "") }, {}],
    series: [{ label: "route", value: (_, index) => routes[index] ?? "" },
      { label: "requests", fill: "#1f77b4aa", stroke: "#1f77b4", paths: bars, points: { show: false } },
      { label: "cache hits", fill: "#2ca02caa", stroke: "#2ca02c", paths: bars, points: { show: false } }],
  }, data);
}

function drawHitRate(rate) {
  hitRates[0].push(Date.now() / 1000);
  hitRates[1].push(rate === null || rate === undefined ? null : rate * 100);
  if (hitRates[0].length < 2) {
    $("hitrate-chart").replaceChildren(element("p", "collecting: a sample every 15 s", "muted"));
    return;
  }
  drawChart($("hitrate-chart"), {
    height: 180,
    scales: { y: { range: [0, 100] } },
    series: [{}, { label: "hit rate %", stroke: "#2ca02c", width: 2, spanGaps: true,
      points: { show: hitRates[0].length < 30 } }],
  }, hitRates);
}

async function refreshStats() {
  try {
    const { body } = await api("/api/stats");
    showFigures(body);
    drawMix(body.requests);
    drawHitRate(body.cache.hitRate);
  } catch (error) {
    $("stats-figures").replaceChildren(element("div", `stats unavailable: ${error.message}`, "error"));
  }
}

// -- jobs ----------------------------------------------------------------------------------------

let jobsTimer = null;
const streams = new Map(); // jobId → AbortController of its open event stream

function jobRow(job) {
  const row = element("tr");
  row.dataset.job = job.jobId;
  const progress = element("progress");
  progress.max = 100;
  progress.value = job.progress;
  const progressCell = element("td");
  progressCell.append(progress, ` ${Math.round(job.progress)} %`);
  const actions = element("td");
  if (ACTIVE.has(job.status)) {
    const cancel = element("button", "Cancel");
    cancel.type = "button";
    cancel.addEventListener("click", () => cancelJob(job.jobId));
    actions.append(cancel);
  } else if (job.resultUrl) {
    const plot = element("button", "Plot result");
    plot.type = "button";
    plot.addEventListener("click", () => plotResult(job));
    actions.append(plot);
  }
  row.append(element("td", job.jobId.slice(0, 8)), element("td", job.site), element("td", job.status, `status-${job.status}`),
    progressCell, element("td", job.samplesCount === null ? "–" : job.samplesCount.toLocaleString("en")),
    element("td", job.createdAt), actions);
  return row;
}

async function refreshJobs() {
  clearTimeout(jobsTimer);
  if (!token()) {
    $("jobs-table").hidden = true;
    say("jobs-note", "Enter a token to see your jobs.");
    return;
  }
  let wait = JOBS_IDLE_EVERY_MS;
  try {
    const { body } = await api("/api/jobs");
    $("jobs-table").tBodies[0].replaceChildren(...body.jobs.map(jobRow));
    $("jobs-table").hidden = body.jobs.length === 0;
    say("jobs-note", body.jobs.length ? "" : "No jobs yet: a query too large to answer at once becomes one.");
    const active = body.jobs.filter((job) => ACTIVE.has(job.status));
    active.forEach((job) => followJob(job.jobId));
    if (active.length) wait = JOBS_ACTIVE_EVERY_MS;
  } catch (error) {
    say("jobs-note", `jobs unavailable: ${error.message}`, true);
  }
  jobsTimer = setTimeout(refreshJobs, wait);
}

function showJob(job) {
  const row = $("jobs-table").querySelector(`tr[data-job="${job.jobId}"]`);
  if (row) row.replaceWith(jobRow(job));
}

/** Each active job's progress as it happens: its Server-Sent Events, read with fetch so the token is a header. */
function followJob(jobId) {
  if (streams.has(jobId)) return;
  const controller = new AbortController();
  streams.set(jobId, controller);
  readEvents(jobId, controller.signal).catch(() => {}).finally(() => {
    streams.delete(jobId);
    if (!controller.signal.aborted) refreshJobs(); // the stream ended: the outcome, or time to reconnect
  });
}

async function readEvents(jobId, signal) {
  const response = await fetch(`/api/jobs/${jobId}/events`, { headers: { "X-ACE-Token": token() }, signal });
  if (response.status !== 200) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const data = buffer.slice(0, end).split("\n").filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trim()).join("\n");
      buffer = buffer.slice(end + 2);
      if (data) showJob(JSON.parse(data));
    }
  }
}

function stopFollowing() {
  streams.forEach((controller) => controller.abort());
  streams.clear();
}

async function cancelJob(jobId) {
  try {
    await api(`/api/jobs/${jobId}`, { method: "DELETE" });
  } catch (error) {
    say("jobs-note", `cancel failed: ${error.message}`, true);
  }
  refreshJobs();
}

async function plotResult(job) {
  say("query-state", `loading the result of job ${job.jobId.slice(0, 8)}…`);
  try {
    const { body } = await api(job.resultUrl);
    plotSeries(body);
    say("query-state", "");
  } catch (error) {
    say("query-state", error.message, true);
  }
}

// -- query ---------------------------------------------------------------------------------------

function utcInputValue(ms) {
  return new Date(ms).toISOString().slice(0, 16);
}

function isoFromInput(value) {
  return `${value}:00Z`;
}

async function loadSites() {
  if (!token()) return;
  try {
    const { body } = await api("/api/sites?per_page=500");
    $("site-list").replaceChildren(...(body.items || []).map((site) => {
      const option = element("option");
      option.value = site.name;
      return option;
    }));
  } catch {
    $("site-list").replaceChildren(); // type the site instead
  }
}

async function loadPoints() {
  const site = $("q-site").value.trim();
  $("q-point-list").replaceChildren();
  if (!site || !token()) return;
  say("points-note", "loading…");
  try {
    const { body } = await api(`/api/sites/${encodeURIComponent(site)}/configured_points?per_page=1000`);
    const names = (body.items || []).map((point) => point.name).sort();
    $("q-point-list").replaceChildren(...names.map((name) => element("option", name)));
    say("points-note", `${names.length} points`);
  } catch (error) {
    say("points-note", `list unavailable (${error.message}); type point names below`);
  }
}

function chosenPoints() {
  const picked = [...$("q-point-list").selectedOptions].map((option) => option.value);
  const typed = $("q-points").value.split(/[\n,]/).map((name) => name.trim()).filter(Boolean);
  return [...new Set([...picked, ...typed])];
}

function queryPath() {
  const params = new URLSearchParams({
    site: $("q-site").value.trim(),
    points: chosenPoints().join(","),
    start_time: isoFromInput($("q-start").value),
    end_time: isoFromInput($("q-end").value),
  });
  if ($("q-route").value) params.set("route", $("q-route").value);
  if (!$("q-max-points-label").hidden && $("q-max-points").value) params.set("max_points", $("q-max-points").value);
  return `/api/timeseries?${params}`;
}

async function runQuery(event) {
  event.preventDefault();
  if (!token()) return say("query-state", "Enter a token first.", true);
  if (!chosenPoints().length) return say("query-state", "Pick or type at least one point.", true);
  $("q-run").disabled = true;
  say("query-state", "running…");
  try {
    const { status, body } = await api(queryPath(), { accept: [200, 202] });
    if (status === 202) {
      say("query-state", `Queued as job ${body.jobId.slice(0, 8)}: follow it under “Your jobs”.`);
      refreshJobs();
    } else {
      plotSeries(body);
      say("query-state", "");
    }
    refreshStats();
  } catch (error) {
    say("query-state", `${error.status ?? ""} ${error.message}`.trim(), true);
  } finally {
    $("q-run").disabled = false;
  }
}

/** Plot the numeric samples of every point on one time axis. */
function plotSeries(body) {
  const names = Object.keys(body.data);
  const tables = names.map((name) => {
    const numeric = body.data[name].samples.filter(([, value]) => typeof value === "number");
    return [numeric.map(([time]) => time / 1000), numeric.map(([, value]) => value)];
  });
  const plotted = tables.reduce((sum, [times]) => sum + times.length, 0);
  const meta = body._meta;
  say("query-meta", `route ${meta.routeType}, cache ${meta.cacheStatus ?? "–"}` +
    (meta.duration === undefined ? "" : `, ${meta.duration} ms`));
  const failed = names.filter((name) => body.data[name].error).map((name) => `${name}: ${body.data[name].error}`);
  if (!plotted) {
    $("query-chart").replaceChildren();
    say("query-caption", failed.length ? failed.join("; ") : "No numeric samples in this range.", failed.length > 0);
    return;
  }
  const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
  drawChart($("query-chart"), {
    height: 300,
    series: [{}, ...names.map((name, index) => ({
      label: name, stroke: COLORS[index % COLORS.length], width: 1.5, spanGaps: true,
    }))],
  }, data);
  const times = tables.flatMap(([stamps]) => stamps.length ? [stamps[0], stamps.at(-1)] : []);
  const span = `${new Date(Math.min(...times) * 1000).toISOString()} – ${new Date(Math.max(...times) * 1000).toISOString()}`;
  $("query-caption").dataset.samples = String(plotted);
  say("query-caption", `Plotted ${plotted} samples of ${names.length} point${names.length === 1 ? "" : "s"}, ${span}` +
    (failed.length ? `. Failed: ${failed.join("; ")}` : ""), failed.length > 0);
}

/** Offer max_points only where this deployment's document has it. */
async function offerMaxPoints() {
  try {
    const { body } = await api("/openapi.json");
    const parameters = body.paths["/api/timeseries"].get.parameters || [];
    $("q-max-points-label").hidden = !parameters.some((parameter) => parameter.name === "max_points");
  } catch {
    $("q-max-points-label").hidden = true;
  }
}

/** A link may fill the form (`/?site=&points=a,b&start_time=&end_time=&route=`); the token never comes this way. */
function prefill() {
  const given = new URLSearchParams(location.search);
  if (given.get("site")) $("q-site").value = given.get("site");
  if (given.get("points")) $("q-points").value = given.get("points").split(",").join("\n");
  if (given.get("route")) $("q-route").value = given.get("route");
  for (const [name, id] of [["start_time", "q-start"], ["end_time", "q-end"]]) {
    const ms = Date.parse(given.get(name) ?? "");
    if (!Number.isNaN(ms)) $(id).value = utcInputValue(ms);
  }
}

function setUpQuery() {
  const end = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 24 * HOUR_MS;
  $("q-start").value = utcInputValue(end - 6 * HOUR_MS);
  $("q-end").value = utcInputValue(end);
  prefill();
  $("q-site").addEventListener("change", loadPoints);
  $("query-form").addEventListener("submit", runQuery);
}

setUpToken();
setUpQuery();
loadPoints();
refreshHealth();
refreshStats();
refreshJobs();
loadSites();
offerMaxPoints();
setInterval(refreshStats, STATS_EVERY_MS);
setInterval(refreshHealth, HEALTH_EVERY_MS);
