// Progressive enhancement only: every page works without this file.
"use strict";

// Emergency console: poll the live status every 1.5 s and update the table in place.
function pollEmergency(table) {
  const url = table.dataset.statusUrl;
  const count = document.getElementById("em-count");
  const status = document.getElementById("em-status");
  async function tick() {
    try {
      const r = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (r.ok) {
        const st = await r.json();
        count.textContent = st.confirmed + "/" + st.total;
        status.textContent = st.status_label;
        for (const d of st.devices) {
          const row = table.querySelector('tr[data-device="' + CSS.escape(d.id) + '"]');
          if (!row) continue;
          row.querySelector(".played").textContent = d.played_at || "chưa phát";
          row.querySelector(".latency").textContent = d.latency_vi;
        }
        if (st.status !== "approved" && st.status !== "on_air") {
          const cancel = document.getElementById("cancel");
          if (cancel) cancel.closest("form").remove();
        }
      }
    } catch (e) { /* the next tick retries */ }
    setTimeout(tick, 1500);
  }
  setTimeout(tick, 1500);
}

// Chair's screen: drag to reorder (the ▲▼ buttons remain the keyboard way); "Lưu thứ tự" saves.
function dragOrder(list) {
  let dragged = null;
  list.addEventListener("dragstart", (e) => { dragged = e.target.closest("li"); e.dataTransfer.effectAllowed = "move"; });
  list.addEventListener("dragover", (e) => {
    e.preventDefault();
    const over = e.target.closest("li");
    if (!dragged || !over || over === dragged) return;
    const r = over.getBoundingClientRect();
    list.insertBefore(dragged, e.clientY < r.top + r.height / 2 ? over : over.nextSibling);
  });
  list.addEventListener("drop", (e) => { e.preventDefault(); dragged = null; });
}

// After an up/down move the page reloads at #prio-<id>: put the focus back on that row's button.
function refocusMoved() {
  const m = location.hash.match(/^#prio-(.+)$/);
  if (!m) return;
  const row = document.getElementById("prio-" + decodeURIComponent(m[1]));
  if (!row) return;
  const want = new URLSearchParams(location.search).get("dir");
  const buttons = [...row.querySelectorAll("button:not([disabled])")];
  const b = buttons.find((x) => x.dataset.dir === want) || buttons[0];
  if (b) b.focus();
}

// LED preview: draw the board at its true pixel size, scale it to fit, and shrink text until it fits.
function boardPreview(board) {
  const w = +board.dataset.w, h = +board.dataset.h;
  board.style.width = w + "px";
  board.style.height = h + "px";
  const frame = board.parentElement;
  const fit = () => {
    const scale = Math.min(1, frame.clientWidth / w);
    board.style.transform = "scale(" + scale + ")";
    frame.style.height = h * scale + "px";
  };
  fit();
  window.addEventListener("resize", fit);
  const text = board.querySelector("[data-fit]");
  if (text) {
    let size = Math.max(8, Math.floor(h * 0.45));
    text.style.fontSize = size + "px";
    while (size > 6 && (text.scrollHeight > h || text.scrollWidth > w)) {
      size -= 1;
      text.style.fontSize = size + "px";
    }
    board.dataset.fontPx = String(size);
  }
}

// Bulletin form: how long the text takes to speak (text form) or how long the caption is (audio form), while
// typing; the same words and the same count as hub/web/core.py speech_estimate (tts/estimate.py).
function speechEstimate(out) {
  const text = document.getElementById("text");
  const form = () => {
    const picked = document.querySelector('input[name="form"]:checked, input[type="hidden"][name="form"]');
    return picked ? picked.value : "text";
  };
  const wpm = +out.dataset.wpm, captionMax = +out.dataset.captionMax, textMax = +out.dataset.textMax;
  const update = () => {
    const value = text.value, kind = form();
    if (kind === "audio") {
      out.textContent = "Bản tin âm thanh: phần chữ chỉ là tóm tắt, tối đa " + captionMax + " ký tự (đang có " +
        value.trim().length + ").";
      return;
    }
    if (kind !== "text") { out.textContent = ""; return; }
    const words = value.trim() ? value.trim().split(/\s+/).length : 0;
    const total = Math.round(words * 60 / wpm);
    const m = Math.floor(total / 60), s = total % 60;
    const dots = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ".");
    out.textContent = dots(value.length) + "/" + dots(textMax) + " ký tự: khoảng " + words + " từ, đọc mất khoảng " +
      (m ? m + " phút " + s + " giây" : s + " giây") + " (ước tính " + wpm + " từ/phút).";
  };
  text.addEventListener("input", update);
  document.querySelectorAll('input[name="form"]').forEach((r) => r.addEventListener("change", update));
}

// After "load": Chrome's own fragment handling runs before it and would otherwise take the focus back.
window.addEventListener("load", () => setTimeout(refocusMoved, 0));

document.addEventListener("DOMContentLoaded", () => {
  const t = document.getElementById("em-devices");
  if (t) pollEmergency(t);
  const l = document.getElementById("prio-list");
  if (l) dragOrder(l);
  const b = document.getElementById("board");
  if (b) boardPreview(b);
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();  // every error of the form, each a link to its field
  const e = document.getElementById("text-estimate");
  if (e && document.getElementById("text")) speechEstimate(e);
  // "Sao chép": copy the named field (a device's new MQTT password); without script, select it by hand
  document.querySelectorAll("button[data-copy]").forEach((btn) => btn.addEventListener("click", async () => {
    const field = document.getElementById(btn.dataset.copy);
    field.select();
    try { await navigator.clipboard.writeText(field.value); btn.textContent = "Đã sao chép"; }
    catch (err) { btn.textContent = "Hãy nhấn Ctrl+C"; }
  }));
});
