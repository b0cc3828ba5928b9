/*
 * Mobility assistant: the website chat widget. No dependencies, no build step.
 *
 * Embed it in any page with one tag (the stylesheet is loaded from beside the script):
 *
 *   <script src="https://assistant.example/widget.js" data-server-url="https://assistant.example" defer></script>
 *
 * Optional settings, as data- attributes on that tag or as an object set before it (the object wins):
 *
 *   window.MobilityWidget = {
 *     serverUrl: "https://assistant.example",   // the Rasa server; default: this page's origin
 *     language: "nl",                           // "en" or "nl"; default: the page's <html lang>
 *     title: "Study abroad assistant",          // header title
 *     colours: {primary: "#1d4f91"},            // also onPrimary, background, text (colors is accepted too)
 *     position: "right",                        // or "left"
 *     timeout: 15000                            // ms before a request counts as failed
 *   };
 *
 * Afterwards window.MobilityWidget.open(), .close() and .newConversation() work, and a click on any element
 * with the attribute data-mobility-widget-open opens the chat.
 *
 * It talks to the assistant over Rasa's REST channel: POST {"sender", "message"} to
 * <serverUrl>/webhooks/rest/webhook. The sender id and the conversation are kept in localStorage, so the
 * conversation survives a reload; "New conversation" starts afresh with a new sender id.
 *
 * Security: message text (the user's and the assistant's) only ever reaches the page through textContent and
 * createTextNode; links are built with createElement, and only for http:, https: and mailto: addresses.
 * This file never assigns HTML markup.
 */
