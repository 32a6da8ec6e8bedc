// leadflow's team dashboard. No build step, no library: plain DOM.
// Every value from the API is rendered as text (textContent), never as HTML.
// The admin token lives in sessionStorage only: this tab, until sign-out or the tab closes.

const TOKEN_KEY = "leadflow.admin-token";
const POLL_MS = 3000;
const PAGE = 50;
const STATUSES = ["queued", "sent", "delivered", "bounced", "complained", "suppressed", "failed", "skipped"];
// The API lives beside this page: "/" under `make run`, "/api/" on a deployed stage.
const BASE = location.pathname.replace(/admin\/?$/, "");

const $ = (selector) => document.querySelector(selector);
const view = $("#view");
let pollTimer = null;
let renderToken = 0; // bumps on every navigation, so a late answer never draws over another view

// --- Small DOM helpers -------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

function announce(text) {
  const announcer = $("#announcer");
  announcer.textContent = "";
  setTimeout(() => { announcer.textContent = text; }, 30);
}

function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

function timeEl(iso) {
  return el("time", { datetime: iso || "" }, when(iso));
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "unknown";
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
}

function percent(rate) {
  return rate === null || rate === undefined ? "no email sent" : `${(rate * 100).toFixed(rate < 0.01 ? 2 : 1)} %`;
}

function badge(status, label) {
  return el("span", { class: `badge status-${STATUSES.includes(status) ? status : "unknown"}` },
    label ? `${label}: ${status}` : status);
}

function kindLabel(kind) {
  return { team_alert: "team alert", customer_confirmation: "confirmation" }[kind] || kind;
}

// --- The admin API -----------------------------------------------------------------

class SignedOut extends Error {}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(path, options = {}) {
  const current = token();
  if (!current) throw new SignedOut("signed out");
  const headers = { Authorization: `Bearer ${current}`, ...(options.headers || {}) };
  let body = options.body;
  if (body !== undefined && typeof body !== "string") {
    body = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  const response = await fetch(BASE + path, { method: options.method || "GET", headers, body,
                                              cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" });
  if (response.status === 401 || response.status === 403) {
    signOut(response.status === 403 ? "The admin token is not valid any more. Sign in again." : "Sign in first.");
    throw new SignedOut(String(response.status));
  }
  if (options.raw) return response;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const problems = (data && data.details || []).map((d) => `${d.field}: ${d.message}`).join("; ");
    throw new Error((data && data.message ? data.message : `HTTP ${response.status}`) + (problems ? ` (${problems})` : ""));
  }
  return data;
}

function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) search.set(name, value);
  const text = search.toString();
  return text ? `?${text}` : "";
}

// --- Signing in and out ------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const input = $("#token");
  const error = $("#signin-error");
  const value = input.value.trim();
  error.textContent = "";
  if (!value) {
    error.textContent = "Enter the admin token.";
    input.focus();
    return;
  }
  const response = await fetch(`${BASE}leads?limit=1`, {
    headers: { Authorization: `Bearer ${value}` }, cache: "no-store", credentials: "omit",
  }).catch(() => null);
  if (!response) {
    error.textContent = "The API could not be reached. Check that it is running, then try again.";
    return;
  }
  if (response.status === 401 || response.status === 403) {
    error.textContent = "That token was not accepted. Check it and try again (locally it is printed by make run).";
    input.select();
    return;
  }
  if (!response.ok) {
    error.textContent = `The API answered ${response.status}. Try again in a moment.`;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, value);
  input.value = "";
  showSignedIn();
  route();
  announce("Signed in.");
}

function signOut(message = "") {
  sessionStorage.removeItem(TOKEN_KEY);
  stopPolling();
  renderToken += 1;
  view.replaceChildren();
  view.hidden = true;
  $("#signin").hidden = false;
  $("#nav").hidden = true;
  $("#signout").hidden = true;
  $("#live").hidden = true;
  $("#signin-error").textContent = message;
  $("#token").focus();
}

function showSignedIn() {
  $("#signin").hidden = true;
  $("#signin-error").textContent = "";
  view.hidden = false;
  $("#nav").hidden = false;
  $("#signout").hidden = false;
}

// --- Routing -------------------------------------------------------------------------

