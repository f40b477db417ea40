// The dashboard at /admin: GET /v1/admin/status every few seconds, the online learner's stream
// GAUC and version history (GET /v1/admin/learner, read from the store, so every replica shows
// the same), the latest catalogue items, and a form that adds an item (POST /v1/items) and shows where it ranks for a chosen user. The
// admin token is asked for once and kept in sessionStorage (this tab only).
"use strict";

const $ = (id) => document.getElementById(id);
const dashboard = { token: sessionStorage.getItem("metarec.adminToken"), model: null, timer: null, previous: null };

function showStatus(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
  status.setAttribute("role", isError ? "alert" : "status");
}

function figures(list, pairs) {
  list.replaceChildren(...pairs.map(([name, value]) => el("div", {}, el("dt", { text: name }), el("dd", { text: String(value) }))));
}

function milliseconds(value) {
  return value === null || value === undefined ? "n/a" : Number(value).toFixed(1) + " ms";
}

async function refresh() {
  try {
    const status = await MetaRecAPI.get("/v1/admin/status", dashboard.token);
    const model = status.model;
    dashboard.model = model;
    figures($("model-figures"), [["version", String(model.version).slice(0, 12)], ["method", model.method], ["objective", model.objective],
      ["scale", model.scale.min + " to " + model.scale.max], ["uncertainty", model.hasUncertainty ? "yes" : "no"]]);
    const requests = status.requests;
    // Requests per second since the last refresh (from the total), and over the last minute.
    const now = Date.now();
    let recent = requests.lastMinute / 60;
    if (dashboard.previous) {
      const seconds = (now - dashboard.previous.time) / 1000;
      if (seconds > 0.5) recent = (requests.total - dashboard.previous.total) / seconds;
    }
    dashboard.previous = { time: now, total: requests.total };
    figures($("traffic-figures"), [["requests/s (now)", recent.toFixed(2)], ["requests/s (minute)", (requests.lastMinute / 60).toFixed(2)],
      ["latency p50", milliseconds(requests.p50Milliseconds)], ["latency p99", milliseconds(requests.p99Milliseconds)],
      ["requests in all", requests.total]]);
    const counts = status.counts;
    figures($("count-figures"), [["items", model.itemCount], ["users", counts.users], ["feedback", counts.feedback],
      ["items added", counts.addedItems], ["impressions", counts.impressions], ["adapted users", counts.adaptedStates]]);
    const events = (status.events || []).slice().reverse();
    $("events").replaceChildren(...(events.length ? events.map((text) => el("li", { text })) : [el("li", { class: "muted", text: "No events yet." })]));
    $("updated").textContent = "Updated " + new Date().toLocaleTimeString() + "; refreshes every 5 s.";
    if (!$("feature-inputs").childElementCount) buildFeatureInputs(model.itemFields || []);
    await refreshLearner();
    showStatus("");
    return true;
  } catch (error) {
    if (error.status === 401) {
      signOut("That token was not accepted: " + error.message);
    } else {
      showStatus("Status could not be read: " + error.message, true);
    }
    return false;
  }
}

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function decimal(value, digits = 4) {
  return value === null || value === undefined ? "n/a" : Number(value).toFixed(digits);
}

