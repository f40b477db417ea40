// The onboarding page: a fresh user id and a short-lived write token from POST /v1/sessions,
// items to rate from the questions endpoint, and after each rating the recommendations again,
// with a marker on every item that moved. Only the public API; never the admin token.
"use strict";

const state = { user: null, token: null, model: null, ranks: new Map(), rated: new Map(), busy: false };
const $ = (id) => document.getElementById(id);

function showStatus(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
  status.setAttribute("role", isError ? "alert" : "status");
}

async function startSession(forceNew) {
  const saved = JSON.parse(sessionStorage.getItem("metarec.session") || "null");
  if (!forceNew && saved && Date.parse(saved.expiresAt) > Date.now() + 60_000) return saved;
  const session = await MetaRecAPI.post("/v1/sessions", {});
  sessionStorage.setItem("metarec.session", JSON.stringify(session));
  return session;
}

function formatScore(value) {
  return Number(value).toFixed(state.model && state.model.objective === "click" ? 3 : 2);
}

// One rating control per item: stars for ratings (a radio group, so arrow keys move between
// stars), like/skip buttons for clicks.
function ratingControl(item) {
  const model = state.model;
  if (model.objective === "click") {
    const box = el("div", { class: "choices", role: "group", "aria-label": "Your reaction to " + item.title });
    for (const [label, value] of [["Like", 1], ["Skip", 0]]) {
      box.append(el("button", {
        type: "button", "data-value": value, "aria-pressed": "false", text: label,
        onclick: (event) => {
          for (const other of box.querySelectorAll("button")) other.setAttribute("aria-pressed", String(other === event.currentTarget));
          rate(item, value);
        },
      }));
    }
    return box;
  }
  const low = Math.ceil(model.scale.min), high = Math.floor(model.scale.max);
  const fieldset = el("fieldset", { class: "stars" }, el("legend", { text: "Your rating of " + item.title }));
  const shown = el("span", { class: "value", "aria-hidden": "true" });
  const labels = [];
  let pending = null;
  const light = (upTo) => labels.forEach(([value, label]) => label.classList.toggle("lit", value <= upTo));
  for (let value = low; value <= high; value++) {
    const id = "rate-" + cssSafe(item.id) + "-" + value;
    const input = el("input", { type: "radio", name: "rate-" + cssSafe(item.id), id, value: String(value) });
    // Arrow keys step through the stars and each step is a change: the rating is sent once the
    // choice has rested for a moment, so stepping from 1 to 4 stores one rating, not four.
    input.addEventListener("change", () => {
      light(value);
      shown.textContent = value + " of " + high;
      clearTimeout(pending);
      pending = setTimeout(() => rate(item, value), 600);
    });
    const label = el("label", { for: id, title: value + " of " + high, text: "★" });
    label.setAttribute("aria-label", value + (value === 1 ? " star" : " stars"));
    label.addEventListener("mouseenter", () => light(value));
    label.addEventListener("mouseleave", () => light(Number(fieldset.querySelector("input:checked")?.value ?? low - 1)));
    labels.push([value, label]);
    fieldset.append(input, label);
  }
  fieldset.append(shown);
  return fieldset;
}

function cssSafe(text) {
  return String(text).replace(/[^A-Za-z0-9_-]/g, (c) => "_" + c.charCodeAt(0).toString(16));
}

async function loadQuestions() {
  const answer = await MetaRecAPI.get("/v1/users/" + encodeURIComponent(state.user) + "/questions?k=5", state.token);
  const list = $("questions");
  list.replaceChildren();
  for (const item of answer.items) {
    const card = el("li", { class: "question", "data-item": item.id },
      el("h3", { text: item.title || item.id }),
      el("p", { class: "features", text: describeFeatures(item.features, state.model.itemFields) }),
      ratingControl(item));
    list.append(card);
  }
  if (answer.items.length === 0) list.append(el("li", { class: "muted", text: "Nothing left to rate." }));
}

