// swarmfeed web UI: live updates (SSE), compose with progress, copy buttons, live stats.
// Vanilla JavaScript, no build step. Text from peers is never inserted as HTML here: post
// cards come pre-escaped from this node's own /fragments endpoint, everything else goes
// through textContent.
"use strict";

(function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  // Sizes, rates and counts exactly as the server writes them (swarmfeed/core/units.py, which
  // uses humanize's binary sizes): "1 Byte", "300 Bytes", "1.5 KiB"; rates below 1 KiB/s idle.
  const IDLE_RATE = 1024;
  function oneDecimal(x) {
    // Python's "%.1f" rounds exact halves to even; toFixed would round them up.
    const scaled = x * 10;
    let r = Math.round(scaled);
    if (Math.abs(scaled - Math.trunc(scaled)) === 0.5 && r % 2 !== 0) r -= 1;
    return (r / 10).toFixed(1);
  }
  function humanBytes(n) {
    const v = Math.trunc(Number(n) || 0);
    if (Math.abs(v) === 1) return `${v} Byte`;
    if (Math.abs(v) < 1024) return `${v} Bytes`;
    const units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    let unit = 1024;
    let i = 0;
    while (i < units.length - 1 && Math.abs(v) >= unit * 1024) { unit *= 1024; i += 1; }
    // Rounding can reach 1024.0 of a unit: then say 1.0 of the next one (as humanize does).
    if (i < units.length - 1 && Math.abs(Number(oneDecimal(v / unit))) >= 1024) { unit *= 1024; i += 1; }
    return `${oneDecimal(v / unit)} ${units[i]}`;
  }
  function humanRate(n) {
    return (Number(n) || 0) < IDLE_RATE ? "—" : `${humanBytes(n)}/s`;
  }
  // A count with its noun: <span data-one="peer" data-many="peers"><b>3</b> peers</span>. The
  // noun is singular for exactly "1" (or "≥1"), never for a decimal such as "1.0" (as units.plural).
  function setCount(el, shown) {
    const text = String(shown);
    if (!el.dataset.one) { el.textContent = text; return; }
    const number = document.createElement("b");
    number.textContent = text;
    el.replaceChildren(number, ` ${text.replace("≥", "") === "1" ? el.dataset.one : el.dataset.many}`);
  }
  function copies(distributed, seeds) {
    // libtorrent reports -1 while we are a seed: then count the seeds we see and ourselves.
    return distributed >= 0 ? distributed.toFixed(1) : `≥${seeds + 1}`;
  }
  const humanState = (state) => String(state).replaceAll("_", " ");
  window.swarmfeedUnits = { humanBytes, humanRate, humanState };

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    return response.json();
  }

  // ---- copy buttons -----------------------------------------------------------------------
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const text = button.getAttribute("data-copy");
    const label = button.textContent;
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch (_) {
      const input = button.parentElement?.querySelector("input");
      if (input) { input.focus(); input.select(); }
      button.textContent = "Press Ctrl+C";
    }
    setTimeout(() => { button.textContent = label; }, 1500);
  });

  // ---- live posts (Server-Sent Events) ----------------------------------------------------
  const main = $("main[data-live]");
  const liveState = $("[data-live-state]");

  async function insertPost(id, author) {
    const scope = main?.getAttribute("data-live");
    if (!main || !scope || (scope !== "*" && scope !== author)) return;
    if (document.getElementById(`post-${id}`)) return;
    const response = await fetch(`/fragments/posts/${encodeURIComponent(id)}`, { credentials: "same-origin" });
    if (!response.ok) return;
    const template = document.createElement("template");
    template.innerHTML = (await response.text()).trim();  // our own server-escaped markup
    const card = template.content.firstElementChild;
    if (!card || document.getElementById(card.id)) return;
    card.classList.add("fresh");
    $("[data-feed]")?.prepend(card);
    $("[data-empty]")?.remove();
    watchHealth();
  }

  function connectEvents() {
    if (!("EventSource" in window)) return;
    const source = new EventSource("/api/events");
    source.addEventListener("open", () => { if (liveState) { liveState.hidden = false; liveState.textContent = "live"; } });
    source.addEventListener("error", () => { if (liveState) liveState.textContent = "reconnecting…"; });
    source.addEventListener("post", (event) => {
      const data = JSON.parse(event.data);
      insertPost(data.id, data.author).catch(() => {});
    });
    source.addEventListener("follow", (event) => {
      const data = JSON.parse(event.data);
      for (const el of $$(`[data-follow-state="${CSS.escape(data.author)}"]`)) {
        el.textContent = data.state;
        el.className = `state state-${data.state}`;
      }
    });
    source.addEventListener("media", () => refreshHealth());
    window.addEventListener("beforeunload", () => source.close());
  }

  // ---- media progress and swarm health ----------------------------------------------------
  let healthTimer = null;

  function setText(root, key, shown) {
    const el = root.querySelector(`[data-h="${key}"]`);
    if (el) setCount(el, shown);
  }

  async function refreshHealth() {
    const cards = $$("[data-post-id]").filter((c) => c.querySelector("[data-health]"));
    for (const card of cards) {
      const health = card.querySelector("[data-health]");
      try {
        const post = await getJSON(`/api/posts/${encodeURIComponent(card.dataset.postId)}`);
        const m = post.media;
        if (!m) continue;
        const bar = health.querySelector("progress");
        if (bar) bar.value = m.progress;
        setText(health, "state", m.seeding ? humanState(m.state) : `${humanState(m.state)} ${Math.round(m.progress * 100)}%`);
        setText(health, "peers", m.peers);
        setText(health, "seeds", m.seeds);
        setText(health, "copies", copies(m.distributed_copies, m.seeds));
        setText(health, "served", humanBytes(m.total_upload));
        health.dataset.pending = m.seeding ? "0" : "1";
      } catch (_) { /* the next round tries again */ }
    }
  }

  function watchHealth() {
    if (healthTimer || !$("[data-health]")) return;
    healthTimer = setInterval(() => {
      if (document.hidden) return;
      refreshHealth();
    }, 3000);
  }

  // ---- status bar and swarm table ---------------------------------------------------------
  // The unread notifications badge in the nav, kept current with the status refresh.
  function showUnread(count) {
    const link = $("[data-notifications]");
    if (!link || typeof count !== "number") return;
    let badge = link.querySelector("[data-unread]");
    if (count > 0 && !badge) {
      badge = document.createElement("span");
      badge.className = "unread"; badge.dataset.unread = "";
      link.append(badge);
    }
    if (badge && count > 0) badge.textContent = String(count);
    else if (badge) badge.remove();
    link.setAttribute("aria-label", count > 0 ? `Notifications, ${count} unread` : "Notifications");
  }

  async function refreshStatus() {
    if (document.hidden) return;
    try {
      const status = await getJSON("/api/status");
      for (const el of $$("[data-stat]")) {
        const key = el.dataset.stat;
        if (!(key in status)) continue;
        if (el.hasAttribute("data-bytes")) el.textContent = humanBytes(status[key]);
        else setCount(el, status[key]);
      }
      showReachability(status.reachability);
      showUnread(status.unread_notifications);
    } catch (_) { /* node restarting: keep the old figures */ }
    const table = $("[data-torrents]");
    if (!table) return;
    try {
      // Only the page shown: a seedbox holds tens of thousands of torrents.
      const query = new URLSearchParams({ limit: table.dataset.limit || "100", offset: table.dataset.offset || "0" });
      const torrents = await getJSON(`/api/torrents?${query}`);
      for (const t of torrents) {
        const row = table.querySelector(`tr[data-infohash="${CSS.escape(t.infohash)}"]`);
        if (!row) continue;
        const cell = (k) => row.querySelector(`[data-t="${k}"]`);
        cell("state").textContent = t.progress < 1 ? `${humanState(t.state)} ${Math.round(t.progress * 100)}%` : humanState(t.state);
        cell("peers").textContent = t.peers;
        cell("seeds").textContent = t.seeds;
        cell("download_rate").textContent = humanRate(t.download_rate);
        cell("upload_rate").textContent = humanRate(t.upload_rate);
        cell("total_upload").textContent = humanBytes(t.total_upload);
        cell("distributed_copies").textContent = copies(t.distributed_copies, t.seeds);
      }
    } catch (_) { /* try again next round */ }
  }

  // The offline banner and the reachability word follow /api/status (our own text, not a peer's).
  function showReachability(reach) {
    if (!reach) return;
    const banner = $("[data-offline]");
    if (banner) {
      banner.hidden = reach.state !== "offline";
      $('[data-reach="summary"]', banner).textContent = reach.summary;
      $('[data-reach="advice"]', banner).textContent = reach.advice.join(" ");
    }
    for (const el of $$("[data-reach-state]")) {
      el.textContent = reach.state;
      el.className = `reach reach-${reach.state}`;
      el.title = reach.summary;
    }
    $("[data-node-status]")?.setAttribute("data-reach-level", reach.state);
  }

  // ---- media held back: fetch when asked, then show the card with its media ---------------
  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-fetch]");
    if (!form) return;
    event.preventDefault();
    const card = form.closest("[data-post-id]");
    const button = $("button", form);
    button.disabled = true;
    button.textContent = "Fetching…";
    try {
      const url = `/api/media/${encodeURIComponent(form.dataset.fetch)}/fetch`;
      const asked = await fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf(), Accept: "application/json" } });
      if (!asked.ok) throw new Error(`${url}: ${asked.status}`);
      const response = await fetch(`/fragments/posts/${encodeURIComponent(card.dataset.postId)}`, { credentials: "same-origin" });
      if (!response.ok) throw new Error(`fragment: ${response.status}`);
      const template = document.createElement("template");
      template.innerHTML = (await response.text()).trim();  // our own server-escaped markup
      const fresh = template.content.firstElementChild;
      if (fresh) card.replaceWith(fresh);
      watchHealth();
    } catch (_) {
      form.submit();  // the plain form does the same and comes back here
    }
  });

  // ---- compose with upload and hashing progress -------------------------------------------
  function setupCompose() {
    const form = $("form[data-compose]");
    if (!form) return;
    const block = $("[data-progress]", form);
    const bar = $("[data-progress-bar]", form);
    const label = $("[data-progress-text]", form);
    const errorBox = $("[data-error]", form);
    const submit = $("[data-submit]", form);
    const maxBytes = Number(document.querySelector('meta[name="max-upload-bytes"]')?.content || 0);

    function show(fraction, text) {
      block.hidden = false;
      if (fraction === null) bar.removeAttribute("value"); else bar.value = fraction;
      label.textContent = text;
    }
    function fail(message) {
      errorBox.hidden = false;
      errorBox.textContent = message;
      block.hidden = true;
      submit.disabled = false;
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      errorBox.hidden = true;
      const data = new FormData(form);
      const files = $("input[type=file]", form).files;
      const total = Array.from(files).reduce((sum, f) => sum + f.size, 0);
      if (!String(data.get("text") || "").trim() && files.length === 0) {
        fail("Write something or attach a file.");
        return;
      }
      if (maxBytes && total > maxBytes) {
        fail(`These files are ${humanBytes(total)}; this node accepts up to ${humanBytes(maxBytes)} per post.`);
        return;
      }
      const uploadId = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/-/g, "");
      data.set("upload_id", uploadId);
      submit.disabled = true;
      let polling = null;
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/posts");
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) show(e.loaded / e.total, `Uploading to your node… ${Math.round((100 * e.loaded) / e.total)}%`);
      });
      xhr.upload.addEventListener("load", () => {
        show(null, total ? "Hashing media into a torrent…" : "Signing…");
        polling = setInterval(async () => {
          try {
            const p = await getJSON(`/api/uploads/${uploadId}`);
            if (p.phase === "hashing" && p.total) show(p.done / p.total, `Hashing media into a torrent… ${Math.round((100 * p.done) / p.total)}%`);
          } catch (_) { /* not registered yet */ }
        }, 300);
      });
      xhr.addEventListener("load", () => {
        clearInterval(polling);
        let body = {};
        try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
        if (xhr.status === 201 && body.id) {
          show(1, "Posted.");
          window.location.assign("/");
        } else {
          fail(body.detail || `The node refused the post (${xhr.status}).`);
        }
      });
      xhr.addEventListener("error", () => { clearInterval(polling); fail("Could not reach the node."); });
      xhr.send(data);
    });
  }

  // ---- forms: attach the CSRF token for cookie-authenticated posts -------------------------
  for (const form of $$('form[method="post"]')) {
    if (!form.querySelector('input[name="csrf_token"]') && !form.hasAttribute("data-compose")) {
      const input = document.createElement("input");
      input.type = "hidden"; input.name = "csrf_token"; input.value = csrf();
      form.append(input);
    }
  }

  // ---- forms that undo something for everyone ask first ------------------------------------
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  setupCompose();
  connectEvents();
  watchHealth();
  setInterval(refreshStatus, 2000);
})();