// Stream GAUC (cumulative and recent) against the feedback sequence read, one point per report.
function plotStreamGAUC(reports) {
  const plot = $("gauc-plot");
  const width = 640, height = 240, left = 52, right = 12, top = 12, bottom = 36;
  const points = reports.filter((report) => report.streamGAUC !== undefined);
  if (!points.length) {
    plot.replaceChildren(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle" },
      "No learner report yet: start metarec learn beside the service."));
    plot.dataset.points = "0";
    return;
  }
  const values = points.flatMap((report) => [report.streamGAUC, report.recentGAUC].filter((value) => value !== undefined));
  let low = Math.min(...values), high = Math.max(...values);
  const pad = Math.max(0.005, (high - low) * 0.1);
  low = Math.max(0, low - pad); high = Math.min(1, high + pad);
  const first = points[0].through, last = points[points.length - 1].through;
  const span = last > first ? last - first : 1;
  const x = (through) => left + (points.length === 1 ? 0.5 : (through - first) / span) * (width - left - right);
  const y = (value) => top + (1 - (value - low) / (high - low)) * (height - top - bottom);
  const nodes = [];
  for (const fraction of [0, 0.25, 0.5, 0.75, 1]) {
    const value = low + fraction * (high - low);
    nodes.push(svg("line", { class: "grid", x1: left, x2: width - right, y1: y(value), y2: y(value) }));
    nodes.push(svg("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end" }, value.toFixed(3)));
  }
  nodes.push(svg("line", { class: "axis", x1: left, x2: width - right, y1: height - bottom, y2: height - bottom }));
  nodes.push(svg("line", { class: "axis", x1: left, x2: left, y1: top, y2: height - bottom }));
  nodes.push(svg("text", { x: left, y: height - bottom + 16, "text-anchor": "start" }, String(first)));
  nodes.push(svg("text", { x: width - right, y: height - bottom + 16, "text-anchor": "end" }, String(last)));
  nodes.push(svg("text", { x: (left + width - right) / 2, y: height - 4, "text-anchor": "middle" }, "feedback read (sequence)"));
  const line = (key, cls) => {
    const path = points.filter((report) => report[key] !== undefined).map((report) => x(report.through).toFixed(1) + "," + y(report[key]).toFixed(1));
    if (path.length) nodes.push(svg("polyline", { class: cls, points: path.join(" "), "data-series": key }));
  };
  line("recentGAUC", "recent");
  line("streamGAUC", "cumulative");
  // Legend, top right.
  const legendX = width - right - 170;
  nodes.push(svg("line", { class: "cumulative", x1: legendX, x2: legendX + 24, y1: top + 8, y2: top + 8 }));
  nodes.push(svg("text", { x: legendX + 30, y: top + 12 }, "all users so far"));
  nodes.push(svg("line", { class: "recent", x1: legendX, x2: legendX + 24, y1: top + 26, y2: top + 26 }));
  nodes.push(svg("text", { x: legendX + 30, y: top + 30 }, "most recent 100"));
  for (const report of points) {
    const cx = x(report.through), cy = y(report.streamGAUC);
    if (report.outcome === "published") {
      nodes.push(svg("circle", { class: "published", cx, cy, r: 4 }, undefined));
    } else {
      nodes.push(svg("path", { class: "refused", d: `M${cx - 4},${cy - 4}L${cx + 4},${cy + 4}M${cx - 4},${cy + 4}L${cx + 4},${cy - 4}` }));
    }
  }
  plot.replaceChildren(...nodes);
  plot.dataset.points = String(points.length);
}

// Published versions (from the store's version list) and refused candidates (from the reports), newest first.
function showVersionHistory(history) {
  const rows = history.versions.map((version) => ({ time: new Date(version.publishedAt), what: "published", version: version.id, text: version.note }));
  for (const report of history.reports) {
    if (report.outcome === "refused") {
      rows.push({ time: new Date(report.recordedAt), what: "refused", version: report.servingVersion, text: report.reason || report.reasonLabel || "" });
    }
  }
  rows.sort((a, b) => b.time - a.time);
  const shown = rows.slice(0, 15);
  $("version-history").replaceChildren(...(shown.length ? shown.map((row) => el("tr", { "data-outcome": row.what },
    el("td", { text: row.time.toLocaleString() }), el("td", { class: row.what, text: row.what }),
    el("td", { text: String(row.version).slice(0, 12), title: row.version }), el("td", { text: row.text })))
    : [el("tr", {}, el("td", { colspan: "4", class: "muted", text: "Nothing published yet." }))]));
}

async function refreshLearner() {
  const history = await MetaRecAPI.get("/v1/admin/learner?limit=500", dashboard.token);
  const latest = history.reports[history.reports.length - 1];
  if (latest) {
    const refused = Object.values(latest.refused || {}).reduce((sum, count) => sum + count, 0);
    figures($("learner-figures"), [["stream GAUC", decimal(latest.streamGAUC)], ["recent GAUC", decimal(latest.recentGAUC)],
      ["stream MAE", decimal(latest.streamMAE)], ["users learned", latest.usersLearned], ["users/s", decimal(latest.usersPerSecond, 1)],
      ["meta-update", latest.metaUpdateSeconds === undefined ? "n/a" : milliseconds(latest.metaUpdateSeconds * 1000)],
      ["published / refused", latest.published + " / " + refused], ["last report", new Date(latest.recordedAt).toLocaleTimeString()]]);
  } else {
    figures($("learner-figures"), [["learner", "no report yet"]]);
  }
  plotStreamGAUC(history.reports);
  showVersionHistory(history);
}

