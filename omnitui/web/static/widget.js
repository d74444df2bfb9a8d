/* omnitui web chat: <script src="https://HOST/webchat/NAME/widget.js" data-lang="az"></script>
   Builds the panel with DOM calls only: message text is always set as textContent. Its words
   come from /config in the visitor's language (omnitui's message catalogs; none are kept here).
   Its styles are widget.css beside it, linked here: no inline style, so a strict CSP holds. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var base = script.src.replace(/widget\.js(\?.*)?$/, "");
  var page = script.getAttribute("data-mode") === "page";
  var asked = script.getAttribute("data-lang") || (page && new URLSearchParams(location.search).get("lang")) || navigator.language || "";
  var wait = 1000;
  (function boot() {
    fetch(base + "config?lang=" + encodeURIComponent(asked)).then(function (r) {
      if (!r.ok) throw new Error("config " + r.status);
      return r.json();
    }).then(start, function () { setTimeout(boot, wait); wait = Math.min(wait * 2, 30000); });
  })();

  function start(c) {
    var T = c.strings, lang = c.lang, dir = c.dir === "rtl" ? "rtl" : "ltr", heading = c.title || T.title;
    var KEY = "omnitui-webchat:" + base;
    var state = load();
    var shown = {};
    var lastId = state.last || "";

    function load() {
      try { return JSON.parse(localStorage.getItem(KEY)) || { log: [] }; } catch (e) { return { log: [] }; }
    }
    function save() {
      state.log = state.log.slice(-200);
      state.last = lastId;
      try { localStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* private mode */ }
    }
    function el(tag, attrs, text) {
      var e = document.createElement(tag);
      for (var k in attrs) e.setAttribute(k, attrs[k]);
      if (text) e.textContent = text;
      return e;
    }
    function randomId() {
      var b = new Uint8Array(12);
      crypto.getRandomValues(b);
      return btoa(String.fromCharCode.apply(null, b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=/g, "");
    }

    var root = el("div", { "class": "oc-root" + (page ? " oc-page" : ""), lang: lang, dir: dir });
    // Styles are a file (the CSP allows no inline style); hidden until they load, never unstyled.
    var sheet = null, links = document.querySelectorAll("link[rel=stylesheet]");
    for (var l = 0; l < links.length; l++) if (links[l].href === base + "widget.css") sheet = links[l];
    function reveal() { root.hidden = false; }
    if (!sheet || !sheet.sheet) {
      root.hidden = true;
      if (!sheet) { sheet = el("link", { rel: "stylesheet", href: base + "widget.css" }); document.head.appendChild(sheet); }
      sheet.addEventListener("load", reveal);
      sheet.addEventListener("error", reveal);
      setTimeout(reveal, 3000);
    }
    var panel = el("section", { "class": "oc-panel", role: page ? "main" : "dialog", "aria-label": heading });
    var head = el("div", { "class": "oc-head" });
    head.appendChild(el("h2", { dir: "auto" }, heading));
    var launch = null;
    if (!page) {
      var closeBtn = el("button", { type: "button", "aria-label": T.close }, "×");
      closeBtn.addEventListener("click", function () { toggle(false); });
      head.appendChild(closeBtn);
      launch = el("button", { type: "button", "class": "oc-launch", "aria-expanded": "false", "aria-label": T.open }, heading);
      launch.addEventListener("click", function () { toggle(panel.hidden); });
      panel.hidden = true;
      root.appendChild(launch);
    }
    var list = el("ul", { "class": "oc-log", role: "log", "aria-live": "polite", "aria-label": T.log });
    var status = el("div", { "class": "oc-status", role: "status" });
    // Outside the log: the typing line is announced, never kept or saved.
    var typing = el("div", { "class": "oc-typing", "aria-live": "polite", dir: "auto" });
    var form = el("form", { "class": "oc-form" });
    var input = el("textarea", { "aria-label": T.input, placeholder: T.input, dir: "auto", maxlength: "4000", rows: "2" });
    var send = el("button", { type: "submit" }, T.send);
    form.appendChild(input);
    form.appendChild(send);
    var details = el("details", { "class": "oc-details" });
    details.appendChild(el("summary", {}, T.details));
    var nameIn = el("input", { type: "text", "aria-label": T.name, placeholder: T.name, dir: "auto", maxlength: "200", autocomplete: "name" });
    var mailIn = el("input", { type: "email", "aria-label": T.email, placeholder: T.email, dir: "ltr", maxlength: "254", autocomplete: "email" });
    var saveBtn = el("button", { type: "button" }, T.save);
    details.appendChild(nameIn);
    details.appendChild(mailIn);
    details.appendChild(saveBtn);
    panel.appendChild(head);
    panel.appendChild(list);
    panel.appendChild(typing);
    panel.appendChild(status);
    panel.appendChild(form);
    var away = el("p", { "class": "oc-away", role: "status", dir: "auto", hidden: "" }, T.away);
    panel.appendChild(away);
    panel.appendChild(details);
    root.appendChild(panel);
    document.body.appendChild(root);

    function toggle(open) {
      panel.hidden = !open;
      if (launch) launch.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) { input.focus(); connect(); } else if (launch) launch.focus();
    }
    panel.addEventListener("keydown", function (e) { if (e.key === "Escape" && !page) toggle(false); });

    function show(ev, keep) {
      if (!ev.id || shown[ev.id]) return;
      shown[ev.id] = true;
      var li = el("li", { dir: "auto", "class": "oc-" + (ev.kind === "visitor" ? "visitor" : ev.kind === "note" ? "note" : "agent") });
      // Its own dir keeps the hidden label out of the li's dir="auto" (the message text decides).
      var who = el("span", { "class": "oc-sr", dir: dir }, (ev.kind === "visitor" ? T.you : T.agent) + " ");
      if (ev.kind !== "note") li.appendChild(who);
      li.appendChild(document.createTextNode(ev.text));
      var files = [];
      (Array.isArray(ev.files) ? ev.files : []).forEach(function (f) {
        // Only a link the server made, to its own files: never another scheme or place.
        if (!f || typeof f.url !== "string" || !/^files\/[0-9a-f]{64}\/[^\/?#]+\?[^#]*$/.test(f.url)) return;
        var name = String(f.name), a = el("a", { "class": "oc-file", href: base + f.url, download: name, rel: "noopener" });
        a.appendChild(el("span", { dir: "auto" }, name));
        a.appendChild(document.createTextNode(" (" + bytes(f.size) + ")"));
        li.appendChild(a);
        files.push({ name: name, size: f.size, type: String(f.type), url: f.url });
      });
      // Choices a reply offers (a survey's 1-5): a press is stored as the visitor's message.
      var choices = (Array.isArray(ev.buttons) ? ev.buttons : []).filter(function (b) { return b && typeof b.label === "string" && typeof b.data === "string"; });
      if (choices.length) {
        var row = el("div", { "class": "oc-choices", role: "group" });
        choices.forEach(function (b) {
          var btn = el("button", { type: "button", dir: "auto" }, b.label);
          btn.addEventListener("click", function () { press(ev.id, b, row); });
          row.appendChild(btn);
        });
        li.appendChild(row);
      }
      list.appendChild(li);
      list.scrollTop = list.scrollHeight;
      if (keep) { state.log.push({ id: ev.id, kind: ev.kind, text: ev.text, files: files.length ? files : undefined, buttons: choices.length ? choices : undefined }); save(); }
    }
    function press(id, b, row) {
      var all = row.querySelectorAll("button"), i;
      for (i = 0; i < all.length; i++) all[i].disabled = true;
      // One id for every retry: the press is stored once.
      api("press", { id: randomId(), data: b.data, label: b.label }, 3).then(function (r) {
        if (!r.ok) throw new Error("press " + r.status);
        row.remove();
        state.log.forEach(function (e) { if (e.id === id) delete e.buttons; });
        return r.json().then(function (j) { show({ id: j.id, kind: "visitor", text: b.label }, true); });
      }).catch(function () {
        status.textContent = T.failed;
        for (i = 0; i < all.length; i++) all[i].disabled = false;
      });
    }
    function bytes(n) {
      n = Number(n) || 0;
      return n < 1024 ? n + " B" : n < 1048576 ? Math.round(n / 1024) + " KB" : (n / 1048576).toFixed(1) + " MB";
    }
    for (var i = 0; i < state.log.length; i++) show(state.log[i], false);

    function token() {
      if (state.token) return Promise.resolve(state.token);
      return fetch(base + "token", { method: "POST" }).then(function (r) {
        if (!r.ok) throw new Error("token " + r.status);
        return r.json();
      }).then(function (j) { state.token = j.token; save(); return j.token; });
    }
    function api(path, body, tries) {
      return token().then(function (t) {
        return fetch(base + path, { method: "POST", headers: { "Content-Type": "application/json", Authorization: "Bearer " + t }, body: JSON.stringify(body) });
      }).then(function (r) {
        if (r.status === 403 && tries > 0) { delete state.token; save(); return api(path, body, tries - 1); }
        return r;
      }, function (e) {
        if (tries > 0) return new Promise(function (ok) { setTimeout(ok, 1500); }).then(function () { return api(path, body, tries - 1); });
        throw e;
      });
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      send.disabled = true;
      // The same id on every retry: the server stores the message once.
      api("messages", { id: randomId(), text: text }, 3).then(function (r) {
        if (r.status === 429) { status.textContent = T.fast; return; }
        if (!r.ok) { status.textContent = T.failed; return; }
        status.textContent = "";
        input.value = "";
        return r.json().then(function (j) { show({ id: j.id, kind: "visitor", text: text }, true); });
      }).catch(function () { status.textContent = T.failed; }).then(function () { send.disabled = false; input.focus(); });
    });
    var pinged = 0, typingTimer;
    input.addEventListener("input", function () {
      // Only in a conversation: before one, no agent has anywhere to see it.
      if (!state.token || !state.log.length || !input.value.trim() || Date.now() - pinged < 3000) return;
      pinged = Date.now();
      api("typing", {}, 0).catch(function () {});
    });
    function agentTyping(on) {
      clearTimeout(typingTimer);
      typing.textContent = on ? T.typing : "";
      if (on) typingTimer = setTimeout(agentTyping, 8000, false);
    }
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : send.click(); }
    });
    saveBtn.addEventListener("click", function () {
      api("profile", { name: nameIn.value, email: mailIn.value }, 2).then(function (r) {
        status.textContent = r.ok ? "" : T.failed;
        if (r.ok) { details.open = false; show({ id: "note-saved-" + Date.now(), kind: "note", text: T.saved }, false); }
      }).catch(function () { status.textContent = T.failed; });
    });

    var streaming = false;
    var delay = 1000;
    function connect() {
      if (streaming) return;
      streaming = true;
      token().then(function (t) {
        var h = { Authorization: "Bearer " + t };
        if (lastId) h["Last-Event-ID"] = lastId;
        return fetch(base + "events", { headers: h, cache: "no-store" });
      }).then(function (r) {
        if (r.status === 403) { delete state.token; save(); throw new Error("token"); }
        if (!r.ok || !r.body) throw new Error("events " + r.status);
        status.textContent = "";
        delay = 1000;
        var reader = r.body.getReader();
        var dec = new TextDecoder();
        var buf = "";
        function pump() {
          return reader.read().then(function (part) {
            if (part.done) return;
            buf += dec.decode(part.value, { stream: true });
            var cut;
            while ((cut = buf.indexOf("\n\n")) >= 0) {
              var block = buf.slice(0, cut);
              buf = buf.slice(cut + 2);
              var id = "", data = "";
              block.split("\n").forEach(function (line) {
                if (line.indexOf("id: ") === 0) id = line.slice(4);
                else if (line.indexOf("data: ") === 0) data += line.slice(6);
              });
              if (!data) continue;
              try {
                var ev = JSON.parse(data);
                if (ev.kind === "typing") { agentTyping(ev.typing); continue; }
                if (ev.kind === "reply") agentTyping(false);
                show(ev, true);
              } catch (e) { /* not ours */ }
              if (id) { lastId = id; save(); }
            }
            return pump();
          });
        }
        return pump();
      }).catch(function () { status.textContent = T.offline; delay = Math.min(delay * 2, 30000); })
        .then(function () { streaming = false; setTimeout(connect, delay); });
    }

    if (c.greeting) {
      var g = el("li", { dir: "auto", "class": "oc-agent" });
      g.textContent = c.greeting;
      list.insertBefore(g, list.firstChild);
    }
    if (c.agents_active === false) { away.hidden = false; details.open = true; }
    if (page || state.log.length) connect();
  }
})();
