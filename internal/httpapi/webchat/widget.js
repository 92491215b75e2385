/* Parley web chat widget. Embed with
 *   <script src="https://parley.example.com/webchat/widget.js" data-channel="CHANNEL_ID" async></script>
 * Optional: data-title="Chat with us", data-open="true" (open at load).
 * No framework and nothing inline: styles are a constructed stylesheet in a
 * shadow root, so it runs under a strict Content-Security-Policy
 * (script-src and connect-src allowing this server are enough). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.dataset.channel) { return; }
  var base = new URL(script.src, location.href).origin;
  var channel = script.dataset.channel;
  var api = base + "/webchat/" + encodeURIComponent(channel);
  var storeKey = "parley-webchat:" + base + ":" + channel;

  var css = [
    ":host{all:initial;font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1f2937}",
    ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:24px;padding:12px 18px;background:#2563eb;color:#fff;font:inherit;font-weight:600;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.2)}",
    ".panel{position:fixed;right:20px;bottom:76px;z-index:2147483000;width:340px;max-width:calc(100vw - 40px);height:480px;max-height:calc(100vh - 110px);display:none;flex-direction:column;background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);overflow:hidden}",
    ".panel.open{display:flex}",
    ".head{background:#2563eb;color:#fff;padding:12px 14px;font-weight:600;display:flex;justify-content:space-between;align-items:center}",
    ".head button{background:none;border:0;color:#fff;font-size:18px;cursor:pointer}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f3f4f6}",
    ".msg{max-width:80%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word}",
    ".msg.in{align-self:flex-end;background:#2563eb;color:#fff;border-bottom-right-radius:3px}",
    ".msg.out{align-self:flex-start;background:#fff;border:1px solid #e5e7eb;border-bottom-left-radius:3px}",
    ".msg.pending{opacity:.6}",
    ".msg img{max-width:100%;border-radius:8px;display:block;margin-bottom:4px}",
    ".choices{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px}",
    ".choice{border:1px solid #2563eb;background:#fff;color:#2563eb;border-radius:14px;padding:5px 11px;font:inherit;cursor:pointer}",
    ".choice:disabled{border-color:#d1d5db;color:#9ca3af;cursor:default}",
    ".rows{display:none;flex-direction:column;gap:4px;margin-top:6px}",
    ".rows.open{display:flex}",
    ".row{text-align:left;border:1px solid #e5e7eb;background:#f9fafb;border-radius:8px;padding:6px 9px;font:inherit;cursor:pointer}",
    ".row small{display:block;color:#6b7280}",
    ".section{font-size:12px;color:#6b7280;margin-top:4px}",
    ".typing{align-self:flex-start;color:#6b7280;font-style:italic;display:none;padding:0 12px 6px;background:#f3f4f6}",
    ".typing.on{display:block}",
    ".notice{color:#b91c1c;font-size:12px;padding:4px 12px;display:none;background:#f3f4f6}",
    ".notice.on{display:block}",
    "form{display:flex;border-top:1px solid #e5e7eb}",
    "input{flex:1;border:0;padding:12px;font:inherit;outline:none}",
    "form button{border:0;background:none;color:#2563eb;font:inherit;font-weight:600;padding:0 14px;cursor:pointer}"
  ].join("\n");

  var host = document.createElement("div");
  host.setAttribute("data-parley-webchat", channel);
  var root = host.attachShadow({ mode: "open" });
  if (root.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === "function") {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  var launcher = el("button", "launcher", script.dataset.launcher || "Chat");
  launcher.type = "button";
  var panel = el("div", "panel");
  panel.setAttribute("role", "dialog");
  var head = el("div", "head");
  head.appendChild(el("span", "", script.dataset.title || "Chat"));
  var close = el("button", "", "\u00d7");
  close.type = "button";
  close.setAttribute("aria-label", "Close");
  head.appendChild(close);
  var log = el("div", "log");
  log.setAttribute("aria-live", "polite");
  var typing = el("div", "typing", "typing\u2026");
  var notice = el("div", "notice");
  var form = el("form");
  var input = el("input");
  input.placeholder = "Write a message\u2026";
  input.maxLength = 4096;
  input.setAttribute("aria-label", "Message");
  var sendBtn = el("button", "", "Send");
  sendBtn.type = "submit";
  form.appendChild(input);
  form.appendChild(sendBtn);
  panel.appendChild(head);
  panel.appendChild(log);
  panel.appendChild(typing);
  panel.appendChild(notice);
  panel.appendChild(form);
  root.appendChild(panel);
  root.appendChild(launcher);

  var token = null;
  try { token = localStorage.getItem(storeKey); } catch (e) { /* storage blocked: a visitor per page view */ }
  var last = "";          // the newest message ID shown (the stream's ?after=)
  var shown = {};         // message ID -> element
  var pending = {};       // client id -> element of a message not yet stored
  var started = false;

  function say(text) {
    notice.textContent = text || "";
    notice.className = text ? "notice on" : "notice";
  }

  function newId() {
    var b = new Uint8Array(12);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  function visitor() {
    if (token) { return Promise.resolve(token); }
    return fetch(api + "/visitors", { method: "POST" }).then(function (r) {
      if (!r.ok) { throw new Error("the chat is not available (" + r.status + ")"); }
      return r.json();
    }).then(function (v) {
      token = v.token;
      try { localStorage.setItem(storeKey, token); } catch (e) { /* ignore */ }
      return token;
    });
  }

  function disableChoices() {
    var olds = log.querySelectorAll(".choice,.row");
    for (var i = 0; i < olds.length; i++) { olds[i].disabled = true; }
  }

  function render(m) {
    if (shown[m.id]) { return; }
    var node;
    if (m.direction === "in" && m.client_id && pending[m.client_id]) {
      node = pending[m.client_id];
      delete pending[m.client_id];
      node.className = "msg in";
    } else {
      node = el("div", "msg " + (m.direction === "in" ? "in" : "out"));
      if (m.media && m.media.url && m.media.type === "image") {
        var img = el("img");
        img.src = m.media.url;
        img.alt = m.media.caption || "";
        node.appendChild(img);
      }
      node.appendChild(document.createTextNode(m.text || ""));
      if (m.direction === "out") {
        disableChoices();
        if (m.buttons && m.buttons.length) {
          var box = el("div", "choices");
          m.buttons.forEach(function (title) {
            var b = el("button", "choice", title);
            b.type = "button";
            b.addEventListener("click", function () { post({ button: title }, title); });
            box.appendChild(b);
          });
          node.appendChild(box);
        }
        if (m.list && m.list.sections) {
          var open = el("button", "choice", m.list.button || "Choose");
          open.type = "button";
          var rows = el("div", "rows");
          m.list.sections.forEach(function (s) {
            if (s.title) { rows.appendChild(el("div", "section", s.title)); }
            (s.rows || []).forEach(function (row) {
              var rb = el("button", "row", row.title);
              rb.type = "button";
              if (row.description) { rb.appendChild(el("small", "", row.description)); }
              rb.addEventListener("click", function () { post({ list_reply: { id: row.id, title: row.title } }, row.title); });
              rows.appendChild(rb);
            });
          });
          open.addEventListener("click", function () { rows.className = rows.className === "rows" ? "rows open" : "rows"; });
          var wrap = el("div", "choices");
          wrap.appendChild(open);
          node.appendChild(wrap);
          node.appendChild(rows);
        }
      }
      log.appendChild(node);
    }
    shown[m.id] = node;
    if (m.id > last) { last = m.id; }
    log.scrollTop = log.scrollHeight;
  }

  function post(body, shownText) {
    body.id = newId();
    var node = el("div", "msg in pending", shownText);
    pending[body.id] = node;
    log.appendChild(node);
    log.scrollTop = log.scrollHeight;
    typing.className = "typing on";
    var attempt = function (n) {
      return visitor().then(function (t) {
        return fetch(api + "/messages", {
          method: "POST",
          headers: { "Authorization": "Bearer " + t, "Content-Type": "application/json" },
          body: JSON.stringify(body)
        });
      }).then(function (r) {
        if (r.status === 429) {
          say("Too many messages: wait " + (r.headers.get("Retry-After") || "a few") + " s.");
          node.className = "msg in pending";
          typing.className = "typing";
          return;
        }
        if (r.status === 401 && n === 0) { token = null; return attempt(1); }
        if (!r.ok) { throw new Error("not sent (" + r.status + ")"); }
        say("");
        if (!started) { stream(); }
      }).catch(function (e) {
        say("Could not send: " + e.message);
        typing.className = "typing";
      });
    };
    attempt(0);
  }

  // stream reads the conversation as server-sent events over fetch (so the
  // token travels in a header, not the URL) and reconnects when it ends.
  var backoff = 1000;
  function stream() {
    if (!token) { return; }
    started = true;
    var url = api + "/stream" + (last ? "?after=" + encodeURIComponent(last) : "");
    fetch(url, { headers: { "Authorization": "Bearer " + token }, cache: "no-store" }).then(function (r) {
      if (r.status === 401) { token = null; started = false; return; }
      if (!r.ok || !r.body) { throw new Error("stream " + r.status); }
      var reader = r.body.getReader();
      var dec = new TextDecoder();
      var buf = "";
      function pump() {
        return reader.read().then(function (res) {
          if (res.done) { return; }
          buf += dec.decode(res.value, { stream: true });
          var i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            handle(buf.slice(0, i));
            buf = buf.slice(i + 2);
          }
          return pump();
        });
      }
      backoff = 1000;
      return pump();
    }).catch(function () {
      backoff = Math.min(backoff * 2, 15000);
    }).then(function () {
      if (token) { setTimeout(stream, backoff); }
    });
  }

  function handle(block) {
    var event = "message", data = "";
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event: ") === 0) { event = line.slice(7); }
      if (line.indexOf("data: ") === 0) { data += line.slice(6); }
    });
    if (!data) { return; }
    var v;
    try { v = JSON.parse(data); } catch (e) { return; }
    if (event === "message") {
      render(v);
      if (v.direction === "out") { typing.className = "typing"; }
    } else if (event === "typing") {
      typing.className = v.typing ? "typing on" : "typing";
    }
  }

  function openPanel() {
    panel.className = "panel open";
    launcher.textContent = "\u00d7";
    input.focus();
    if (!started && token) { stream(); }
  }
  function closePanel() {
    panel.className = "panel";
    launcher.textContent = script.dataset.launcher || "Chat";
  }
  launcher.addEventListener("click", function () { panel.className === "panel" ? openPanel() : closePanel(); });
  close.addEventListener("click", closePanel);
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    post({ text: text }, text);
  });

  function mount() {
    document.body.appendChild(host);
    if (script.dataset.open === "true") { openPanel(); }
  }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
