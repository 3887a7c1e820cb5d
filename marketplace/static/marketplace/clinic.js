/* The clinic's diagnosis (Chart.js): the ECG and the class scores that the page embedded with
   json_script, and the doctor's own check of an ECG file: SHA-256 in the browser
   (crypto.subtle) against the digest the proven journal carries. */
(function () {
  "use strict";
  const el = document.getElementById("diagnosis-chart");
  const d = el ? JSON.parse(el.textContent) : null;
  if (d && typeof Chart !== "undefined") {
    const css = getComputedStyle(document.documentElement);
    const color = (name, fallback) => (css.getPropertyValue(name) || fallback).trim();
    const blue = color("--accent", "#2f6fde"), green = color("--ok", "#2e9b5f"), muted = color("--muted", "#99a");
    Chart.defaults.maintainAspectRatio = false;
    if (d.ecg) new Chart(document.getElementById("chart-ecg"), {
      type: "line",
      data: {
        labels: d.ecg.map((_, i) => (i / d.rate).toFixed(2)),
        datasets: [{ label: "µV", data: d.ecg, borderColor: blue, borderWidth: 1, pointRadius: 0 }],
      },
      options: { animation: false, plugins: { legend: { display: false } },
                 scales: { x: { title: { display: true, text: "s" }, ticks: { maxTicksLimit: 11 } } } },
    });
    new Chart(document.getElementById("chart-scores"), {
      type: "bar",
      data: {
        labels: d.classes,
        datasets: [{ label: "score", data: d.scores,
                     backgroundColor: d.scores.map((_, i) => (i === d.predicted ? green : muted)) }],
      },
      options: { plugins: { legend: { display: false } } },
    });
  }

  const input = document.getElementById("doctor-ecg");
  if (input) input.addEventListener("change", async function () {
    const answer = document.getElementById("browser-ecg-answer");
    const detail = document.getElementById("browser-ecg-detail");
    const row = document.getElementById("check-browser-ecg");
    if (!input.files.length) return;
    const bytes = await input.files[0].arrayBuffer();
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    const hex = Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
    const ok = hex === input.dataset.digest;
    answer.textContent = ok ? "yes" : "no";
    answer.className = "badge check-answer " + (ok ? "state-paid" : "state-failed");
    row.dataset.ok = ok ? "yes" : "no";
    detail.textContent = "file " + hex.slice(0, 16) + "…, journal " + input.dataset.digest.slice(0, 16) + "…";
  });
})();
