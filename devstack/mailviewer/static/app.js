// The mail viewer's page. Every value from an email is set with textContent or as an attribute,
// never parsed as HTML; the email's own HTML is only ever shown in the sandboxed frame.

const $ = (id) => document.getElementById(id);

const state = {
  selected: null, // SES message id of the open email
  detail: null,
  images: false, // remote images allowed for the open email
  known: new Set(),
  kinds: new Set(),
  listed: false,
};

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json" };
  if (options.body) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { ...options, headers });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message || `the viewer answered ${response.status}`);
  return body;
}

function announce(text) {
  const region = $("announcer");
  region.textContent = "";
  // A fresh text node after a tick, so screen readers announce a repeat of the same words too.
  setTimeout(() => { region.textContent = text; }, 50);
}

// -- formatting -------------------------------------------------------------------

function formatSize(bytes) {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} kB`;
}

function formatTime(iso) {
  const moment = new Date(iso);
  const today = new Date().toDateString() === moment.toDateString();
  return today
    ? moment.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })
    : moment.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

const NOTE_LABELS = [
  ["earlier run", /before this stack started/],
  ["not tracked", /no delivery in the ledger/],
  ["unknown", /ledger unavailable/],
];

function statusLabel(message) {
  if (message.status) return message.status;
  const found = NOTE_LABELS.find(([, pattern]) => pattern.test(message.status_note || ""));
  return found ? found[0] : "unknown";
}

function badge(message) {
  const label = statusLabel(message);
  const kind = message.status ? message.status.replace(/[^a-z]/g, "") : "none";
  const node = el("span", { class: `badge status-${kind}`, text: label });
  const why = message.status_note || message.reason;
  if (why) node.title = why;
  return node;
}

// -- the list ---------------------------------------------------------------------

function listQuery() {
  const params = new URLSearchParams();
  const q = $("q").value.trim();
  if (q) params.set("q", q);
  if ($("kind").value) params.set("kind", $("kind").value);
  return params.toString();
}

function messageHash(id) {
  return `#/messages/${encodeURIComponent(id)}`;
}

function displayName(address) {
  const found = address.match(/^\s*"?([^"<]*?)"?\s*<[^>]+>\s*$/);
  return found && found[1] ? found[1] : address;
}

function row(message) {
  const link = el("a", { href: messageHash(message.id), text: message.subject || "(no subject)" });
  const time = el("time", { datetime: message.sent_at, text: formatTime(message.sent_at) });
  time.title = message.sent_at;
  const people = el("span", { class: "people" },
    el("span", { class: "to", text: `To ${message.to.join(", ") || "(no To header)"}` }),
    el("span", { class: "from", text: ` · from ${displayName(message.from)}` }));
  people.title = `From ${message.from}`;
  const tr = el(
    "tr", {},
    el("td", {}, badge(message)),
    el("td", { class: "subject" }, link, people),
    el("td", { class: "time" }, time),
    el("td", { class: "num", text: formatSize(message.size) }),
  );
  tr.dataset.id = message.id;
  if (message.id === state.selected) {
    tr.classList.add("selected");
    link.setAttribute("aria-current", "true");
  }
  // The whole row opens the email for a pointer; keyboard and screen-reader users have the link.
  tr.addEventListener("click", (event) => {
    if (!event.target.closest("a")) location.hash = messageHash(message.id);
  });
  return tr;
}

function updateKinds(messages) {
  const select = $("kind");
  let added = false;
  for (const message of messages) {
    if (message.kind && !state.kinds.has(message.kind)) {
      state.kinds.add(message.kind);
      added = true;
    }
  }
  if (!added) return;
  const current = select.value;
  const options = [...state.kinds].sort().map((kind) => el("option", { value: kind, text: kind }));
  select.replaceChildren(el("option", { value: "", text: "All kinds" }), ...options);
  select.value = current;
}

