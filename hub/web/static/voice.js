// Nghe thử giọng đọc: speak the first sentence of the text (or a sample) in the chosen voice
// (POST /api/v1/voices/preview) and play it in the page.
"use strict";
(function () {
  const box = document.getElementById("voice-field");
  if (!box) return;
  const csrf = box.dataset.csrf;
  const select = document.getElementById("voice");
  const button = document.getElementById("voice-preview");
  const audio = document.getElementById("voice-audio");
  const status = document.getElementById("voice-status");
  const SAMPLE = "Xin chào bà con. Đây là giọng đọc bản tin của đài truyền thanh xã.";

  function sentence() {
    const text = (document.getElementById("text") || {}).value || "";
    const first = text.trim().split(/(?<=[.!?])\s/)[0] || "";
    return (first || SAMPLE).slice(0, 300);
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = "Đang tạo giọng đọc…";
    try {
      const body = { text: sentence() };
      if (select.value) body.voice = select.value;
      const r = await fetch("/api/v1/voices/preview", {
        method: "POST", credentials: "same-origin", cache: "no-store",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body),
      });
      if (!r.ok) {
        const err = await r.json().catch(() => null);
        status.textContent = "Không nghe thử được: " + (err && err.error ? err.error.message : r.status);
        return;
      }
      const engine = r.headers.get("X-Voice-Engine") || "";
      const blob = await r.blob();
      if (audio.src) URL.revokeObjectURL(audio.src);
      audio.src = URL.createObjectURL(blob);
      audio.hidden = false;
      status.textContent = engine === "espeak-ng" && select.value && select.value !== "espeak-ng"
        ? "Giọng đã chọn không dùng được, đang nghe bằng espeak-ng."
        : "Đang phát câu thử (" + (r.headers.get("X-Voice") || engine) + ").";
      await audio.play().catch(() => {});
    } catch (e) {
      status.textContent = "Không nghe thử được: " + e.message;
    } finally {
      button.disabled = false;
    }
  });
})();
