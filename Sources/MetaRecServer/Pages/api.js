// The public JSON API of `metarec serve`, as the pages use it. Errors come back as
// {"error": "..."}; every call rejects with an Error carrying that message and the status.
"use strict";

const MetaRecAPI = {
  async call(method, path, { token, body } = {}) {
    const headers = { "Accept": "application/json" };
    if (token) headers["Authorization"] = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (failure) {
      throw new Error("the service cannot be reached (" + failure.message + ")");
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch { data = null; }
    }
    if (!response.ok) {
      const message = data && data.error ? data.error : response.status + " " + response.statusText;
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return data;
  },
  get(path, token) { return this.call("GET", path, { token }); },
  post(path, body, token) { return this.call("POST", path, { token, body }); },
};

// Builds an element: el("li", {class: "x", text: "y"}, child, ...). Text is never parsed as HTML.
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

// "genres: Comedy, Drama · year: 1995" from an item's features; `fields` (the model's item
// fields) lets dates, which the service keeps as seconds since 1970, show as years.
function describeFeatures(features, fields = []) {
  if (!features) return "";
  const kinds = new Map(fields.map((field) => [field.name, field.kind]));
  return Object.keys(features).sort().map((name) => {
    const value = features[name];
    if (kinds.get(name) === "date" && typeof value === "number") return name + ": " + new Date(value * 1000).getUTCFullYear();
    return name + ": " + (Array.isArray(value) ? value.join(", ") : String(value));
  }).join(" · ");
}