function stopPolling() {
  if (pollTimer) clearInterval(pollTimer);
  pollTimer = null;
  $("#live").hidden = true;
}

function poll(fn) {
  stopPolling();
  $("#live").hidden = false;
  $("#live-text").textContent = "Live";
  pollTimer = setInterval(() => {
    fn().then(() => { $("#live-text").textContent = "Live"; }).catch((error) => {
      if (!(error instanceof SignedOut)) $("#live-text").textContent = "Reconnecting…";
    });
  }, POLL_MS);
}

function route() {
  if (!token()) return;
  if (view.hidden) showSignedIn();
  stopPolling();
  renderToken += 1;
  const hash = location.hash.replace(/^#\/?/, "");
  const [section, ...rest] = hash.split("/");
  const name = section || "leads";
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const views = { leads: rest.length ? () => leadDetail(decodeURIComponent(rest.join("/"))) : leadsView,
                  suppressions: suppressionsView, "dead-letters": deadLettersView, health: healthView };
  (views[name] || leadsView)().catch(failed);
}

function failed(error) {
  if (error instanceof SignedOut) return;
  view.replaceChildren(el("p", { class: "error", role: "alert" }, `Something went wrong: ${error.message}`));
}

function heading(text) {
  const h1 = el("h1", { tabindex: "-1" }, text);
  return h1;
}

function focusHeading() {
  const h1 = view.querySelector("h1");
  if (h1) h1.focus({ preventScroll: false });
}

// --- Leads ---------------------------------------------------------------------------

const leadFilters = { email: "", source: "", status: "" };

function notificationBadges(notifications) {
  if (!notifications || !notifications.length) return el("span", { class: "muted" }, "none yet");
  return el("span", { class: "badges" }, notifications.map((n) => badge(n.status, kindLabel(n.kind))));
}

function leadRow(lead) {
  const erased = lead.status === "erased";
  return el("tr", { "data-id": lead.id },
    el("td", {}, el("a", { href: `#/leads/${encodeURIComponent(lead.id)}` }, erased ? "(erased)" : lead.name || "(no name)")),
    el("td", {}, erased ? "" : lead.email || ""),
    el("td", {}, lead.source || ""),
    el("td", {}, timeEl(lead.created_at)),
    el("td", { class: "statuses" }, erased ? badge("erased") : notificationBadges(lead.notifications)));
}

async function leadsView() {
  const mine = renderToken;
  const form = el("form", { class: "filters", role: "search", "aria-label": "Search and filter the leads" },
    el("div", { class: "field grow" }, el("label", { for: "f-email" }, "Email address (exact)"),
      el("input", { id: "f-email", name: "email", type: "email", value: leadFilters.email, autocomplete: "off",
                    spellcheck: "false" })),
    el("div", { class: "field" }, el("label", { for: "f-source" }, "Source"),
      el("input", { id: "f-source", name: "source", type: "text", value: leadFilters.source, autocomplete: "off",
                    pattern: "[a-z0-9_-]{1,64}", spellcheck: "false" })),
    el("div", { class: "field" }, el("label", { for: "f-status" }, "Delivery status"),
      el("select", { id: "f-status", name: "status" }, el("option", { value: "" }, "Any"),
        STATUSES.map((s) => el("option", { value: s, selected: leadFilters.status === s }, s)))),
    el("div", { class: "field actions" }, el("button", { type: "submit" }, "Search"),
      el("button", { type: "button", class: "quiet", onclick: () => {
        Object.assign(leadFilters, { email: "", source: "", status: "" });
        route();
      } }, "Clear")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    Object.assign(leadFilters, { email: String(data.get("email") || "").trim(), source: String(data.get("source") || "").trim(),
                                 status: String(data.get("status") || "") });
    route();
  });
  const rows = el("tbody", { id: "lead-rows" });
  const more = el("button", { type: "button", id: "more", hidden: true }, "Load more");
  const note = el("p", { class: "muted", id: "leads-note" });
  const error = el("p", { class: "error", role: "alert" });
  const table = el("div", { class: "table-wrap" }, el("table", {},
    el("caption", {}, "Leads, newest first"),
    el("thead", {}, el("tr", {}, ["Name", "Email", "Source", "Received", "Notifications"].map((h) => el("th", { scope: "col" }, h)))),
    rows));
  view.replaceChildren(heading("Leads"), form, table, note, more, error, exportSection());
  focusHeading();
  let cursor = null;
  const filters = { ...leadFilters };

  async function load(next) {
    const page = await api(`leads${query({ ...filters, limit: PAGE, cursor: next })}`);
    if (mine !== renderToken) return;
    rows.append(...page.items.filter((l) => !rows.querySelector(`tr[data-id="${CSS.escape(l.id)}"]`)).map(leadRow));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    note.textContent = rows.children.length ? "" : "No lead matches.";
  }
  more.addEventListener("click", () => load(cursor).then(() => announce(`${rows.children.length} leads shown.`)).catch((e) => {
    if (!(e instanceof SignedOut)) error.textContent = e.message;
  }));
  await load(null);

  // Live: the first page again; new leads go on top, known ones get their statuses redrawn.
  poll(async () => {
    const page = await api(`leads${query({ ...filters, limit: PAGE })}`);
    if (mine !== renderToken) return;
    let added = 0;
    for (const lead of [...page.items].reverse()) {
      const known = rows.querySelector(`tr[data-id="${CSS.escape(lead.id)}"]`);
      const fresh = leadRow(lead);
      if (known) {
        if (known.textContent !== fresh.textContent) known.replaceWith(fresh);
      } else {
        rows.prepend(fresh);
        added += 1;
      }
    }
    if (added) {
      note.textContent = "";
      announce(`${added} new lead${added > 1 ? "s" : ""}.`);
    }
  });
}

function exportSection() {
  const status = el("p", { class: "muted", role: "status" });
  const form = el("form", { class: "filters", "aria-labelledby": "export-title" },
    el("div", { class: "field" }, el("label", { for: "x-since" }, "From (date)"), el("input", { id: "x-since", type: "date", name: "since" })),
    el("div", { class: "field" }, el("label", { for: "x-until" }, "To (date, included)"), el("input", { id: "x-until", type: "date", name: "until" })),
    el("div", { class: "field actions" }, el("button", { type: "submit" }, "Download CSV")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const since = data.get("since") ? `${data.get("since")}T00:00:00.000Z` : "";
    const until = data.get("until") ? `${data.get("until")}T23:59:59.999Z` : "";
    status.textContent = "Preparing the CSV…";
    try {
      const parts = [];
      let cursor = "";
      do {
        const response = await api(`leads.csv${query({ since, until, cursor })}`, { raw: true });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        parts.push(await response.text());
        cursor = response.headers.get("X-Next-Cursor") || "";
      } while (cursor);
      const url = URL.createObjectURL(new Blob(parts, { type: "text/csv" }));
      const link = el("a", { href: url, download: "leads.csv", hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      status.textContent = "The CSV is downloaded.";
    } catch (error) {
      if (!(error instanceof SignedOut)) status.textContent = `The export failed: ${error.message}`;
    }
  });
  return el("section", { class: "panel", "aria-labelledby": "export-title" },
    el("h2", { id: "export-title" }, "Export leads as CSV"),
    el("p", { class: "muted" }, "Every lead received in the range (leave both empty for all). Cells a spreadsheet would read as a formula start with an apostrophe."),
    form, status);
}

// --- One lead ----------------------------------------------------------------------------

const FIELD_LABELS = [["id", "Lead id"], ["created_at", "Received"], ["status", "Status"], ["source", "Source"],
  ["name", "Name"], ["email", "Email"], ["phone", "Phone"], ["message", "Message"], ["erased_at", "Erased"]];

function facts(pairs) {
  return el("dl", { class: "facts" }, pairs.flatMap(([label, value]) => [el("dt", {}, label), el("dd", {}, value)]));
}

function leadFacts(lead) {
  const pairs = FIELD_LABELS.filter(([name]) => lead[name] !== undefined && lead[name] !== null && lead[name] !== "")
    .map(([name, label]) => [label, name.endsWith("_at") ? timeEl(lead[name]) : el("span", { class: name === "message" ? "pre" : "" }, String(lead[name]))]);
  for (const [key, value] of Object.entries(lead.metadata || {})) pairs.push([`metadata: ${key}`, String(value)]);
  return facts(pairs);
}

function enrichmentSection(enrichment) {
  const pairs = [];
  if (enrichment && enrichment.history) {
    const h = enrichment.history;
    pairs.push(["Earlier leads from this address", `${h.count}${h.more ? "+" : ""}, the last on ${h.last_at}`]);
    if (h.last_excerpt) pairs.push(["Last message", h.last_excerpt]);
  }
  for (const [key, value] of Object.entries((enrichment && enrichment.related) || {})) pairs.push([`related: ${key}`, String(value)]);
  return el("section", { class: "panel", "aria-labelledby": "enrichment-title" },
    el("h2", { id: "enrichment-title" }, "Enrichment"),
    pairs.length ? facts(pairs) : el("p", { class: "muted" }, "Nothing found for this lead."));
}

function timeline(notification) {
  const steps = notification.history && notification.history.length ? notification.history
    : [{ status: notification.status, at: notification.updated_at }];
  return el("ol", { class: "timeline", "aria-label": `Status history of the ${kindLabel(notification.kind)}` },
    steps.map((step) => el("li", {}, badge(step.status), " ", timeEl(step.at),
      step.reason ? el("span", { class: "reason" }, ` ${step.reason}`) : null)));
}

function notificationsSection(lead) {
  const items = (lead.notifications || []).map((n) => el("li", { class: "notification", "data-kind": n.kind },
    el("h3", {}, kindLabel(n.kind), " ", badge(n.status)),
    facts([["To", n.recipient || "(erased)"], ["SES message id", n.message_id || "none yet"], ["Last change", timeEl(n.updated_at)]]),
    timeline(n)));
  return el("section", { class: "panel", "aria-labelledby": "notifications-title" },
    el("h2", { id: "notifications-title" }, "Notifications"),
    items.length ? el("ul", { class: "notifications" }, items) : el("p", { class: "muted" }, "No email yet: it is on its way."));
}

function eraseSection(lead) {
  const area = el("div", {});
  const status = el("p", { role: "status" });
  const start = (byAddress) => {
    const what = byAddress
      ? "every lead from this address, every email sent to it, and their copies in the dead-letter queues"
      : "this lead's name, address, phone, message and metadata, its emails' recipients, and its copies in the dead-letter queues";
    const confirmButton = el("button", { type: "button", class: "danger", onclick: () => erase(byAddress) },
      byAddress ? "Yes, erase everything from this address" : "Yes, erase this lead");
    area.replaceChildren(el("div", { class: "confirm", role: "group", "aria-labelledby": "confirm-text" },
      el("p", { id: "confirm-text" }, `This removes ${what} for good. Statuses and the audit log stay, without personal data.`),
      confirmButton, " ", el("button", { type: "button", class: "quiet", onclick: () => { area.replaceChildren(buttons()); } }, "Cancel")));
    confirmButton.focus();
  };
  const erase = async (byAddress) => {
    status.textContent = "Erasing…";
    try {
      if (byAddress) await api("erasures", { method: "POST", body: { email: lead.email } });
      else await api(`leads/${encodeURIComponent(lead.id)}`, { method: "DELETE" });
      announce("Erased.");
      route();
    } catch (error) {
      if (!(error instanceof SignedOut)) status.textContent = `Erasure failed: ${error.message}`;
    }
  };
  const buttons = () => el("p", {},
    el("button", { type: "button", class: "danger", onclick: () => start(false) }, "Erase this lead…"), " ",
    lead.email ? el("button", { type: "button", class: "danger quiet", onclick: () => start(true) }, "Erase everything from this address…") : null);
  area.append(buttons());
  return el("section", { class: "panel", "aria-labelledby": "erase-title" },
    el("h2", { id: "erase-title" }, "Right to erasure"), area, status);
}

async function leadDetail(leadId) {
  const mine = renderToken;
  const lead = await api(`leads/${encodeURIComponent(leadId)}`).catch((error) => {
    if (error instanceof SignedOut) throw error;
    return { missing: error.message };
  });
  if (mine !== renderToken) return;
  const back = el("p", {}, el("a", { href: "#/leads" }, "← All leads"));
  if (lead.missing) {
    view.replaceChildren(back, heading("Lead not found"), el("p", {}, lead.missing));
    focusHeading();
    return;
  }
  const erased = lead.status === "erased";
  const title = erased ? "Erased lead" : lead.name || "(no name)";
  const body = el("div", { id: "lead-body" });
  const draw = (current) => {
    body.replaceChildren(...[
      erased ? el("p", { class: "tombstone" }, "This lead was erased. Only its id, times, source and the emails' statuses remain.") : null,
      el("section", { class: "panel", "aria-labelledby": "fields-title" }, el("h2", { id: "fields-title" }, "Fields"), leadFacts(current)),
      erased ? null : enrichmentSection(current.enrichment),
      notificationsSection(current),
      erased ? null : eraseSection(current)].filter(Boolean));
  };
  draw(lead);
  view.replaceChildren(back, heading(title), body);
  focusHeading();
  let last = JSON.stringify(lead.notifications);
  poll(async () => {
    const fresh = await api(`leads/${encodeURIComponent(leadId)}`);
    if (mine !== renderToken) return;
    if (fresh.status !== lead.status) {
      route();
      return;
    }
    const now = JSON.stringify(fresh.notifications);
    if (now !== last) {
      last = now;
      const focused = document.activeElement && document.activeElement.id;
      draw(fresh);
      if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
      announce("Statuses updated: " + fresh.notifications.map((n) => `${kindLabel(n.kind)} ${n.status}`).join(", "));
    }
  });
}

// --- Suppressions --------------------------------------------------------------------------

async function suppressionsView() {
  const mine = renderToken;
  const rows = el("tbody", { id: "suppression-rows" });
  const note = el("p", { class: "muted" });
  const status = el("p", { role: "status" });
  const more = el("button", { type: "button", hidden: true }, "Load more");
  const search = el("form", { class: "filters", role: "search", "aria-label": "Look up an address" },
    el("div", { class: "field grow" }, el("label", { for: "s-q" }, "Email address (exact)"),
      el("input", { id: "s-q", name: "q", type: "email", autocomplete: "off", spellcheck: "false" })),
    el("div", { class: "field actions" }, el("button", { type: "submit" }, "Look up"),
      el("button", { type: "button", class: "quiet", onclick: () => { search.reset(); load(null, ""); } }, "Show all")));
  let cursor = null;
  let q = "";

  function row(item) {
    const actions = el("td", {});
    const remove = () => {
      const reasonId = `reason-${Math.random().toString(36).slice(2)}`;
      const input = el("input", { id: reasonId, type: "text", required: true, maxlength: "500", autocomplete: "off" });
      const form = el("form", { class: "inline", novalidate: true }, el("label", { for: reasonId }, `Why may ${item.address} be mailed again?`), input,
        el("button", { type: "submit", class: "danger" }, "Remove from the list"), " ",
        el("button", { type: "button", class: "quiet", onclick: () => actions.replaceChildren(removeButton()) }, "Cancel"));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (!input.value.trim()) { status.textContent = "Give a reason: it goes into the audit log."; input.focus(); return; }
        try {
          await api(`suppressions/${encodeURIComponent(item.address)}`, { method: "DELETE", body: { reason: input.value.trim() } });
          tr.remove();
          status.textContent = `${item.address} was removed from the suppression list.`;
          if (!rows.children.length) note.textContent = "No address is suppressed.";
        } catch (error) {
          if (!(error instanceof SignedOut)) status.textContent = `Not removed: ${error.message}`;
        }
      });
      actions.replaceChildren(form);
      input.focus();
    };
    const removeButton = () => el("button", { type: "button", class: "quiet", onclick: remove, "aria-label": `Remove ${item.address}…` }, "Remove…");
    actions.append(removeButton());
    const tr = el("tr", { "data-address": item.address }, el("td", {}, item.address), el("td", {}, item.reason), el("td", {}, timeEl(item.since)), actions);
    return tr;
  }

  async function load(next, text) {
    if (next === null) { rows.replaceChildren(); q = text; }
    const page = await api(`suppressions${query({ q, cursor: next, limit: 50 })}`);
    if (mine !== renderToken) return;
    rows.append(...page.items.map(row));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    note.textContent = rows.children.length ? "" : (q ? "That address is not suppressed." : "No address is suppressed.");
  }
  search.addEventListener("submit", (event) => {
    event.preventDefault();
    load(null, String(new FormData(search).get("q") || "").trim()).catch((e) => { if (!(e instanceof SignedOut)) status.textContent = e.message; });
  });
  more.addEventListener("click", () => load(cursor, q).catch(failed));
  view.replaceChildren(heading("Suppressions"),
    el("p", { class: "muted" }, "Addresses that hard-bounced or complained are never mailed again. Remove one only when you know it is fixed; the removal and its reason are audited."),
    search, el("div", { class: "table-wrap" }, el("table", {}, el("caption", {}, "Suppressed addresses, newest first"),
      el("thead", {}, el("tr", {}, ["Address", "Reason", "Since", "Action"].map((h) => el("th", { scope: "col" }, h)))), rows)),
    note, more, status);
  focusHeading();
  await load(null, "");
}

// --- Dead letters ----------------------------------------------------------------------------

async function deadLettersView() {
  const mine = renderToken;
  const status = el("p", { role: "status", id: "dl-status" });
  const body = el("div", {});
  const refresh = el("button", { type: "button", class: "quiet", onclick: () => draw().then(() => announce("Dead letters refreshed.")).catch(failed) }, "Refresh");
  view.replaceChildren(heading("Dead letters"),
    el("p", { class: "muted" }, "Messages the pipeline gave up on, per queue, with the reason. Redriving is safe: an email already sent is never sent again."),
    el("p", {}, refresh), status, body);
  focusHeading();

  async function redrive(queue, ids) {
    status.textContent = "Redriving…";
    try {
      const answer = await api(`dead-letters/${encodeURIComponent(queue)}/redrive`, { method: "POST", body: ids ? { ids } : { all: true } });
      const counts = {};
      for (const r of answer.results) counts[r.outcome] = (counts[r.outcome] || 0) + 1;
      status.textContent = Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", ") || "Nothing to redrive.";
      await draw();
    } catch (error) {
      if (!(error instanceof SignedOut)) status.textContent = `Redrive failed: ${error.message}`;
    }
  }

  async function draw() {
    const answer = await api("dead-letters");
    if (mine !== renderToken) return;
    body.replaceChildren(...answer.queues.map((q) => {
      const id = `dlq-${q.queue}`;
      const summary = q.error ? el("p", { class: "error" }, q.error)
        : el("p", {}, `${q.count} message${q.count === 1 ? "" : "s"}`, q.count ? `, the oldest ${duration(q.oldest_age_seconds)} old` : "",
          q.truncated ? " (the first 100 are shown)" : "");
      const rows = q.messages.map((m) => el("tr", { "data-id": m.id },
        el("td", {}, el("code", {}, m.id)), el("td", {}, duration(m.age_seconds)), el("td", {}, m.summary), el("td", {}, m.reason),
        el("td", {}, q.redrive === "api" ? el("button", { type: "button", onclick: () => redrive(q.queue, [m.id]), "aria-label": `Redrive ${m.id}` }, "Redrive") : "")));
      const table = q.messages.length ? el("div", { class: "table-wrap" }, el("table", {},
        el("caption", { class: "visually-hidden" }, `Messages in the ${q.queue} dead-letter queue`),
        el("thead", {}, el("tr", {}, ["Message id", "Age", "What", "Reason", "Action"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows))) : null;
      const action = q.redrive === "api"
        ? (q.count ? el("p", {}, el("button", { type: "button", onclick: () => redrive(q.queue, null) }, `Redrive all of ${q.queue}`)) : null)
        : el("p", { class: "muted" }, "These hold only a stream position: replay them from a terminal with ", el("code", {}, q.command), ".");
      return el("section", { class: "panel", id, "aria-labelledby": `${id}-title`, "data-count": q.count },
        el("h2", { id: `${id}-title` }, q.queue, " ", el("span", { class: "muted" }, q.name)), summary, table, action);
    }));
  }
  await draw();
}

// --- Health ------------------------------------------------------------------------------------

const CHART_STATUSES = ["delivered", "sent", "bounced", "complained", "suppressed", "failed"];

function windowCard(label, window, thresholds) {
  const bounceHigh = window.bounce_rate !== null && window.bounce_rate >= thresholds.bounce_rate;
  const complaintHigh = window.complaint_rate !== null && window.complaint_rate >= thresholds.complaint_rate;
  return el("section", { class: "panel card", "aria-labelledby": `w-${label}` },
    el("h2", { id: `w-${label}` }, label === "24h" ? "Last 24 hours" : "Last 7 days"),
    facts([
      ["Emails sent", String(window.sent)],
      ...CHART_STATUSES.map((s) => [s[0].toUpperCase() + s.slice(1), String(window.counts[s])]),
      ["Bounce rate", el("span", { class: bounceHigh ? "rate high" : "rate" }, percent(window.bounce_rate),
        ` (SES reviews at ${percent(thresholds.bounce_rate)})`)],
      ["Complaint rate", el("span", { class: complaintHigh ? "rate high" : "rate" }, percent(window.complaint_rate),
        ` (SES reviews at ${percent(thresholds.complaint_rate)})`)],
    ]),
    bounceHigh || complaintHigh ? el("p", { class: "error" }, "Above SES's review level: find out why before sending more.") : null);
}

function chart(windows) {
  // Horizontal bars per status, the last 24 hours beside the last 7 days, on one scale.
  const labels = { "24h": "last 24 hours", "7d": "last 7 days" };
  const width = 640;
  const row = 22;
  const left = 110;
  const top = Math.max(1, ...CHART_STATUSES.map((s) => windows["7d"].counts[s]), ...CHART_STATUSES.map((s) => windows["24h"].counts[s]));
  const height = CHART_STATUSES.length * row * 2 + 10;
  const graphic = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "chart-title chart-desc", class: "chart" });
  const title = svg("title", { id: "chart-title" });
  title.textContent = "Emails by status, the last 24 hours and the last 7 days";
  const desc = svg("desc", { id: "chart-desc" });
  desc.textContent = CHART_STATUSES.map((s) => `${s}: ${windows["24h"].counts[s]} in 24 hours, ${windows["7d"].counts[s]} in 7 days`).join("; ");
  graphic.append(title, desc);
  CHART_STATUSES.forEach((status, i) => {
    const y = i * row * 2;
    const name = svg("text", { x: 0, y: y + row, class: "axis" });
    name.textContent = status;
    graphic.append(name);
    ["24h", "7d"].forEach((window, j) => {
      const value = windows[window].counts[status];
      const barWidth = Math.max(value ? 2 : 0, (value / top) * (width - left - 60));
      const bar = svg("rect", { x: left, y: y + j * row + 3, width: barWidth, height: row - 6,
                                class: `bar status-${status}${window === "24h" ? " recent" : ""}` });
      const tip = svg("title");
      tip.textContent = `${status}, ${labels[window]}: ${value}`;
      bar.append(tip);
      const figure = svg("text", { x: left + barWidth + 6, y: y + j * row + row - 6, class: "axis" });
      figure.textContent = `${value} (${window})`;
      graphic.append(bar, figure);
    });
  });
  return el("figure", { class: "panel" }, graphic,
    el("figcaption", {}, "Each status has two bars: the paler one is the last 24 hours, the other the last 7 days. An email counts under the status it holds now, at the time of its last change."));
}

async function healthView() {
  const mine = renderToken;
  const stats = await api("stats");
  if (mine !== renderToken) return;
  view.replaceChildren(heading("Health"),
    el("p", { class: "muted" }, `Counted from the delivery records at ${when(stats.generated_at)}.`),
    el("div", { class: "cards" }, windowCard("24h", stats.windows["24h"], stats.thresholds), windowCard("7d", stats.windows["7d"], stats.thresholds)),
    chart(stats.windows));
  focusHeading();
}

// --- Start -----------------------------------------------------------------------------------------

$("#signin-form").addEventListener("submit", (event) => { signIn(event).catch((e) => { $("#signin-error").textContent = e.message; }); });
$("#signout").addEventListener("click", () => { signOut("Signed out. The token is forgotten."); announce("Signed out."); });
window.addEventListener("hashchange", route);
if (token()) {
  showSignedIn();
  route();
} else {
  signOut();
}