// Shows the new list; marks items that moved up or down since the last list, and new ones.
function showRecommendations(answer) {
  const list = $("recommendations");
  const previous = state.ranks;
  const first = previous.size === 0;
  const next = new Map();
  list.replaceChildren();
  answer.items.forEach((item, index) => {
    next.set(item.id, index);
    let move = null;
    if (!first) {
      if (!previous.has(item.id)) move = { kind: "new", text: "new", label: "new in the list" };
      else if (previous.get(item.id) > index) {
        const by = previous.get(item.id) - index;
        move = { kind: "up", text: "▲ " + by, label: "up " + by };
      } else if (previous.get(item.id) < index) {
        const by = index - previous.get(item.id);
        move = { kind: "down", text: "▼ " + by, label: "down " + by };
      }
    }
    const score = el("span", { class: "score", title: "predicted " + (state.model.objective === "click" ? "click probability" : "rating") },
      formatScore(item.score));
    if (item.standardDeviation !== undefined && item.standardDeviation !== null) {
      score.append(" ", el("span", { class: "spread", title: "standard deviation of the prediction", text: "± " + formatScore(item.standardDeviation) }));
    }
    list.append(el("li", { class: move ? "moved" : null, "data-item": item.id, "data-move": move ? move.kind : "same" },
      el("span", { class: "title", text: item.title || item.id }),
      score,
      el("span", { class: "move " + (move ? move.kind : ""), "aria-label": move ? move.label : "unchanged", text: move ? move.text : "" })));
  });
  state.ranks = next;
  // A version is a SHA-256: its first 12 digits name it (the whole one is in the tooltip).
  $("model").textContent = "Model " + String(answer.model.version).slice(0, 12) + " (" + state.model.method + ").";
  $("model").title = "model version " + answer.model.version;
}

async function loadRecommendations() {
  const answer = await MetaRecAPI.get("/v1/users/" + encodeURIComponent(state.user) + "/recommendations?k=10", state.token);
  showRecommendations(answer);
  return answer;
}

async function rate(item, value) {
  state.rated.set(item.id, value);
  const card = document.querySelector('li.question[data-item="' + CSS.escape(item.id) + '"]');
  try {
    await MetaRecAPI.post("/v1/feedback", { feedback: [{ user: state.user, item: item.id, value }] }, state.token);
    if (card) card.classList.add("rated");
    await loadRecommendations();
    const moved = document.querySelectorAll("#recommendations li.moved").length;
    showStatus("Thanks: " + state.rated.size + " rated. " + (moved ? moved + " item" + (moved === 1 ? "" : "s") + " moved." : "The order held."));
  } catch (error) {
    if (error.status === 401) {
      showStatus("Your session expired; starting a new one.", true);
      sessionStorage.removeItem("metarec.session");
    } else {
      showStatus("That rating was not saved: " + error.message, true);
    }
  }
}

async function start(forceNew) {
  try {
    state.ranks = new Map();
    state.rated = new Map();
    const session = await startSession(forceNew);
    state.user = session.user;
    state.token = session.token;
    state.model = await MetaRecAPI.get("/v1/model");
    const model = state.model;
    $("questions-help").textContent = model.objective === "click"
      ? "Like or skip each item."
      : "Give each item " + Math.ceil(model.scale.min) + " to " + Math.floor(model.scale.max) + " stars (arrow keys work too).";
    $("recommendations-help").textContent = "Score is the predicted " + (model.objective === "click" ? "chance of a click" : "rating")
      + (model.hasUncertainty ? ", ± its standard deviation" : "") + ". ▲▼ mark items that moved after your last rating.";
    await Promise.all([loadQuestions(), loadRecommendations()]);
    showStatus("You are " + state.user + ". Rate an item to see the list adapt.");
  } catch (error) {
    showStatus("The service did not answer as expected: " + error.message, true);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("more").addEventListener("click", () => loadQuestions().catch((error) => showStatus(error.message, true)));
  $("restart").addEventListener("click", () => start(true));
  start(false);
});
