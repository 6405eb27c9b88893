/* The test player: one question at a time, auto-save with an optimistic lock, a copy of every
   change in localStorage, recovery after a crash or reload, and sync after being offline.

   Protocol (see attempts/api.py): PATCH {api}/progress with {version, position, answers,
   marks, notes, time_spent}; 200 returns the saved state and its new version; 409
   stale_version carries the server's state in `current` (we merge: our unsaved changes win,
   the server wins everywhere else, then save again); 429 says when to retry. Nothing the
   student did is dropped before the server accepted it: until then it lives in localStorage.

   Loaded as a file: the Content-Security-Policy forbids inline scripts. */
(function () {
  "use strict";

  var player = document.getElementById("player");
  var done = document.getElementById("attempt-done");
  if (done) {
    // The review page: the attempt is closed, a local copy has nothing left to recover.
    try {
      var doneKey = "studyhall:attempt:" + done.getAttribute("data-attempt-id");
      localStorage.removeItem(doneKey);
      localStorage.removeItem(doneKey + ":recovery");
    } catch (e) { /* private mode */ }
  }
  if (!player) { return; }

  var form = document.getElementById("attempt-form");
  var attemptId = player.getAttribute("data-attempt-id");
  var api = player.getAttribute("data-api");
  var storageKey = "studyhall:attempt:" + attemptId;
  var afterEach = player.getAttribute("data-feedback-mode") === "after_each";
  var paused = player.getAttribute("data-status") === "paused";
  var count = parseInt(player.getAttribute("data-count"), 10);
  var statusLine = document.getElementById("save-status");
  var announcer = document.getElementById("time-announcer");
  var reviewUrl = "/attempts/" + attemptId + "/review";
  var SAVE_EVERY_MS = 30000;
  var TEXT_DELAY_MS = 800;
  var NOTE_DELAY_MS = 1500;

  // ------------------------------------------------------------------ state

  var state = {
    base: parseInt(player.getAttribute("data-version"), 10), // the server version we build on
    position: parseInt(player.getAttribute("data-position"), 10) || 0,
    answers: {}, marks: {}, notes: {}, time: {},
    dirty: {},      // position -> {answer: seq, mark: seq, note: seq}: changed, not yet accepted
    confirmed: {},  // after-each feedback: answers the student asked to check (only those are sent)
    locked: {}
  };
  var server = { answers: {}, marks: {}, notes: {} };
  var seq = 0;
  var closed = false;
  // Set by pagehide: the page is being put away and starts no save of its own. A save begun
  // now could not record its reply, and the document may still see events (Chromium fires
  // "online" in a closed tab whose emulated offline state is lifted): the local copy is what
  // the next visit recovers from. Cleared if the back/forward cache brings the page back.
  var leaving = false;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function sectionOf(position) { return document.getElementById("q-" + (position + 1)); }
  function sections() { return Array.prototype.slice.call(form.querySelectorAll("section.question")); }

  function readResponse(section) {
    var position = section.getAttribute("data-position");
    var type = section.getAttribute("data-type");
    var inputs = section.querySelectorAll('[name="answer-' + position + '"]');
    if (type === "multiple_response") {
      var choices = [];
      inputs.forEach(function (input) { if (input.checked) { choices.push(input.value); } });
      return choices.length ? { choices: choices } : null;
    }
    if (type === "short_answer" || type === "numerical") {
      var text = inputs.length ? inputs[0].value : "";
      return text.trim() ? { text: text } : null;
    }
    var picked = null;
    inputs.forEach(function (input) { if (input.checked) { picked = input.value; } });
    return picked ? { choice: picked } : null;
  }

  function writeResponse(section, response) {
    var position = section.getAttribute("data-position");
    var type = section.getAttribute("data-type");
    var inputs = section.querySelectorAll('[name="answer-' + position + '"]');
    if (type === "short_answer" || type === "numerical") {
      if (inputs.length) { inputs[0].value = response && response.text ? response.text : ""; }
      return;
    }
    var chosen = response ? (response.choices || (response.choice ? [response.choice] : [])) : [];
    inputs.forEach(function (input) { input.checked = chosen.indexOf(input.value) !== -1; });
  }

  function readSection(section) {
    var position = parseInt(section.getAttribute("data-position"), 10);
    var mark = document.getElementById("mark-" + position);
    var note = document.getElementById("note-" + position);
    return {
      position: position,
      response: readResponse(section),
      marked: mark ? mark.checked : false,
      note: note ? note.value : "",
      locked: section.getAttribute("data-locked") === "true"
    };
  }

  function same(a, b) { return JSON.stringify(a === undefined ? null : a) === JSON.stringify(b === undefined ? null : b); }

  function loadServerState() {
    var times = [];
    try { times = JSON.parse(player.getAttribute("data-time-spent") || "[]"); } catch (e) { times = []; }
    sections().forEach(function (section) {
      var item = readSection(section);
      server.answers[item.position] = item.response;
      server.marks[item.position] = item.marked;
      server.notes[item.position] = item.note;
      state.answers[item.position] = item.response;
      state.marks[item.position] = item.marked;
      state.notes[item.position] = item.note;
      state.time[item.position] = times[item.position] || 0;
      if (item.locked) { state.locked[item.position] = true; }
    });
  }

  // ------------------------------------------------------------------ local copy

  function persist() {
    try {
      localStorage.setItem(storageKey, JSON.stringify({
        v: 1, base: state.base, position: state.position, answers: state.answers, marks: state.marks,
        notes: state.notes, time: state.time, dirty: state.dirty, confirmed: state.confirmed,
        savedAt: Date.now()
      }));
    } catch (e) { /* storage full or disabled: the server copy still works */ }
  }

  function readLocal() {
    try {
      var data = JSON.parse(localStorage.getItem(storageKey) || "null");
      return data && data.v === 1 ? data : null;
    } catch (e) { return null; }
  }

  function forgetLocal() {
    try {
      localStorage.removeItem(storageKey);
      localStorage.removeItem(storageKey + ":recovery");
    } catch (e) { /* nothing to forget */ }
  }

  function markDirty(position, field) {
    seq += 1;
    state.dirty[position] = state.dirty[position] || {};
    state.dirty[position][field] = seq;
  }

  function pendingCount() {
    var positions = {};
    Object.keys(state.dirty).forEach(function (position) {
      var fields = state.dirty[position];
      if (fields.mark || fields.note || (fields.answer && (!afterEach || state.confirmed[position]))) {
        positions[position] = true;
      }
    });
    return Object.keys(positions).length;
  }

  // ------------------------------------------------------------------ status line

  function setStatus(text, problem) {
    statusLine.textContent = text;
    statusLine.classList.toggle("save-status--problem", Boolean(problem));
  }

  function savedStatus() {
    var left = pendingCount();
    if (left) {
      setStatus(left + " question" + (left === 1 ? "" : "s") + " not saved yet; kept on this device.", true);
    } else {
      var now = new Date();
      setStatus("All answers saved at " + now.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) + ".");
    }
  }

  // ------------------------------------------------------------------ the navigation list

  function refreshNav(position) {
    var link = document.querySelector('.qnav__link[data-position="' + position + '"]');
    if (!link) { return; }
    var answered = Boolean(state.answers[position]);
    var marked = Boolean(state.marks[position]);
    link.classList.toggle("is-answered", answered);
    link.classList.toggle("is-marked", marked);
    var holder = link.querySelector("[data-state]");
    if (holder) {
      holder.textContent = "";
      var said = document.createElement("span");
      said.className = "visually-hidden";
      said.textContent = answered ? ", answered" : ", not answered";
      holder.appendChild(said);
      if (marked) {
        var flag = document.createElement("span");
        flag.className = "qnav__flag";
        flag.setAttribute("aria-hidden", "true");
        flag.textContent = "\u2691";
        holder.appendChild(flag);
        var markedText = document.createElement("span");
        markedText.className = "visually-hidden";
        markedText.textContent = ", marked";
        holder.appendChild(markedText);
      }
    }
    var counter = document.getElementById("answered-count");
    if (counter) {
      counter.textContent = String(Object.keys(state.answers).filter(function (p) { return state.answers[p]; }).length);
    }
  }

  // ------------------------------------------------------------------ time per question

  var shownAt = null;

  function flushTime() {
    if (shownAt === null || paused || closed) { return; }
    var now = Date.now();
    var seconds = Math.floor((now - shownAt) / 1000);
    if (seconds > 0) {
      state.time[state.position] = (state.time[state.position] || 0) + seconds;
      shownAt += seconds * 1000;
    }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      // A hidden tab may never come back (mobile browsers discard them): save now.
      flushTime();
      shownAt = null;
      persist();
      if (pendingCount()) { save(); }
    } else {
      shownAt = Date.now();
    }
  });

  // ------------------------------------------------------------------ one question at a time

  function show(position, focus) {
    if (!(position >= 0 && position < count)) { return; }
    flushTime();
    state.position = position;
    shownAt = Date.now();
    sections().forEach(function (section) {
      section.hidden = parseInt(section.getAttribute("data-position"), 10) !== position;
    });
    document.querySelectorAll(".qnav__link").forEach(function (link) {
      if (parseInt(link.getAttribute("data-position"), 10) === position) {
        link.setAttribute("aria-current", "step");
      } else {
        link.removeAttribute("aria-current");
      }
    });
    var field = document.getElementById("position-field");
    if (field) { field.value = String(position); }
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", "#q-" + (position + 1));
    }
    if (focus) {
      var title = document.getElementById("q-" + (position + 1) + "-title");
      if (title) { title.focus(); }
    }
    persist();
  }

  // ------------------------------------------------------------------ saving

  var inFlight = null;
  var again = false;
  var retryTimer = null;
  var retryAt = 0;
  var failures = 0;
  var conflicts = 0;

  function payload() {
    var body = { version: state.base, position: state.position, answers: {}, marks: {}, notes: {}, time_spent: {} };
    Object.keys(state.dirty).forEach(function (position) {
      var fields = state.dirty[position];
      if (fields.answer && !state.locked[position] && (!afterEach || state.confirmed[position])) {
        body.answers[position] = state.answers[position] || null;
      }
      if (fields.mark) { body.marks[position] = Boolean(state.marks[position]); }
      if (fields.note) { body.notes[position] = state.notes[position] || ""; }
    });
    Object.keys(state.time).forEach(function (position) {
      if (state.time[position] > 0) { body.time_spent[position] = state.time[position]; }
    });
    return body;
  }

  function accepted(body, sentSeq) {
    ["answers", "marks", "notes"].forEach(function (group) {
      var field = { answers: "answer", marks: "mark", notes: "note" }[group];
      Object.keys(body[group]).forEach(function (position) {
        var fields = state.dirty[position];
        if (fields && fields[field] && fields[field] <= sentSeq) { delete fields[field]; }
        if (fields && !fields.answer && !fields.mark && !fields.note) { delete state.dirty[position]; }
      });
    });
  }

  function applyServer(current, keepLocal) {
    // The server's saved state; with keepLocal, our unsaved changes stay on top of it.
    state.base = current.version;
    Object.keys(current.answers).forEach(function (position) {
      var section = sectionOf(parseInt(position, 10));
      var fields = state.dirty[position] || {};
      var isLocked = current.locked.indexOf(parseInt(position, 10)) !== -1;
      var wasLocked = Boolean(state.locked[position]);
      if (isLocked) {
        state.locked[position] = true;
        delete fields.answer;
      }
      if (!(keepLocal && fields.answer) && !same(state.answers[position], current.answers[position])) {
        state.answers[position] = current.answers[position];
        if (section) { writeResponse(section, current.answers[position]); }
      }
      if (!(keepLocal && fields.mark) && state.marks[position] !== current.marks[position]) {
        state.marks[position] = current.marks[position];
        var mark = document.getElementById("mark-" + position);
        if (mark) { mark.checked = Boolean(current.marks[position]); }
      }
      if (!(keepLocal && fields.note) && state.notes[position] !== current.notes[position]) {
        state.notes[position] = current.notes[position];
        var note = document.getElementById("note-" + position);
        if (note && document.activeElement !== note) { note.value = current.notes[position] || ""; }
      }
      state.time[position] = Math.max(state.time[position] || 0, current.time_spent[position] || 0);
      if (isLocked && !wasLocked && afterEach) { refreshSection(parseInt(position, 10)); }
      if (fields && !fields.answer && !fields.mark && !fields.note) { delete state.dirty[position]; }
      refreshNav(parseInt(position, 10));
    });
  }

  function goToReview() {
    closed = true;
    forgetLocal();
    window.location.assign(reviewUrl);
  }

  function handleRefusal(problem) {
    var code = problem && problem.code;
    if (code === "attempt_expired" || code === "attempt_submitted") {
      setStatus(code === "attempt_expired" ? "Time is up: the test was submitted." : "This test was already submitted.", true);
      goToReview();
      return true;
    }
    if (code === "attempt_paused") {
      closed = true;
      persist();
      window.location.reload();
      return true;
    }
    return false;
  }

  function scheduleRetry(seconds, message) {
    retryAt = Date.now() + seconds * 1000;
    setStatus(message, true);
    window.clearTimeout(retryTimer);
    retryTimer = window.setTimeout(function () { retryAt = 0; save(); }, seconds * 1000);
  }

  function request(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrfToken() },
      body: body === undefined ? undefined : JSON.stringify(body)
    });
  }

  function offline() {
    var left = pendingCount();
    setStatus("You are offline. " + (left ? left + " question" + (left === 1 ? "" : "s") + " kept on this device; " : "") +
      "they will be saved when the connection returns.", true);
  }

  /* Save what changed. Resolves true when the server holds everything we have. */
  function save() {
    if (closed || paused || leaving) { return Promise.resolve(false); }
    if (inFlight) { again = true; return inFlight; }
    if (retryAt > Date.now()) { return Promise.resolve(false); }
    if (!navigator.onLine) { offline(); return Promise.resolve(false); }
    flushTime();
    var body = payload();
    var sentSeq = seq;
    inFlight = request("PATCH", api + "/progress", body).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.ok) {
          failures = 0;
          conflicts = 0;
          accepted(body, sentSeq);
          applyServer(data, true);
          persist();
          savedStatus();
          return pendingCount() === 0;
        }
        if (response.status === 409 && data.code === "stale_version" && data.current) {
          // Someone (another tab, a lost response) moved the attempt on: merge and go again.
          conflicts += 1;
          applyServer(data.current, true);
          persist();
          if (conflicts <= 3) { again = true; } else { scheduleRetry(5, "Saving is busy; retrying…"); }
          return false;
        }
        if (handleRefusal(data)) { return false; }
        if (response.status === 429) {
          var wait = parseInt(response.headers.get("Retry-After") || "10", 10) || 10;
          scheduleRetry(wait, "Saving paused for " + wait + " s (too many saves); your answers are kept on this device.");
          return false;
        }
        if (response.status === 401 || response.status === 403) {
          setStatus("Your session ended. Sign in again in another tab; your answers are kept on this device.", true);
          return false;
        }
        if (response.status === 422) {
          setStatus("An answer could not be saved: " + (data.detail || "it does not fit the question") + ".", true);
          return false;
        }
        failures += 1;
        scheduleRetry(Math.min(60, 5 * failures), "The server did not answer; retrying soon. Your answers are kept on this device.");
        return false;
      });
    }, function () {
      offline();
      return false;
    }).then(function (result) {
      inFlight = null;
      if (again && !closed) { again = false; return save(); }
      return result;
    });
    return inFlight;
  }

  // ------------------------------------------------------------------ tutor mode: check an answer

  function refreshSection(position) {
    return fetch("/attempts/" + attemptId + "/questions/" + position, {
      credentials: "same-origin", headers: { "Accept": "text/html" }
    }).then(function (response) {
      if (!response.ok) { return; }
      return response.text().then(function (html) {
        var section = sectionOf(position);
        if (!section) { return; }
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("section.question");
        if (!fresh) { return; }
        fresh.hidden = section.hidden;
        section.replaceWith(fresh);
        fresh.querySelectorAll(".js-only").forEach(function (node) { node.hidden = false; });
        // A mark or note not saved yet stays as the student left it.
        var fields = state.dirty[position] || {};
        var mark = document.getElementById("mark-" + position);
        if (fields.mark && mark) { mark.checked = Boolean(state.marks[position]); }
        var note = document.getElementById("note-" + position);
        if (fields.note && note) { note.value = state.notes[position] || ""; }
        var feedback = document.getElementById("q-" + (position + 1) + "-feedback");
        if (feedback && !fresh.hidden) { feedback.setAttribute("tabindex", "-1"); feedback.focus(); }
      });
    }).catch(function () { /* shown on the next load */ });
  }

  function check(position) {
    var section = sectionOf(position);
    var response = readResponse(section);
    if (!response) { setStatus("Choose or type an answer first.", true); return; }
    flushTime();
    state.answers[position] = response;
    state.confirmed[position] = true;
    markDirty(position, "answer");
    persist();
    if (!navigator.onLine) { offline(); return; }
    var sentSeq = seq;
    request("PUT", api + "/items/" + position + "/answer", {
      response: response, time_spent_seconds: state.time[position] || 0
    }).then(function (reply) {
      return reply.json().catch(function () { return {}; }).then(function (data) {
        if (reply.ok) {
          state.base = data.version;
          state.locked[position] = true;
          accepted({ answers: (function () { var a = {}; a[position] = response; return a; })(), marks: {}, notes: {} }, sentSeq);
          persist();
          refreshNav(position);
          savedStatus();
          return refreshSection(position);
        }
        if (handleRefusal(data)) { return; }
        if (data.code === "item_locked") { state.locked[position] = true; delete (state.dirty[position] || {}).answer; return refreshSection(position); }
        return save();
      });
    }, function () { offline(); });
  }

  // ------------------------------------------------------------------ events

  var textTimers = {};

  function changed(target) {
    var section = target.closest("section.question");
    if (!section) { return; }
    var position = parseInt(section.getAttribute("data-position"), 10);
    var name = target.getAttribute("name") || "";
    if (name.indexOf("answer-") === 0) {
      if (state.locked[position]) { return; }
      state.answers[position] = readResponse(section);
      markDirty(position, "answer");
      if (afterEach) { delete state.confirmed[position]; }
    } else if (name.indexOf("mark-") === 0) {
      state.marks[position] = target.checked;
      markDirty(position, "mark");
    } else if (name.indexOf("note-") === 0) {
      state.notes[position] = target.value;
      markDirty(position, "note");
    } else {
      return;
    }
    refreshNav(position);
    persist();
    return position;
  }

  form.addEventListener("change", function (event) {
    if (changed(event.target) !== undefined) { save(); }
  });

  form.addEventListener("input", function (event) {
    var target = event.target;
    if (target.type === "radio" || target.type === "checkbox") { return; }
    var position = changed(target);
    if (position === undefined) { return; }
    var key = target.id;
    window.clearTimeout(textTimers[key]);
    textTimers[key] = window.setTimeout(save, target.tagName === "TEXTAREA" ? NOTE_DELAY_MS : TEXT_DELAY_MS);
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var submitter = event.submitter;
    if (submitter && submitter.hasAttribute("data-check")) {
      check(parseInt(submitter.getAttribute("data-check"), 10));
    } else {
      save();
    }
  });

  form.addEventListener("click", function (event) {
    var step = event.target.closest("[data-go]");
    if (!step) { return; }
    show(state.position + (step.getAttribute("data-go") === "next" ? 1 : -1), true);
  });

  document.querySelectorAll(".qnav__link").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      show(parseInt(link.getAttribute("data-position"), 10), true);
    });
  });

  // Pausing and finishing first make sure the server has every answer.
  function flushThen(go) {
    flushTime();
    persist();
    save().then(function (complete) {
      if (complete || pendingCount() === 0) {
        go();
      } else {
        setStatus("Your latest answers are not saved yet (" + pendingCount() +
          " question" + (pendingCount() === 1 ? "" : "s") + "). They are kept on this device; try again when the connection is back.", true);
      }
    });
  }

  document.querySelectorAll("[data-flush-first]").forEach(function (node) {
    if (node.tagName === "FORM") {
      node.addEventListener("submit", function (event) {
        event.preventDefault();
        flushThen(function () { closed = true; node.submit(); });
      });
    } else {
      node.addEventListener("click", function (event) {
        event.preventDefault();
        flushThen(function () { closed = true; window.location.assign(node.getAttribute("href")); });
      });
    }
  });

  // Back online: send what waited (a 429's Retry-After still applies).
  window.addEventListener("online", function () { save(); });
  window.addEventListener("offline", offline);
  window.addEventListener("pagehide", function () {
    flushTime();
    persist();
    leaving = true;
    if (!closed && !paused && pendingCount() && navigator.onLine) {
      // Best effort; the local copy is the safety net.
      try {
        fetch(api + "/progress", {
          method: "PATCH", credentials: "same-origin", keepalive: true,
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
          body: JSON.stringify(payload())
        }).catch(function () { /* recovered on the next visit */ });
      } catch (e) { /* keepalive unsupported */ }
    }
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted || !leaving) { return; }
    leaving = false;
    if (pendingCount()) { save(); }
  });

  // ------------------------------------------------------------------ the clock

  function clock(seconds) {
    var s = Math.max(0, seconds);
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var r = s % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(r).padStart(2, "0");
  }

  function timeUp() {
    closed = true;
    flushTime();
    persist();
    setStatus("Time is up. Submitting your answers…");
    var body = { progress: payload() };
    request("POST", api + "/submit", body).then(function (reply) {
      return reply.json().catch(function () { return {}; }).then(function (data) {
        if (reply.ok || (data && (data.code === "attempt_expired" || data.code === "attempt_submitted"))) {
          goToReview();
        } else if (reply.status === 409 && data.current) {
          // Merge and submit once more with the server's version.
          applyServer(data.current, true);
          body = { progress: payload() };
          return request("POST", api + "/submit", body).then(function () { goToReview(); });
        } else {
          window.setTimeout(goToReview, 3000);
        }
      });
    }, function () {
      setStatus("Time is up, but you are offline. The server submitted the answers it had.", true);
      window.addEventListener("online", goToReview);
    });
  }

  function startTimer() {
    var remainingAttr = player.getAttribute("data-remaining");
    var display = document.getElementById("timer-value");
    if (remainingAttr === null || !display || paused) { return; }
    var endAt = Date.now() + parseInt(remainingAttr, 10) * 1000;
    var announced = {};
    function tick() {
      var left = Math.ceil((endAt - Date.now()) / 1000);
      display.textContent = clock(left);
      var timer = document.getElementById("timer");
      if (timer) { timer.classList.toggle("timer--low", left <= 60); }
      [300, 60].forEach(function (mark) {
        if (left <= mark && left > mark - 5 && !announced[mark]) {
          announced[mark] = true;
          announcer.textContent = (mark / 60) + " minute" + (mark === 60 ? "" : "s") + " left.";
        }
      });
      if (left <= 0 && !leaving) {
        window.clearInterval(interval);
        timeUp();
      }
    }
    var interval = window.setInterval(tick, 1000);
    tick();
  }

  // ------------------------------------------------------------------ recovery

  var recoveryKey = storageKey + ":recovery";

  function readRecovery() {
    try {
      var data = JSON.parse(localStorage.getItem(recoveryKey) || "null");
      return data && data.v === 1 ? data : null;
    } catch (e) { return null; }
  }

  function keepRecovery(snapshot) {
    try { localStorage.setItem(recoveryKey, JSON.stringify(snapshot)); } catch (e) { /* best effort */ }
  }

  function dropRecovery() {
    try { localStorage.removeItem(recoveryKey); } catch (e) { /* nothing to drop */ }
  }

  function unsavedIn(local) {
    // Positions whose local change the server does not have (compared by content, so a save
    // that did land before the page closed is not offered again).
    var differing = [];
    Object.keys(local.dirty || {}).forEach(function (position) {
      var fields = local.dirty[position];
      var p = parseInt(position, 10);
      if (!(p >= 0 && p < count)) { return; }
      if ((fields.answer && !state.locked[p] && !same(local.answers[p], server.answers[p])) ||
          (fields.mark && Boolean(local.marks[p]) !== Boolean(server.marks[p])) ||
          (fields.note && (local.notes[p] || "") !== (server.notes[p] || ""))) {
        differing.push(p);
      }
    });
    return differing;
  }

  function recover(local, differing) {
    differing.forEach(function (p) {
      var fields = local.dirty[p];
      var section = sectionOf(p);
      if (fields.answer && !state.locked[p]) {
        state.answers[p] = local.answers[p] || null;
        if (section) { writeResponse(section, state.answers[p]); }
        markDirty(p, "answer");
        if (!afterEach || (local.confirmed && local.confirmed[p])) { state.confirmed[p] = true; }
      }
      if (fields.mark) {
        state.marks[p] = Boolean(local.marks[p]);
        var mark = document.getElementById("mark-" + p);
        if (mark) { mark.checked = state.marks[p]; }
        markDirty(p, "mark");
      }
      if (fields.note) {
        state.notes[p] = local.notes[p] || "";
        var note = document.getElementById("note-" + p);
        if (note) { note.value = state.notes[p]; }
        markDirty(p, "note");
      }
      refreshNav(p);
    });
  }

  function unsavedSnapshot() {
    // The copy kept apart at an earlier visit, with anything newer left unsaved on top.
    var older = readRecovery();
    var newer = readLocal();
    if (!older || !newer) { return older || newer; }
    var merged = JSON.parse(JSON.stringify(older));
    ["dirty", "answers", "marks", "notes", "time", "confirmed"].forEach(function (group) {
      merged[group] = merged[group] || {};
    });
    Object.keys(newer.dirty || {}).forEach(function (position) {
      merged.dirty[position] = Object.assign({}, merged.dirty[position], newer.dirty[position]);
      ["answers", "marks", "notes"].forEach(function (group) {
        merged[group][position] = (newer[group] || {})[position];
      });
      if (newer.confirmed && newer.confirmed[position]) { merged.confirmed[position] = true; }
    });
    Object.keys(newer.time || {}).forEach(function (position) {
      merged.time[position] = Math.max(merged.time[position] || 0, newer.time[position] || 0);
    });
    merged.base = newer.base;
    merged.savedAt = newer.savedAt;
    return merged;
  }

  function offerRecovery() {
    var local = unsavedSnapshot();
    if (!local) { persist(); return; }
    Object.keys(local.time || {}).forEach(function (position) {
      if (position in state.time) { state.time[position] = Math.max(state.time[position], local.time[position] || 0); }
    });
    var differing = unsavedIn(local);
    if (!differing.length) { dropRecovery(); persist(); return; }
    // Keep the old copy apart while the student decides (or while the test is paused).
    keepRecovery(local);
    persist();
    if (paused) { return; }
    var banner = document.getElementById("recovery");
    var when = new Date(local.savedAt || Date.now());
    document.getElementById("recovery-text").textContent = "This device kept changes to " +
      differing.length + " question" + (differing.length === 1 ? "" : "s") + " (number " +
      differing.map(function (p) { return p + 1; }).join(", ") + ") from " + when.toLocaleString() +
      " that did not reach the server" + (local.base < state.base ? ", which has changed since" : "") + ".";
    banner.hidden = false;
    document.getElementById("recover-button").addEventListener("click", function () {
      recover(local, differing);
      banner.hidden = true;
      dropRecovery();
      persist();
      setStatus("Recovered " + differing.length + " question" + (differing.length === 1 ? "" : "s") + "; saving…");
      statusLine.focus();
      save();
    });
    document.getElementById("discard-button").addEventListener("click", function () {
      banner.hidden = true;
      dropRecovery();
      persist();
      setStatus("Discarded the changes kept on this device.");
      statusLine.focus();
    });
  }

  // ------------------------------------------------------------------ start

  loadServerState();
  document.querySelectorAll(".nojs-only").forEach(function (node) { node.hidden = true; });
  document.querySelectorAll(".js-only").forEach(function (node) { node.hidden = false; });
  statusLine.setAttribute("tabindex", "-1");
  var fromHash = /^#q-(\d+)$/.exec(window.location.hash || "");
  offerRecovery();
  show(fromHash ? parseInt(fromHash[1], 10) - 1 : state.position, false);
  if (!paused) {
    startTimer();
    window.setInterval(function () { if (!closed) { save(); } }, SAVE_EVERY_MS);
  }
})();
