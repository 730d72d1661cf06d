// Ghi âm từ micrô: record a message (MediaRecorder), listen to it, and upload it as the bulletin's audio
// (POST /api/v1/media?for=radio); the form then sends an audio bulletin with that media.
"use strict";
(function () {
  const box = document.getElementById("recorder");
  if (!box) return;
  const form = box.closest("form");
  const csrf = box.dataset.csrf;
  const start = document.getElementById("rec-start");
  const stop = document.getElementById("rec-stop");
  const use = document.getElementById("rec-use");
  const preview = document.getElementById("rec-preview");
  const status = document.getElementById("rec-status");
  let recorder = null, chunks = [], blob = null, began = 0;

  start.addEventListener("click", async () => {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
    } catch (e) {
      status.textContent = "Không mở được micrô: hãy cho phép trang dùng micrô. (" + e.message + ")";
      return;
    }
    const mime = MediaRecorder.isTypeSupported("audio/webm;codecs=opus") ? "audio/webm;codecs=opus" : "";
    recorder = new MediaRecorder(stream, mime ? { mimeType: mime } : {});
    chunks = [];
    recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    recorder.onstop = () => {
      stream.getTracks().forEach((t) => t.stop());
      blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
      preview.src = URL.createObjectURL(blob);
      preview.hidden = false;
      use.hidden = false;
      const s = Math.round((Date.now() - began) / 1000);
      status.textContent = "Đã ghi " + s + " giây. Nghe lại trước khi dùng.";
    };
    began = Date.now();
    recorder.start(1000);
    start.hidden = true;
    stop.hidden = false;
    use.hidden = true;
    status.textContent = "Đang ghi âm…";
  });

  stop.addEventListener("click", () => {
    if (recorder && recorder.state !== "inactive") recorder.stop();
    stop.hidden = true;
    start.hidden = false;
    start.textContent = "Ghi lại";
  });

  use.addEventListener("click", async () => {
    if (!blob) return;
    use.disabled = true;
    status.textContent = "Đang lưu bản ghi…";
    const r = await fetch("/api/v1/media?for=radio", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": blob.type.split(";")[0], "X-CSRF-Token": csrf },
      body: blob,
    });
    const data = await r.json().catch(() => ({}));
    use.disabled = false;
    if (!r.ok) {
      status.textContent = (data.error && data.error.message) || ("Không lưu được bản ghi (lỗi " + r.status + ").");
      return;
    }
    form.querySelector("input[name=media]").value = data.sha256;
    const audio = form.querySelector("input[name=form][value=audio]");
    if (audio) audio.checked = true;
    const secs = Math.round((data.duration_ms || 0) / 100) / 10;
    status.textContent = "Đã lưu bản ghi (" + String(secs).replace(".", ",") + " giây): gửi kèm bản tin này.";
  });
})();
