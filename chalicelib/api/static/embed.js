/* leadflow: enhances <form data-leadflow> (JSON + Idempotency-Key, inline errors, text only). */
(() => {
  "use strict";
  if (!window.fetch) return; // old browsers: the plain form post
  var FIELDS = { name: 1, email: 1, phone: 2, message: 2, source: 2, _gotcha: 2 }; // 2: optional
  var SET_APART = { _next: "next", "cf-turnstile-response": "token", "h-captcha-response": "token",
    "g-recaptcha-response": "token", _charset_: "skip", metadata: "skip" };
  var SAY = {
    ok: "Thank you! Your message has been sent.",
    bad: "Please correct the marked fields.",
    net: "Your message could not be sent. Check your connection.",
    file: "Files are not accepted.",
    403: "This site may not send this form.",
    413: "Your message is too long.",
    503: "The spam check is down. Please try again soon.",
    other: "Something went wrong. Please try again."
  };
  var states = new WeakMap(), count = 0;

  function newKey() {
    return "lf-" + Array.from(crypto.getRandomValues(new Uint8Array(16)), b => b + 256).join("");
  }

  // As the server maps a plain post: other fields and metadata[key] go to metadata.
  function collect(form) {
    var body = {}, extra = {}, out = { body: body, files: [] };
    new FormData(form).forEach((value, name) => {
      if (typeof value != "string") return (value.size || value.name) && out.files.push(name);
      value = value.replace(/\r\n?/g, "\n");
      var match = /^metadata\[([\s\S]*)\]$/.exec(name), key = match ? match[1] : name;
      var apart = SET_APART[name];
      if (apart) out[apart] = out[apart] || value;
      else if (FIELDS[name]) {
        if (!(name in body) && (FIELDS[name] == 1 || value)) body[name] = value;
      } else if (value) (extra[key] = extra[key] || []).push(value);
    });
    Object.keys(extra).forEach(k => { (body.metadata = body.metadata || {})[k] = extra[k].join(", "); });
    return out;
  }

  function say(form, text, kind) {
    var region = form.querySelector("[data-leadflow-status]") || form.appendChild(document.createElement("p"));
    region.setAttribute("data-leadflow-status", "");
    region.setAttribute("role", "status");
    region.className = "leadflow-status leadflow-" + kind;
    region.textContent = text;
  }

  function input(form, field) {
    var key = field.indexOf("metadata.") ? field : field.slice(9);
    return Array.from(form.elements).find(el =>
      el.type != "hidden" && (el.name == key || el.name == "metadata[" + key + "]"));
  }

  function showErrors(form, state, details) {
    var rest = [], first;
    details.forEach(detail => {
      var target = input(form, String(detail[0])), message = String(detail[1]);
      if (!target) return rest.push(detail[0] + ": " + message);
      var note = document.createElement("span"), was = target.getAttribute("aria-describedby");
      note.className = "leadflow-error";
      note.id = "leadflow-error-" + ++count;
      note.textContent = message;
      target.insertAdjacentElement("afterend", note);
      state.errors.push([note, target, was]);
      target.setAttribute("aria-invalid", "true");
      target.setAttribute("aria-describedby", (was ? was + " " : "") + note.id);
      first = first || target;
    });
    say(form, [SAY.bad].concat(rest).join(" "), "error");
    if (first) first.focus();
  }

  function clearErrors(state) {
    state.errors.splice(0).forEach(shown => {
      shown[0].remove();
      shown[1].removeAttribute("aria-invalid");
      shown[1][shown[2] == null ? "removeAttribute" : "setAttribute"]("aria-describedby", shown[2]);
    });
  }

  function succeed(form, state, sent) {
    state.body = null;
    try {
      var next = new URL(sent.next, location.href);
      if (sent.next && next.origin == location.origin) return location.assign(next.href);
    } catch (e) { /* not a URL: thank here */ }
    form.reset();
    ["turnstile", "hcaptcha", "grecaptcha"].forEach(name => {
      try { window[name].reset(); } catch (e) { /* none here */ }
    });
    say(form, form.getAttribute("data-leadflow-success") || SAY.ok, "success");
  }

  function answer(form, state, sent, response) {
    var status = response.status, wait = parseInt(response.headers.get("Retry-After"), 10);
    if (status == 201) return succeed(form, state, sent);
    return response.json().catch(() => ({})).then(body => {
      var details = (body && body.details || []).map(d => [d.field, d.message]);
      if (status == 400 && details.length) return showErrors(form, state, details);
      say(form, status != 429 ? SAY[status] || SAY.other : "Too many messages from your network. Please try again " +
        (!(wait > 0) ? "later." : wait < 120 ? "in " + wait + " seconds." : "in " + Math.ceil(wait / 60) + " minutes."),
      "error");
    });
  }

  function busy(form, state, on) {
    form.setAttribute("aria-busy", state.sending = on);
    form.querySelectorAll("[type=submit],button:not([type])").forEach(b => { b.disabled = on; });
  }

  function submit(form) {
    var state = states.get(form) || { errors: [] }, sent = collect(form), json = JSON.stringify(sent.body);
    states.set(form, state);
    if (state.sending) return;
    clearErrors(state);
    if (sent.files.length) return showErrors(form, state, sent.files.map(f => [f, SAY.file]));
    if (state.body != json) state.key = newKey(); // same content, same key: one lead, however retried
    state.body = json;
    var headers = { "Content-Type": "application/json", Accept: "application/json", "Idempotency-Key": state.key };
    if (sent.token) headers["Captcha-Token"] = sent.token;
    busy(form, state, true);
    say(form, "Sending\u2026", "sending");
    fetch(form.getAttribute("data-leadflow") || form.action, { method: "POST", headers: headers, body: json })
      .then(response => answer(form, state, sent, response),
        () => say(form, SAY.net, "error"))
      .finally(() => busy(form, state, false));
  }

  document.addEventListener("submit", event => {
    var form = event.target;
    if (!event.defaultPrevented && form.matches("form[data-leadflow]")) {
      event.preventDefault();
      submit(form);
    }
  });
})();