async function loadList() {
  const data = await api(`/api/messages?${listQuery()}`);
  const fresh = data.messages.filter((m) => !state.known.has(m.id));
  if (state.listed && fresh.length) {
    const what = fresh.length === 1 ? `New email: ${fresh[0].subject}` : `${fresh.length} new emails`;
    announce(what);
  }
  for (const message of data.messages) state.known.add(message.id);
  state.listed = true;
  updateKinds(data.messages);

  const rows = $("rows");
  const focused = document.activeElement && rows.contains(document.activeElement)
    ? document.activeElement.closest("tr").dataset.id : null;
  rows.replaceChildren(...data.messages.map(row));
  if (focused) {
    const again = rows.querySelector(`tr[data-id="${CSS.escape(focused)}"] a`);
    if (again) again.focus();
  }
  $("empty").hidden = data.messages.length > 0;
  const filtered = listQuery() !== "";
  const noun = data.total === 1 ? "email" : "emails";
  $("summary").textContent = filtered ? `${data.total} matching ${noun}` : `${data.total} ${noun} in the outbox`;
}

// -- one email ----------------------------------------------------------------------

function fact(term, ...description) {
  return [el("dt", { text: term }), el("dd", {}, ...description)];
}

function renderFacts(detail) {
  const status = [badge(detail)];
  const why = detail.reason || detail.status_note;
  if (why) status.push(el("span", { class: "why", text: why }));
  const lead = [];
  if (detail.lead_id) {
    lead.push(el("code", { text: detail.lead_id }));
    if (detail.dashboard_url) {
      lead.push(" ", el("a", { href: detail.dashboard_url, target: "_blank", rel: "noopener", text: "Open in the dashboard" }));
    }
  } else {
    lead.push(el("span", { class: "muted", text: "none" }));
  }
  $("facts").replaceChildren(
    ...fact("Status", ...status),
    ...fact("From", detail.from),
    ...fact("To", detail.to.join(", ")),
    ...fact("Sent", el("time", { datetime: detail.sent_at, text: new Date(detail.sent_at).toLocaleString() })),
    ...fact("Size", formatSize(detail.size)),
    ...fact("Kind", detail.kind || "—"),
    ...fact("SES message id", el("code", { text: detail.id })),
    ...fact("Lead", ...lead),
  );
}

function renderBody(detail) {
  const hasHtml = detail.html !== null;
  $("frame").hidden = !hasHtml;
  $("no-html").hidden = hasHtml;
  $("images-note").hidden = !hasHtml || !detail.has_remote_images;
  $("images-text").textContent = state.images ? "Remote images are loaded." : "Remote images are blocked.";
  $("load-images").hidden = state.images;
  $("frame").src = hasHtml ? detail.links.html + (state.images ? "?images=1" : "") : "about:blank";
  $("text").textContent = detail.text ?? "(this email has no text part)";
  $("headers").replaceChildren(
    ...detail.headers.map(([name, value]) => el("tr", {}, el("th", { scope: "row", text: name }), el("td", { text: value }))),
  );
  $("raw").textContent = "Loading…";
  fetch(detail.links.raw).then((r) => r.text()).then((text) => {
    if (state.selected === detail.id) $("raw").textContent = text;
  });
  const download = $("download");
  download.href = detail.links.download;
  download.setAttribute("download", `${detail.id}.eml`);
}

async function openMessage(id, { focus = false } = {}) {
  state.selected = id;
  state.images = false;
  let detail;
  try {
    detail = await api(`/api/messages/${encodeURIComponent(id)}`);
  } catch (error) {
    $("detail").hidden = true;
    $("placeholder").hidden = false;
    $("placeholder").firstElementChild.textContent = `That email is not in the outbox (${error.message}).`;
    return;
  }
  if (state.selected !== id) return;
  state.detail = detail;
  $("placeholder").hidden = true;
  $("detail").hidden = false;
  $("subject").textContent = detail.subject || "(no subject)";
  document.title = `${detail.subject || "(no subject)"} · leadflow mail`;
  renderFacts(detail);
  renderBody(detail);
  renderFeedback(detail);
  for (const tr of $("rows").children) {
    const chosen = tr.dataset.id === id;
    tr.classList.toggle("selected", chosen);
    const link = tr.querySelector("a");
    if (chosen) link.setAttribute("aria-current", "true");
    else link.removeAttribute("aria-current");
  }
  if (focus) $("subject").focus();
}

function renderFeedback(detail) {
  // SES publishes events only for a send that named a configuration set.
  const publishable = Boolean(detail.configuration_set);
  for (const button of document.querySelectorAll("[data-feedback]")) button.disabled = !publishable;
  $("feedback-note").textContent = publishable
    ? "" : "Sent without a configuration set, so SES publishes no feedback for this email.";
}

