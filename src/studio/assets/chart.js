// Loss curves as inline SVG (no library): one line per loss, step on x, value on y.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// About `n` round tick values covering [lo, hi].
function ticks(lo, hi, n) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmt(v) {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

// Draws `records` (metrics.jsonl objects) into `box`; returns the names of the series.
function drawLossChart(box, records) {
  const W = 720, H = 300, L = 54, R = 12, T = 12, B = 30;
  const names = [...new Set(records.flatMap((r) => Object.keys(r.losses || {})))].sort();
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "Loss curves", "data-points": records.length });
  const finite = (v) => typeof v === "number" && isFinite(v);
  const xs = records.map((r) => r.step);
  const ys = records.flatMap((r) => Object.values(r.losses || {}).filter(finite));
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (!records.length || !ys.length) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
  const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
  const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  for (const t of ticks(y0, y1, 5)) {
    svg.append(svgEl("line", { class: "grid", x1: L, x2: W - R, y1: sy(t), y2: sy(t) }));
    svg.append(svgEl("text", { x: L - 6, y: sy(t) + 4, "text-anchor": "end" }, fmt(t)));
  }
  for (const t of ticks(x0, x1, 6)) {
    if (!Number.isInteger(t)) continue;
    svg.append(svgEl("text", { x: sx(t), y: H - B + 16, "text-anchor": "middle" }, String(t)));
  }
  svg.append(svgEl("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }));
  svg.append(svgEl("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
  svg.append(svgEl("text", { x: W - R, y: H - 4, "text-anchor": "end" }, "step"));
  // At most ~800 points per line: every k-th record, always keeping the last.
  const k = Math.max(1, Math.ceil(records.length / 800));
  names.forEach((name, i) => {
    const pts = records.filter((r, j) => (j % k === 0 || j === records.length - 1) && finite((r.losses || {})[name]));
    if (!pts.length) return;
    const d = pts.map((r, j) => `${j ? "L" : "M"}${sx(r.step).toFixed(1)},${sy(r.losses[name]).toFixed(1)}`).join("");
    svg.append(svgEl("path", { class: "series c" + (i % 6), d, "data-name": name, "data-points": pts.length }));
  });
  const legend = document.createElement("div");
  legend.className = "legend";
  names.forEach((name, i) => {
    const s = document.createElement("span");
    const sw = document.createElement("i");
    sw.className = "c" + (i % 6);
    s.append(sw, document.createTextNode(name));
    legend.append(s);
  });
  box.replaceChildren(svg, legend);
  return names;
}
