// Phát trực tiếp: start a session (POST /api/v1/live), stream the microphone on its audio websocket in
// 250 ms WebM/Opus slices, reconnect within the grace period, stop (POST /api/v1/live/{id}/stop).
"use strict";
(function () {
  const form = document.getElementById("live-form");
  if (!form) return;
  const csrf = form.dataset.csrf;
  const graceMs = parseFloat(form.dataset.grace || "10") * 1000;
  const startBtn = document.getElementById("live-start");
  const stopBtn = document.getElementById("live-stop");
  const statusEl = document.getElementById("live-status");
  let session = null, stream = null, recorder = null, ws = null, stopping = false, lostAt = 0, poll = null;

  function say(text) { statusEl.textContent = text; }

  async function api(method, path, body) {
    const r = await fetch("/api/v1" + path, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((data.error && data.error.message) || ("Lỗi " + r.status));
    return data;
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(proto + "//" + location.host + "/api/v1/live/" + session.id + "/audio");
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      lostAt = 0;
      const mime = MediaRecorder.isTypeSupported("audio/webm;codecs=opus") ? "audio/webm;codecs=opus" : "";
      recorder = new MediaRecorder(stream, mime ? { mimeType: mime, audioBitsPerSecond: 32000 } : {});
      recorder.ondataavailable = (e) => { if (e.data.size && ws.readyState === WebSocket.OPEN) ws.send(e.data); };
      recorder.start(250);
      say("Đang phát trực tiếp — hãy nói.");
    };
    ws.onclose = () => {
      if (recorder && recorder.state !== "inactive") recorder.stop();
      if (stopping) return;
      if (!lostAt) lostAt = Date.now();
      if (Date.now() - lostAt > graceMs) { finish("Mất kết nối quá lâu: buổi phát đã kết thúc."); return; }
      say("Mất kết nối, đang kết nối lại…");
      setTimeout(connect, 1000);
    };
  }

  function finish(text) {
    stopping = true;
    if (poll) clearInterval(poll);
    if (recorder && recorder.state !== "inactive") recorder.stop();
    if (stream) stream.getTracks().forEach((t) => t.stop());
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close();
    stopBtn.hidden = true;
    startBtn.hidden = false;
    startBtn.disabled = false;
    say(text);
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const areas = Array.from(form.querySelectorAll("input[name=areas]:checked")).map((i) => i.value);
    const prio = form.querySelector("input[name=priority]:checked");
    if (!areas.length) { say("Chọn ít nhất một địa bàn."); return; }
    startBtn.disabled = true;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
    } catch (e) {
      finish("Không mở được micrô: hãy cho phép trang dùng micrô. (" + e.message + ")");
      return;
    }
    try {
      session = await api("POST", "/live", { areas, priority: prio ? prio.value : "", title: form.title.value });
    } catch (e) {
      finish(e.message);
      return;
    }
    stopping = false;
    startBtn.hidden = true;
    stopBtn.hidden = false;
    say("Đang bật loa…");
    connect();
    poll = setInterval(async () => {
      try {
        const s = await api("GET", "/live/" + session.id);
        if (s.state === "ended") finish("Buổi phát đã kết thúc.");
      } catch (e) { finish("Buổi phát đã kết thúc."); }
    }, 2000);
  });

  stopBtn.addEventListener("click", async () => {
    stopping = true;
    if (recorder && recorder.state !== "inactive") recorder.stop();
    try {
      await api("POST", "/live/" + session.id + "/stop");
      finish("Đã kết thúc: bản ghi âm được lưu thành bản tin.");
    } catch (e) { finish(e.message); }
  });
})();
