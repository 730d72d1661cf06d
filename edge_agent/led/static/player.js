// The LED board player page: draws what the agent pushes over the websocket, sized to the board.
"use strict";

(function () {
  const board = document.getElementById("board");
  const W = Number(board.dataset.width);
  const H = Number(board.dataset.height);
  const PAD = Math.max(1, Math.round(Math.min(W, H) * 0.03));
  const MIN_PX = Math.max(9, Math.round(H * 0.09)); // the smallest text still legible on the board
  const layers = {
    standby: document.getElementById("standby"),
    slide: document.getElementById("slide"),
    emergency: document.getElementById("emergency"),
  };
  const api = (window.nguonBoard = { state: null, rendered: null, connected: false, fit: {} });
  let ws = null;
  let shownKey = null;
  let retryMs = 500;

  // Webfonts load lazily; fitting before they arrive would measure the fallback font.
  const fontsReady = Promise.all([
    document.fonts.load("400 20px NguonBoard", "Việt"),
    document.fonts.load("700 20px NguonBoard", "Việt"),
  ]).catch(() => null);

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // Largest font size (px) at which a one-line element fits its width; ellipsis below the minimum.
  function fitLine(node, maxPx, minPx) {
    let lo = Math.max(6, Math.floor(minPx)), hi = Math.max(lo, Math.floor(maxPx)), best = lo;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      node.style.fontSize = mid + "px";
      if (node.scrollWidth <= node.clientWidth + 0.5) { best = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    node.style.fontSize = best + "px";
    return best;
  }

  // Largest font size at which wrapped text fits its box; below the minimum it scrolls.
  function fitBlock(box, inner, maxPx, minPx) {
    let lo = Math.floor(minPx), hi = Math.max(lo, Math.floor(maxPx)), best = lo;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      inner.style.fontSize = mid + "px";
      if (inner.scrollHeight <= box.clientHeight + 0.5 && inner.scrollWidth <= box.clientWidth + 0.5) {
        best = mid; lo = mid + 1;
      } else { hi = mid - 1; }
    }
    inner.style.fontSize = best + "px";
    const overflow = Math.max(0, inner.scrollHeight - box.clientHeight);
    return { size: best, overflow: overflow };
  }

  function scroll(inner, distance, durationMs, loop) {
    const frames = [
      { transform: "translateY(0)", offset: 0 },
      { transform: "translateY(0)", offset: 0.12 },
      { transform: `translateY(-${distance}px)`, offset: 0.88 },
      { transform: `translateY(-${distance}px)`, offset: 1 },
    ];
    inner.dataset.scrolling = "true";
    inner.animate(frames, { duration: durationMs, iterations: loop ? Infinity : 1, fill: "forwards" });
  }

  function textBox(text, maxPx, durationMs, loop) {
    const box = el("div", "fit");
    const inner = el("div", "fit-inner", text);
    box.appendChild(inner);
    return { box, inner, fit() {
      const r = fitBlock(box, inner, maxPx, MIN_PX);
      if (r.overflow > 0) {
        // speed grows with the board so a line takes about the same time to pass
        const ms = durationMs || Math.max(8000, (r.overflow / (H * 0.12)) * 1000);
        scroll(inner, r.overflow, ms, loop);
      }
      return r;
    } };
  }

  function drawClock(state) {
    board.dataset.clockTrusted = String(state.clock.trusted);
    const time = layers.standby.querySelector(".clock-time");
    const date = layers.standby.querySelector(".clock-date");
    if (time.textContent === state.clock.time && date.textContent === state.clock.date) return;
    time.textContent = state.clock.time;
    date.textContent = state.clock.date;
    time.style.width = date.style.width = W - 2 * PAD + "px";
    time.style.textAlign = date.style.textAlign = "center";
    fitLine(time, H * 0.55, 8);
    fitLine(date, H * 0.18, 6);
  }

  function drawTextSlide(s, root) {
    const hasBody = Boolean(s.text && s.text.trim());
    let title = null;
    if (hasBody && s.title) { title = el("div", "title", s.title); root.appendChild(title); }
    const body = textBox(hasBody ? s.text : s.title, H * 0.5, s.duration_ms, false);
    root.appendChild(body.box);
    if (title) fitLine(title, H * 0.2, MIN_PX);
    api.fit = body.fit();
    return Promise.resolve();
  }

  function drawImage(url, root) {
    const img = el("img", "media");
    img.alt = "";
    root.appendChild(img);
    return new Promise((resolve, reject) => {
      img.onload = () => resolve();
      img.onerror = () => reject(new Error("image failed to load"));
      img.src = url;
    });
  }

  function drawVideo(s, root) {
    const video = el("video", "media");
    video.muted = true; video.autoplay = true; video.loop = true; video.playsInline = true; video.preload = "auto";
    const subs = el("div", "subs");
    subs.style.fontSize = Math.max(MIN_PX, Math.round(H * 0.12)) + "px";
    if (s.subtitles_url) {
      const track = el("track");
      track.kind = "subtitles"; track.srclang = "vi"; track.label = "Tiếng Việt"; track.default = true;
      track.src = s.subtitles_url;
      video.appendChild(track);
      // drawn by us, not by the browser, so the size and contrast suit the board
      track.track.mode = "hidden";
      track.addEventListener("cuechange", () => {
        subs.textContent = "";
        for (const cue of Array.from(track.track.activeCues || [])) {
          for (const line of cue.text.replace(/<[^>]+>/g, "").split("\n")) {
            subs.appendChild(el("span", null, line));
            subs.appendChild(el("br"));
          }
        }
        if (subs.lastChild) subs.removeChild(subs.lastChild);
      });
    }
    video.src = s.media_url;
    root.appendChild(video);
    root.appendChild(subs);
    return new Promise((resolve, reject) => {
      video.addEventListener("playing", () => resolve(), { once: true });
      video.addEventListener("error", () => reject(new Error("video failed to load")), { once: true });
      video.play().catch(() => null);
    });
  }

  function badge(root) {
    const b = el("div", "badge", "DIỄN TẬP");
    b.style.fontSize = Math.max(8, Math.round(H * 0.12)) + "px";
    root.appendChild(b);
  }

  function drawSlide(s) {
    const root = el("div", "slide");
    root.dataset.key = s.key;
    root.dataset.form = s.form;
    layers.slide.replaceChildren(root);
    let ready;
    if (s.form === "text") {
      root.style.padding = PAD + "px";
      ready = drawTextSlide(s, root);
    } else if (s.form === "video") {
      ready = drawVideo(s, root);
    } else {
      ready = drawImage(s.media_url, root);
    }
    if (s.exercise) badge(root);
    return ready;
  }

  function drawEmergency(e) {
    layers.emergency.classList.toggle("exercise", Boolean(e.exercise));
    const root = el("div", "em");
    root.dataset.key = e.key;
    root.style.padding = PAD + "px";
    const label = el("div", "em-label");
    label.appendChild(el("span", "em-kind", "KHẨN CẤP"));
    if (e.exercise) label.appendChild(el("span", "em-exercise", "DIỄN TẬP"));
    root.appendChild(label);
    const hasText = Boolean(e.text && e.text.trim());
    let title = null;
    if (hasText || e.media_url) { title = el("div", "em-title", e.title); root.appendChild(title); }
    let ready = Promise.resolve();
    let body = null;
    if (hasText || !e.media_url) {
      body = textBox(hasText ? e.text : e.title, H * 0.4, 0, true);
      root.appendChild(body.box);
    } else {
      const holder = el("div", "fit");
      root.appendChild(holder);
      ready = drawImage(e.media_url, holder);
    }
    const when = e.sent ? ` · Phát lúc ${e.sent}` : "";
    const meta = el("div", "em-meta", `Khu vực: ${e.areas.join(", ")}${when}`);
    root.appendChild(meta);
    layers.emergency.replaceChildren(root);
    fitLine(label, H * 0.17, 8);
    if (title) fitLine(title, H * 0.18, MIN_PX);
    fitLine(meta, H * 0.11, 6);
    if (body) api.fit = body.fit();
    return ready;
  }

  function acknowledge(key) {
    api.rendered = key;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ shown: key }));
  }

  async function render(state) {
    await fontsReady;
    api.state = state;
    board.dataset.standby = state.standby;
    drawClock(state);
    const item = state.mode === "slide" ? state.slide : state.mode === "emergency" ? state.emergency : null;
    const key = item ? item.key : "standby";
    board.dataset.mode = state.mode;
    if (key === shownKey) return;
    shownKey = key;
    layers.slide.getAnimations({ subtree: true }).forEach((a) => a.cancel());
    if (state.mode !== "slide") layers.slide.replaceChildren(); // stops a video that was playing
    if (state.mode !== "emergency") layers.emergency.replaceChildren();
    if (!item) { acknowledge(key); return; }
    try {
      await (state.mode === "slide" ? drawSlide(item) : drawEmergency(item));
      if (shownKey === key) acknowledge(key);
    } catch (err) {
      console.error("cannot show", key, err);
    }
  }

  function connect() {
    ws = new WebSocket(`ws://${location.host}/ws`);
    ws.onopen = () => { api.connected = true; retryMs = 500; };
    ws.onmessage = (msg) => {
      let state;
      try { state = JSON.parse(msg.data); } catch (err) { console.error("bad state", err); return; }
      render(state);
    };
    ws.onclose = () => {
      api.connected = false;
      // keep the last screen (an emergency stays up) and come back with a growing delay
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
  }

  connect();
})();