(function () {
  "use strict";

  var HOST_ID = "mobility-widget";
  if (document.getElementById(HOST_ID)) return; // embedded twice: the first one wins

  var script = document.currentScript ||
    document.querySelector('script[src*="widget.js"][data-server-url]') ||
    document.querySelector('script[src*="widget.js"]');

  // -- settings -----------------------------------------------------------------------------------------
  var given = (window.MobilityWidget && typeof window.MobilityWidget === "object") ? window.MobilityWidget : {};
  var data = (script && script.dataset) || {};

  function setting(name, fallback) {
    if (given[name] !== undefined && given[name] !== null && given[name] !== "") return given[name];
    if (data[name] !== undefined && data[name] !== "") return data[name];
    return fallback;
  }

  var STRINGS = {
    en: {
      launcher: "Ask a question",
      launcherLabel: "Ask a question: open the chat with the study abroad assistant",
      title: "Study abroad assistant",
      subtitle: "Automated answers from the official pages",
      close: "Close the chat",
      newConversation: "New conversation",
      newConversationDone: "A new conversation has started.",
      conversation: "Conversation",
      you: "You:",
      assistant: "Assistant:",
      inputLabel: "Your question",
      placeholder: "Type your question\u2026",
      send: "Send",
      human: "Talk to a person",
      typing: "The assistant is typing\u2026",
      suggestions: "Suggested replies",
      unreachable: "The assistant can\u2019t be reached right now. Check your internet connection and try again.",
      slow: "The assistant is taking too long to answer. Please try again.",
      failed: "Something went wrong on the assistant\u2019s side. Please try again.",
      retry: "Retry",
      newTab: "(opens in a new tab)",
      image: "Open the image"
    },
    nl: {
      launcher: "Stel een vraag",
      launcherLabel: "Stel een vraag: open de chat met de assistent voor studeren in het buitenland",
      title: "Assistent studeren in het buitenland",
      subtitle: "Automatische antwoorden (in het Engels) uit de offici\u00eble pagina\u2019s",
      close: "De chat sluiten",
      newConversation: "Nieuw gesprek",
      newConversationDone: "Er is een nieuw gesprek gestart.",
      conversation: "Gesprek",
      you: "Jij:",
      assistant: "Assistent:",
      inputLabel: "Je vraag",
      placeholder: "Typ je vraag\u2026",
      send: "Versturen",
      human: "Met een medewerker praten",
      typing: "De assistent is aan het typen\u2026",
      suggestions: "Voorgestelde antwoorden",
      unreachable: "De assistent is nu niet bereikbaar. Controleer je internetverbinding en probeer het opnieuw.",
      slow: "De assistent doet er te lang over om te antwoorden. Probeer het opnieuw.",
      failed: "Er ging iets mis bij de assistent. Probeer het opnieuw.",
      retry: "Opnieuw proberen",
      newTab: "(opent in een nieuw tabblad)",
      image: "De afbeelding openen"
    }
  };

  function pickLanguage(value) {
    var v = String(value || "").toLowerCase();
    return v.indexOf("nl") === 0 ? "nl" : "en";
  }

  var LANG = pickLanguage(setting("language", document.documentElement.getAttribute("lang")));
  var T = STRINGS[LANG];
  var BOT_LANG = String(setting("botLanguage", "en"));
  var TITLE = String(setting("title", T.title));
  var SUBTITLE = String(setting("subtitle", T.subtitle));
  var SERVER = String(setting("serverUrl", window.location.origin)).replace(/\/+$/, "");
  var ENDPOINT = SERVER + String(setting("webhookPath", "/webhooks/rest/webhook"));
  var TIMEOUT = Math.max(1000, parseInt(setting("timeout", 15000), 10) || 15000);
  var POSITION = setting("position", "right") === "left" ? "left" : "right";
  var GREET = String(setting("greet", "true")) !== "false";
  var MAX_HISTORY = 200;
  var MAX_INPUT = 2000;

  // -- storage: localStorage when the browser allows it, memory otherwise ---------------------------------
  var KEY = "mobility-widget:" + SERVER + ":";
  var memory = {};
  function storage(kind) {
    try {
      var s = window[kind];
      s.setItem(KEY + "probe", "1");
      s.removeItem(KEY + "probe");
      return s;
    } catch (e) {
      return null;
    }
  }
  var local = storage("localStorage");
  var session = storage("sessionStorage");
  function load(store, name) {
    try {
      return store ? store.getItem(KEY + name) : (memory[name] === undefined ? null : memory[name]);
    } catch (e) {
      return null;
    }
  }
  function save(store, name, value) {
    try {
      if (!store) throw new Error("no storage");
      if (value === null) store.removeItem(KEY + name); else store.setItem(KEY + name, value);
    } catch (e) {
      if (value === null) delete memory[name]; else memory[name] = value;
    }
  }

  function newSenderId() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === "function") return "web-" + c.randomUUID();
    var bytes = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(bytes);
    else for (var i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    return "web-" + Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function validEntry(e) {
    return e && (e.who === "user" || e.who === "bot") && typeof e.text === "string";
  }
  function loadHistory() {
    try {
      var list = JSON.parse(load(local, "history") || "[]");
      return Array.isArray(list) ? list.filter(validEntry) : [];
    } catch (e) {
      return [];
    }
  }

  var sender = load(local, "sender");
  if (!sender || sender.length > 128) {
    sender = newSenderId();
    save(local, "sender", sender);
  }
  var history = loadHistory();

  function remember(entry) {
    history.push(entry);
    if (history.length > MAX_HISTORY) history = history.slice(history.length - MAX_HISTORY);
    save(local, "history", JSON.stringify(history));
  }

  // -- DOM helpers: text goes in as text, always ----------------------------------------------------------
  function h(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === false || v === null || v === undefined) return;
        if (k === "text") node.textContent = v;
        else node.setAttribute(k, v === true ? "" : String(v));
      });
    }
    (children || []).forEach(function (c) {
      if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    close: "M6 6l12 12M18 6L6 18",
    send: "M4 12l16-8-6 16-2.5-6.5z",
    restart: "M4 12a8 8 0 1 0 2.3-5.7M4 4v4h4",
    person: "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm-7 8a7 7 0 0 1 14 0",
    retry: "M20 12a8 8 0 1 1-2.3-5.7M20 4v4h-4"
  };
  function icon(name) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "icon");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  // -- links: http, https and mailto only, built as elements ---------------------------------------------
  var SAFE_PROTOCOLS = {"http:": true, "https:": true, "mailto:": true};
  function safeHref(raw) {
    var value = String(raw || "").trim();
    if (/^www\./i.test(value)) value = "https://" + value;
    if (!/^(https?:\/\/|mailto:)/i.test(value)) return null;
    try {
      var url = new URL(value);
      return SAFE_PROTOCOLS[url.protocol] ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function link(href, label) {
    var a = h("a", {href: href, target: "_blank", rel: "noopener noreferrer"}, [label]);
    a.appendChild(h("span", {"class": "sr-only", text: " " + T.newTab}));
    return a;
  }

  // [label](url) | bare URL | mailto:... | e-mail address
  var LINKS = /\[([^\]\n]{1,300})\]\(((?:[^()\s]|\([^()\s]{0,200}\)){1,2048})\)|((?:https?:\/\/|www\.)[^\s<>"'`]+)|(mailto:[^\s<>"'`]+)|([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})/g;

  function trimUrl(url) {
    // trailing punctuation is the sentence's, not the URL's; a ")" only when it has no "(" partner
    var tail = "";
    while (url.length) {
      var last = url.charAt(url.length - 1);
      if (".,;:!?'\"".indexOf(last) >= 0 ||
          (last === ")" && (url.split("(").length - 1) < (url.split(")").length - 1))) {
        tail = last + tail;
        url = url.slice(0, -1);
      } else {
        break;
      }
    }
    return [url, tail];
  }

  // Bot text as nodes: plain text nodes, and <a> elements for the safe links. Newlines stay newlines
  // (the stylesheet shows them with white-space: pre-wrap).
  function richText(text) {
    var frag = document.createDocumentFragment();
    var last = 0;
    var m;
    LINKS.lastIndex = 0;
    while ((m = LINKS.exec(text)) !== null) {
      var before = text.slice(last, m.index);
      var node = null;
      var tail = "";
      if (m[1] !== undefined) {
        var href = safeHref(m[2]);
        node = href ? link(href, m[1]) : null;
      } else if (m[3] !== undefined || m[4] !== undefined) {
        var parts = trimUrl(m[3] !== undefined ? m[3] : m[4]);
        var url = safeHref(parts[0]);
        if (url) {
          node = link(url, parts[0]);
          tail = parts[1];
        }
      } else if (m[5] !== undefined) {
        var mail = safeHref("mailto:" + m[5]);
        node = mail ? link(mail, m[5]) : null;
      }
      if (!node) continue; // not a safe link: it stays in the text, as text
      if (before) frag.appendChild(document.createTextNode(before));
      frag.appendChild(node);
      if (tail) frag.appendChild(document.createTextNode(tail));
      last = m.index + m[0].length;
    }
    if (last < text.length) frag.appendChild(document.createTextNode(text.slice(last)));
    return frag;
  }

  // -- the interface ----------------------------------------------------------------------------------------
  var host = h("div", {id: HOST_ID});
  var root = host.attachShadow ? host.attachShadow({mode: "open"}) : host;
  var cssHref = String(setting("cssUrl", script && script.src ? new URL("widget.css", script.src).href : "widget.css"));
  var stylesheet = h("link", {rel: "stylesheet", href: cssHref});
  var frame = h("div", {"class": "frame pos-" + POSITION, lang: LANG, dir: "ltr", hidden: true});

  var launcher = h("button", {type: "button", "class": "launcher", "aria-label": T.launcherLabel,
    "aria-expanded": "false", "aria-controls": "mw-panel"}, [icon("chat"), h("span", {text: T.launcher})]);

  var titleId = "mw-title";
  var newButton = h("button", {type: "button", "class": "icon-button", "aria-label": T.newConversation,
    title: T.newConversation, "data-action": "new"}, [icon("restart")]);
  var humanButton = h("button", {type: "button", "class": "text-button", "data-action": "human"},
    [icon("person"), h("span", {text: T.human})]);
  var closeButton = h("button", {type: "button", "class": "icon-button", "aria-label": T.close, title: T.close},
    [icon("close")]);

  var log = h("div", {"class": "log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
    "aria-label": T.conversation});
  var typing = h("div", {"class": "typing", hidden: true, "aria-hidden": "true"},
    [h("span"), h("span"), h("span")]);
  var scroller = h("div", {"class": "scroller"}, [log, typing]);
  var status = h("div", {"class": "sr-only", role: "status", "aria-live": "polite"});

  var input = h("input", {type: "text", id: "mw-input", "class": "input", autocomplete: "off",
    maxlength: MAX_INPUT, placeholder: T.placeholder, enterkeyhint: "send"});
  var sendButton = h("button", {type: "submit", "class": "send", "aria-label": T.send, title: T.send}, [icon("send")]);
  var form = h("form", {"class": "composer", novalidate: true}, [
    h("label", {"for": "mw-input", "class": "sr-only", text: T.inputLabel}), input, sendButton]);

  var panel = h("section", {id: "mw-panel", "class": "panel", role: "dialog", "aria-modal": "false",
    "aria-labelledby": titleId, hidden: true}, [
    h("header", {"class": "header"}, [
      h("div", {"class": "heading"}, [
        h("h2", {id: titleId, "class": "title", text: TITLE}),
        h("p", {"class": "subtitle", text: SUBTITLE})]),
      newButton,
      closeButton]),
    scroller,
    form,
    h("div", {"class": "footer"}, [humanButton]),
    status
  ]);

  frame.appendChild(launcher);
  frame.appendChild(panel);
  root.appendChild(stylesheet);
  root.appendChild(frame);
  function reveal() { frame.hidden = false; }
  stylesheet.addEventListener("load", reveal);
  stylesheet.addEventListener("error", reveal); // unstyled but usable beats invisible
  setTimeout(reveal, 3000);

  // -- rendering ----------------------------------------------------------------------------------------------
  function renderEntry(entry, withReplies) {
    var mine = entry.who === "user";
    var body = h("div", {"class": "text"});
    body.appendChild(mine ? document.createTextNode(entry.text) : richText(entry.text));
    if (!mine && typeof entry.image === "string") {
      var img = safeHref(entry.image);
      if (img && img.indexOf("mailto:") !== 0) {
        if (entry.text) body.appendChild(document.createTextNode("\n"));
        body.appendChild(link(img, T.image));
      }
    }
    var item = h("div", {"class": "msg " + (mine ? "user" : "bot"), lang: mine ? false : BOT_LANG}, [
      h("span", {"class": "sr-only", text: (mine ? T.you : T.assistant) + " "}), body]);
    if (withReplies && Array.isArray(entry.buttons) && entry.buttons.length) {
      // the quick replies follow the bubble, as their own row
      var frag = document.createDocumentFragment();
      frag.appendChild(item);
      frag.appendChild(renderReplies(entry.buttons, mine ? false : BOT_LANG));
      return frag;
    }
    return item;
  }

  function renderReplies(buttons, lang) {
    var group = h("div", {"class": "replies", role: "group", "aria-label": T.suggestions});
    buttons.forEach(function (b) {
      if (!b || typeof b.title !== "string" || typeof b.payload !== "string") return;
      var href = /^(https?:|mailto:)/i.test(b.payload) ? safeHref(b.payload) : null;
      if (href) {
        var a = link(href, b.title);
        a.className = "reply";
        if (lang) a.setAttribute("lang", lang);
        group.appendChild(a);
      } else {
        var btn = h("button", {type: "button", "class": "reply", lang: lang, text: b.title});
        btn.addEventListener("click", function () { send(b.payload, b.title); });
        group.appendChild(btn);
      }
    });
    return group;
  }

  function removeReplies() {
    Array.prototype.forEach.call(log.querySelectorAll(".replies"), function (g) {
      if (g.contains(root.activeElement || document.activeElement)) input.focus();
      g.remove();
    });
  }

  function renderHistory() {
    while (log.firstChild) log.removeChild(log.firstChild);
    var lastUser = -1;
    history.forEach(function (e, i) { if (e.who === "user") lastUser = i; });
    history.forEach(function (e, i) { log.appendChild(renderEntry(e, i > lastUser)); });
  }

  function scrollToEnd() { scroller.scrollTop = scroller.scrollHeight; }
  // A long answer is read from its start: scroll so the question and the first new message are at the top when
  // they do not fit.
  function scrollToShow(first) {
    var before = first.previousElementSibling;
    var anchor = before && before.classList.contains("user") &&
      first.offsetTop + 48 - before.offsetTop < scroller.clientHeight / 2 ? before : first;
    scroller.scrollTop = Math.min(anchor.offsetTop - 12, scroller.scrollHeight);
  }

  function addUser(text) {
    var entry = {who: "user", text: text};
    remember(entry);
    log.appendChild(renderEntry(entry, false));
    scrollToEnd();
  }

  function addBot(messages) {
    var first = null;
    messages.forEach(function (m) {
      if (!m || typeof m !== "object") return;
      var entry = {who: "bot", text: typeof m.text === "string" ? m.text : ""};
      if (Array.isArray(m.buttons)) {
        entry.buttons = m.buttons.filter(function (b) {
          return b && typeof b.title === "string" && typeof b.payload === "string";
        }).map(function (b) { return {title: b.title, payload: b.payload}; });
      }
      if (typeof m.image === "string" && /^https?:/i.test(m.image) && safeHref(m.image)) entry.image = m.image;
      if (!entry.text && !(entry.buttons && entry.buttons.length) && !entry.image) return;
      remember(entry);
      var node = renderEntry(entry, true);
      if (!first) first = node.nodeType === 11 ? node.firstChild : node;
      log.appendChild(node);
    });
    if (first) scrollToShow(first);
  }

  var errorNode = null;
  function clearError() {
    if (errorNode) {
      if (errorNode.contains(root.activeElement || document.activeElement)) input.focus();
      errorNode.remove();
      errorNode = null;
    }
  }
  function showError(message, retry) {
    clearError();
    var again = h("button", {type: "button", "class": "retry"}, [icon("retry"), h("span", {text: T.retry})]);
    again.addEventListener("click", function () {
      clearError(); // the button goes: focus moves to the input, not to nowhere
      input.focus();
      retry();
    });
    errorNode = h("div", {"class": "msg error", role: "alert"}, [h("p", {"class": "text", text: message}), again]);
    log.appendChild(errorNode);
    scrollToEnd();
  }

  function setTyping(on) {
    typing.hidden = !on;
    status.textContent = on ? T.typing : "";
    if (on) scrollToEnd();
  }

  // -- talking to the assistant ------------------------------------------------------------------------------
  var busy = false;
  var generation = 0;
  var inFlight = null;

  function setBusy(on) {
    busy = on;
    sendButton.setAttribute("aria-disabled", on ? "true" : "false");
    panel.setAttribute("aria-busy", on ? "true" : "false");
  }

  function request(message) {
    var mine = ++generation;
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timedOut = false;
    var timer = setTimeout(function () {
      timedOut = true;
      if (controller) controller.abort();
    }, TIMEOUT);
    inFlight = controller;
    setBusy(true);
    setTyping(true);
    clearError();

    var options = {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({sender: sender, message: message, metadata: {language: LANG}})
    };
    if (controller) options.signal = controller.signal;

    var slowGuard = new Promise(function (_, reject) {
      // without AbortController the request cannot be stopped, but the user is not left waiting
      if (!controller) setTimeout(function () { reject(new Error("timeout")); }, TIMEOUT + 10);
    });

    Promise.race([fetch(ENDPOINT, options), slowGuard])
      .then(function (response) {
        if (!response.ok) {
          var e = new Error("HTTP " + response.status);
          e.status = response.status;
          throw e;
        }
        return response.text();
      })
      .then(function (body) {
        var messages = body ? JSON.parse(body) : [];
        if (mine !== generation) return;
        finish();
        addBot(Array.isArray(messages) ? messages : []);
      })
      .catch(function (err) {
        if (mine !== generation) return;
        finish();
        var text = timedOut || (err && err.message === "timeout") ? T.slow
          : (err && err.status) ? T.failed + " (HTTP " + err.status + ")"
          : (err instanceof SyntaxError) ? T.failed
          : T.unreachable;
        showError(text, function () { request(message); });
      });

    function finish() {
      clearTimeout(timer);
      inFlight = null;
      setTyping(false);
      setBusy(false);
    }
  }

  function send(message, shown) {
    if (busy) return false;
    removeReplies();
    clearError();
    addUser(shown);
    request(message);
    return true;
  }

  // -- opening, closing, starting afresh ---------------------------------------------------------------------
  function isOpen() { return !panel.hidden; }

  function open(focus) {
    if (!isOpen()) {
      panel.hidden = false;
      launcher.hidden = true;
      launcher.setAttribute("aria-expanded", "true");
      save(session, "open", "1");
      scrollToEnd();
      if (!history.length && !busy && GREET) request("/greet");
    }
    if (focus !== false) input.focus();
  }

  function close() {
    if (!isOpen()) return;
    var wasInside = host.contains(document.activeElement) || document.activeElement === host;
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    save(session, "open", null);
    if (wasInside) launcher.focus();
  }

  function newConversation() {
    generation++; // an answer still on its way belongs to the old conversation
    if (inFlight) inFlight.abort();
    inFlight = null;
    setTyping(false);
    setBusy(false);
    clearError();
    sender = newSenderId();
    save(local, "sender", sender);
    history = [];
    save(local, "history", null);
    renderHistory();
    status.textContent = T.newConversationDone;
    input.value = "";
    input.focus();
    if (GREET) request("/greet");
  }

  launcher.addEventListener("click", function () { open(true); });
  closeButton.addEventListener("click", close);
  newButton.addEventListener("click", newConversation);
  humanButton.addEventListener("click", function () {
    if (send("/ask_human", T.human)) input.focus();
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.replace(/\s+$/, "").replace(/^\s+/, "");
    if (!text) { input.focus(); return; }
    if (send(text, text)) input.value = "";
    input.focus();
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape" || event.key === "Esc") {
      event.preventDefault();
      event.stopPropagation();
      close();
    }
  });
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target && target.closest && target.closest("[data-mobility-widget-open]")) {
      event.preventDefault();
      open(true);
    }
  });

  // -- colours: CSS custom properties, checked -------------------------------------------------------------
  function rgb(colour) {
    var probe = document.createElement("span");
    probe.style.color = colour;
    if (!probe.style.color) return null;
    document.body.appendChild(probe);
    var m = getComputedStyle(probe).color.match(/[\d.]+/g);
    probe.remove();
    return m ? m.slice(0, 3).map(Number) : null;
  }
  function luminance(c) {
    var v = c.map(function (x) {
      x /= 255;
      return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  }
  function contrast(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }
  function applyColours(colours) {
    if (!colours || typeof colours !== "object") return;
    var names = {primary: "--mw-primary", onPrimary: "--mw-on-primary", background: "--mw-background",
      text: "--mw-text"};
    Object.keys(names).forEach(function (k) {
      if (typeof colours[k] === "string" && rgb(colours[k])) host.style.setProperty(names[k], colours[k]);
    });
    var primary = typeof colours.primary === "string" ? rgb(colours.primary) : null;
    if (primary) {
      var onPrimary = typeof colours.onPrimary === "string" ? rgb(colours.onPrimary) : null;
      if (!onPrimary) {
        // the better of black and white on the primary colour
        var white = contrast(primary, [255, 255, 255]) >= contrast(primary, [0, 0, 0]);
        host.style.setProperty("--mw-on-primary", white ? "#ffffff" : "#000000");
        onPrimary = white ? [255, 255, 255] : [0, 0, 0];
      }
      if (contrast(primary, onPrimary) < 4.5 || contrast(primary, [255, 255, 255]) < 4.5) {
        if (window.console) console.warn("MobilityWidget: colours.primary " + colours.primary +
          " is below the WCAG AA contrast of 4.5:1 against white or its text colour");
      }
    }
  }

  // -- start ---------------------------------------------------------------------------------------------------
  renderHistory();

  function mount() {
    document.body.appendChild(host);
    applyColours(given.colours || given.colors || null);
    if (load(session, "open") === "1") open(false); // the chat was open on the previous page: keep it open
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  // the same conversation in another tab: follow it
  window.addEventListener("storage", function (event) {
    if (event.storageArea !== local || !event.key || event.key.indexOf(KEY) !== 0) return;
    if (event.key === KEY + "sender" && event.newValue) sender = event.newValue;
    if (event.key === KEY + "history" && !busy) {
      history = loadHistory();
      clearError();
      renderHistory();
      scrollToEnd();
    }
  });

  var api = window.MobilityWidget && typeof window.MobilityWidget === "object" ? window.MobilityWidget : {};
  api.open = function () { open(true); };
  api.close = close;
  api.newConversation = newConversation;
  window.MobilityWidget = api;
})();
