/* The portal's charts (Chart.js): each draws the JSON that its page embedded with json_script. */
(function () {
  "use strict";
  if (typeof Chart === "undefined") return;
  const css = getComputedStyle(document.documentElement);
  const color = (name, fallback) => (css.getPropertyValue(name) || fallback).trim();
  const blue = color("--accent", "#2f6fde"), green = color("--ok", "#2e9b5f"), amber = color("--warn", "#c98a12");
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = color("--muted", "#667");
  Chart.defaults.maintainAspectRatio = false;

  const data = (id) => {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  };
  const hourLabel = (iso) => new Date(iso).toISOString().slice(11, 16);
  const timeLabel = (iso) => new Date(iso).toISOString().slice(5, 16).replace("T", " ");
  const canvas = (id) => document.getElementById(id);
  const noLegend = { plugins: { legend: { display: false } } };

  const market = data("market-stats");
  if (market) {
    if (canvas("chart-per-hour")) new Chart(canvas("chart-per-hour"), {
      type: "bar",
      data: {
        labels: market.hours.map(hourLabel),
        datasets: [
          { label: "posted", data: market.jobs_posted_per_hour, backgroundColor: blue },
          { label: "paid", data: market.jobs_paid_per_hour, backgroundColor: green },
        ],
      },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    const recent = market.recent || [];
    if (canvas("chart-prices")) new Chart(canvas("chart-prices"), {
      type: "line",
      data: {
        labels: recent.map((r) => timeLabel(r.at)),
        datasets: [{ label: "price (credits)", data: recent.map((r) => r.price), borderColor: amber,
                     backgroundColor: amber, tension: 0.2 }],
      },
      options: { ...noLegend, scales: { y: { beginAtZero: true } } },
    });
    if (canvas("chart-speed")) new Chart(canvas("chart-speed"), {
      type: "line",
      data: {
        labels: recent.map((r) => timeLabel(r.at)),
        datasets: [{ label: "cycles/s", data: recent.map((r) => r.cycles_per_second), borderColor: blue,
                     backgroundColor: blue, tension: 0.2 }],
      },
      options: { ...noLegend, scales: { y: { beginAtZero: true } } },
    });
  }

  const earnings = data("operator-earnings");
  if (earnings && canvas("chart-earnings")) new Chart(canvas("chart-earnings"), {
    type: "line",
    data: {
      labels: earnings.map((p) => timeLabel(p.at)),
      datasets: [{ label: "earned (credits)", data: earnings.map((p) => p.earned), borderColor: green,
                   backgroundColor: green, stepped: true, fill: false }],
    },
    options: { ...noLegend, scales: { y: { beginAtZero: true } } },
  });
})();