async function refreshOpen() {
  if (!state.selected || !state.detail) return;
  const id = state.selected;
  let detail;
  try {
    detail = await api(`/api/messages/${encodeURIComponent(id)}`);
  } catch {
    return; // cleared meanwhile: the list shows it is gone
  }
  if (state.selected !== id) return;
  const before = statusLabel(state.detail);
  state.detail = detail;
  renderFacts(detail);
  if (statusLabel(detail) !== before) announce(`Status of this email: ${statusLabel(detail)}`);
}

function closeMessage() {
  state.selected = null;
  state.detail = null;
  $("detail").hidden = true;
  $("placeholder").hidden = false;
  document.title = "leadflow mail";
}

function route({ focus = false } = {}) {
  const found = location.hash.match(/^#\/messages\/(.+)$/);
  if (found) openMessage(decodeURIComponent(found[1]), { focus });
  else closeMessage();
}

// -- actions ----------------------------------------------------------------------------

async function sendFeedback(button) {
  if (!state.selected) return;
  const buttons = document.querySelectorAll("[data-feedback]");
  const label = button.textContent;
  buttons.forEach((b) => { b.disabled = true; });
  $("feedback-note").textContent = `Publishing ${label}…`;
  try {
    const result = await api(`/api/messages/${encodeURIComponent(state.selected)}/feedback`, {
      method: "POST",
      body: JSON.stringify({ type: button.dataset.feedback, bounce_type: button.dataset.bounceType || "permanent" }),
    });
    const topics = result.topics.map((arn) => arn.split(":").pop()).join(", ");
    const text = `SES published a ${label} event to ${topics}; the status changes once the app has handled it.`;
    $("feedback-note").textContent = text;
    announce(text);
  } catch (error) {
    $("feedback-note").textContent = `Not published: ${error.message}`;
    announce(`Not published: ${error.message}`);
  } finally {
    buttons.forEach((b) => { b.disabled = !state.detail || !state.detail.configuration_set; });
  }
}

async function clearOutbox() {
  if (!window.confirm("Delete every email in the outbox? Their ledger entries stay.")) return;
  const result = await api("/api/messages", { method: "DELETE" });
  state.known.clear();
  location.hash = "";
  closeMessage();
  await loadList();
  announce(`Outbox cleared: ${result.removed} email${result.removed === 1 ? "" : "s"} removed`);
}

function setupTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const select = (tab, focus) => {
    for (const other of tabs) {
      const chosen = other === tab;
      other.setAttribute("aria-selected", String(chosen));
      other.tabIndex = chosen ? 0 : -1;
      $(other.getAttribute("aria-controls")).hidden = !chosen;
    }
    if (focus) tab.focus();
  };
  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => select(tab, false));
    tab.addEventListener("keydown", (event) => {
      const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
      if (!(event.key in moves)) return;
      event.preventDefault();
      select(tabs[(moves[event.key] + tabs.length) % tabs.length], true);
    });
  });
}

// -- live updates -----------------------------------------------------------------------

let pending = null;

function scheduleRefresh() {
  clearTimeout(pending);
  pending = setTimeout(() => {
    loadList().catch(() => {});
    refreshOpen();
  }, 100);
}

function setLive(stateName, text) {
  $("live").dataset.state = stateName;
  $("live-text").textContent = text;
}

function connect() {
  const source = new EventSource("/api/events");
  source.addEventListener("change", scheduleRefresh);
  source.addEventListener("open", () => setLive("live", "Live"));
  source.addEventListener("error", () => setLive("down", "Reconnecting…"));
}

function start() {
  setupTabs();
  let typing = null;
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  $("q").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => loadList(), 200);
  });
  $("kind").addEventListener("change", () => loadList());
  $("clear").addEventListener("click", () => clearOutbox());
  $("load-images").addEventListener("click", () => {
    state.images = true;
    if (state.detail) renderBody(state.detail);
    $("frame").focus();
  });
  for (const button of document.querySelectorAll("[data-feedback]")) {
    button.addEventListener("click", () => sendFeedback(button));
  }
  window.addEventListener("hashchange", () => route({ focus: true }));
  loadList().then(() => route()).catch((error) => { $("summary").textContent = error.message; });
  connect();
}

start();
