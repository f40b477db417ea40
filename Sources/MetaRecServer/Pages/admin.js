// The dashboard at /admin: GET /v1/admin/status every few seconds, the latest catalogue items,
// and a form that adds an item (POST /v1/items) and shows where it ranks for a chosen user. The
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