// One input per item feature of the model; lists are comma-separated.
function buildFeatureInputs(fields) {
  const box = $("feature-inputs");
  for (const field of fields) {
    const hint = { multiCategorical: "values separated by commas", dense: "numbers separated by commas",
      numericBucketed: "a number", numericStandardized: "a number", date: "a year or YYYY-MM-DD", categorical: "one value" }[field.kind] || field.kind;
    box.append(el("label", {}, field.name + " (" + hint + ")",
      el("input", { type: "text", "data-field": field.name, "data-kind": field.kind, autocomplete: "off" })));
  }
}

function readFeatures() {
  const features = {};
  for (const input of document.querySelectorAll("#feature-inputs input")) {
    const text = input.value.trim();
    if (!text) continue;
    const kind = input.dataset.kind;
    const parts = text.split(",").map((part) => part.trim()).filter((part) => part.length);
    if (kind === "multiCategorical") features[input.dataset.field] = parts;
    else if (kind === "dense") features[input.dataset.field] = parts.map(Number);
    else if ((kind === "numericBucketed" || kind === "numericStandardized") && !Number.isNaN(Number(text))) features[input.dataset.field] = Number(text);
    else if (kind === "date") {
      // Dates travel as seconds since 1970; text the browser cannot read goes as it is, for the service to explain.
      const seconds = /^\d{4}$/.test(text) ? Date.UTC(Number(text), 0, 1) / 1000 : Date.parse(text) / 1000;
      features[input.dataset.field] = Number.isNaN(seconds) ? text : seconds;
    }
    else features[input.dataset.field] = text;
  }
  return features;
}

async function loadLatestItems() {
  const first = await MetaRecAPI.get("/v1/items?offset=0&limit=1", dashboard.token);
  const offset = Math.max(0, first.total - 8);
  const page = await MetaRecAPI.get("/v1/items?offset=" + offset + "&limit=8", dashboard.token);
  $("latest-items").replaceChildren(...page.items.slice().reverse().map((item) =>
    el("tr", { "data-item": item.id }, el("td", { text: item.id }), el("td", { text: item.title }), el("td", { text: describeFeatures(item.features, dashboard.model ? dashboard.model.itemFields : []) }))));
}

// Where `item` ranks among everything the user could be recommended (seen items left out).
async function rankFor(user, item) {
  const path = "/v1/users/" + encodeURIComponent(user) + "/recommendations?k=";
  const size = Math.max(1, Math.min(1000, dashboard.model ? dashboard.model.itemCount : 1000));
  const answer = await MetaRecAPI.get(path + size, dashboard.token);
  const index = answer.items.findIndex((entry) => entry.id === item);
  if (index >= 0) {
    const entry = answer.items[index];
    return "ranks " + (index + 1) + " of " + answer.items.length + " for " + user + " (score " + Number(entry.score).toFixed(3)
      + (entry.standardDeviation != null ? " ± " + Number(entry.standardDeviation).toFixed(3) : "") + ").";
  }
  return "is not among the top " + answer.items.length + " for " + user + ".";
}

async function addItem(event) {
  event.preventDefault();
  const id = $("item-id").value.trim();
  const title = $("item-title").value.trim() || id;
  const user = $("rank-user").value.trim();
  const result = $("add-result");
  result.textContent = "Adding…";
  try {
    await MetaRecAPI.post("/v1/items", { id, title, features: readFeatures() }, dashboard.token);
    let text = "Added " + id + ".";
    if (user) text = "Added " + id + "; it " + await rankFor(user, id);
    result.textContent = text;
    await Promise.all([loadLatestItems(), refresh()]);
  } catch (error) {
    result.textContent = "Not added: " + error.message;
  }
}

function signOut(message) {
  sessionStorage.removeItem("metarec.adminToken");
  dashboard.token = null;
  clearInterval(dashboard.timer);
  $("dashboard").hidden = true;
  $("sign-in").hidden = false;
  showStatus(message || "", Boolean(message));
  $("token").focus();
}

async function openDashboard() {
  $("sign-in").hidden = true;
  if (await refresh()) {
    $("dashboard").hidden = false;
    await loadLatestItems().catch((error) => showStatus(error.message, true));
    clearInterval(dashboard.timer);
    dashboard.timer = setInterval(refresh, 5000);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    dashboard.token = $("token").value.trim();
    sessionStorage.setItem("metarec.adminToken", dashboard.token);
    $("token").value = "";
    openDashboard();
  });
  $("add-form").addEventListener("submit", addItem);
  $("sign-out").addEventListener("click", () => signOut());
  if (dashboard.token) openDashboard(); else signOut();
});
