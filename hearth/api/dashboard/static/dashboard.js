// Hearth's status page: polls GET /dashboard/state every two seconds and redraws.
// Plain DOM, no framework; every value from the server is set as text, never as HTML.
"use strict";

const STATE_URL = "/dashboard/state";
const POLL_MS = 2000;
const TOKEN_KEY = "hearth.dashboard.token";

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) node.setAttribute(name, value);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : String(child ?? ""));
  }
  return node;
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = Number(n) || 0;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit && value < 10 ? 1 : 0)} ${units[unit]}`;
}

function age(seconds) {
  if (seconds === null || seconds === undefined) return "never";
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

function since(iso, now) {
  return age((Date.parse(now) - Date.parse(iso)) / 1000) + " ago";
}

// A bar: `part` of `whole`, labelled; over 100% (over-subscription) is drawn full and marked.
function bar(label, part, whole, text) {
  const percent = whole > 0 ? (100 * part) / whole : 0;
  const fill = el("div", { class: "fill" });
  fill.style.width = `${Math.min(100, Math.max(0, percent))}%`;
  const track = el("div", {
    class: percent > 100 ? "bar over" : "bar",
    role: "progressbar",
    "aria-label": label,
    "aria-valuemin": "0",
    "aria-valuemax": "100",
    "aria-valuenow": percent.toFixed(1),
  }, fill);
  return el("div", { class: "meter" },
    el("span", { class: "meter-label" }, label), track, el("span", { class: "meter-text" }, text));
}

function backendCard(b) {
  const used = b.total_bytes - b.free_bytes;
  return el("article", { class: b.up ? "card" : "card down", "data-backend": b.name },
    el("h3", {}, b.name, " ",
      el("span", { class: b.up ? "badge up" : "badge down" }, b.up ? "up" : "down")),
    el("p", { class: "muted" },
      `zone ${b.zone} · ${b.driver} · reported ${age(b.report_age)}${b.report_age === null ? "" : " ago"}`),
    bar("space used", used, b.total_bytes,
      `${bytes(used)} of ${bytes(b.total_bytes)} (${bytes(b.free_bytes)} free)`),
    bar("claimed", b.claimed_bytes, b.claim_limit_bytes,
      `${bytes(b.claimed_bytes)} of ${bytes(b.claim_limit_bytes)} may be placed`),
    el("p", { class: "muted" }, `provisioned ${bytes(b.provisioned_bytes)}`));
}

function createRow(c) {
  const progress = c.percent === null
    ? el("span", { class: "muted" }, "—")
    : bar(c.progress.phase, c.progress.done, c.progress.total,
      `${c.percent}% (${bytes(c.progress.done)} of ${bytes(c.progress.total)})`);
  const retries = c.reschedule_count ? ` (rescheduled ${c.reschedule_count}×)` : "";
  return el("tr", { "data-volume": c.id },
    el("td", { title: c.id }, c.name || c.id),
    el("td", {}, c.project_id),
    el("td", {}, c.host || "—"),
    el("td", {}, `${c.size_gb} GiB`),
    el("td", {}, c.status + retries),
    el("td", { class: "phase" }, c.phase),
    el("td", { class: "wide" }, progress),
    el("td", {}, age(c.age)));
}

function failureRow(f, now) {
  return el("tr", { "data-message": f.id },
    el("td", { title: f.created_at }, since(f.created_at, now)),
    el("td", { title: f.resource_id || "" },
      `${f.resource_type.toLowerCase()} ${f.resource_id || ""}`),
    el("td", {}, f.project_id),
    el("td", { class: "wide message" }, f.message),
    el("td", { class: "muted" }, f.request_id || ""));
}

function cacheRow(e, now) {
  return el("tr", { "data-entry": e.id },
    el("td", {}, e.backend),
    el("td", { title: e.image_id }, e.image_name || e.image_id),
    el("td", {}, e.status),
    el("td", {}, `${e.size_gb} GiB`),
    el("td", {}, e.in_use),
    el("td", { title: e.last_used }, since(e.last_used, now)));
}

function rowsOrEmpty(items, render, columns, empty) {
  if (items.length) return items.map(render);
  return [el("tr", { class: "empty" }, el("td", { colspan: String(columns) }, empty))];
}

function draw(state) {
  const now = state.taken_at;
  $("backends").replaceChildren(...(state.backends.length
    ? state.backends.map(backendCard)
    : [el("p", { class: "muted" }, "No backend has reported yet.")]));
  $("creates-count").textContent = state.creates.length ? `(${state.creates.length})` : "";
  $("creates").replaceChildren(...rowsOrEmpty(state.creates, createRow, 8, "None."));
  $("failures").replaceChildren(
    ...rowsOrEmpty(state.failures, (f) => failureRow(f, now), 5, "No failures."));
  $("image-cache").replaceChildren(
    ...rowsOrEmpty(state.image_cache, (e) => cacheRow(e, now), 6, "Empty."));
  $("updated").textContent = `updated ${new Date(now).toLocaleTimeString()}`;
}

function showLogin(message) {
  $("board").hidden = true;
  $("forget").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("connection").textContent = "signed out";
  $("connection").className = "badge down";
}

async function errorText(response) {
  try {
    const document = await response.json();
    const fault = Object.values(document)[0];
    return fault && fault.message ? fault.message : response.statusText;
  } catch {
    return response.statusText;
  }
}

let timer = null;

async function poll() {
  clearTimeout(timer);
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) {
    showLogin("");
    return;
  }
  try {
    const response = await fetch(STATE_URL, {
      headers: { "X-Auth-Token": token, Accept: "application/json" },
      cache: "no-store",
    });
    if (response.status === 401 || response.status === 403) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin(await errorText(response));
      return;
    }
    if (!response.ok) throw new Error(await errorText(response));
    draw(await response.json());
    $("login").hidden = true;
    $("board").hidden = false;
    $("forget").hidden = false;
    $("connection").textContent = "live";
    $("connection").className = "badge up";
  } catch (error) {
    $("connection").textContent = `no fresh state: ${error.message}`;
    $("connection").className = "badge down";
  }
  timer = setTimeout(poll, POLL_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token").value = "";
    poll();
  });
  $("forget").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    clearTimeout(timer);
    showLogin("");
  });
  poll();
});
