// toongan studio, runs view: the runs and experiments under --runs; a training run's config,
// loss curves that grow while it trains (metrics polled every 1.5 s), its sample grids per
// checkpoint; an experiment's results table, grid, curves and report. Read only.
"use strict";

const R = {
  runs: [],          // the index
  current: null,     // id shown
  records: [],       // metrics of the current run
  timer: null,
  visible: false,
};

function rEl(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

async function getJson(url) {
  const res = await fetch(url);
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || "HTTP " + res.status);
  return data;
}

function imageUrl(id, path) {
  return `/api/runs/${id}/image?path=${encodeURIComponent(path)}`;
}

function short(name, parent) {
  return parent && name.startsWith(parent.name + "/") ? name.slice(parent.name.length + 1).replace(/^runs\//, "") : name;
}

function runButton(r, parent) {
  const b = rEl("button");
  b.type = "button";
  b.dataset.id = r.id;
  b.append(rEl("span", "kind", r.kind === "experiment" ? "exp" : "run"), document.createTextNode(short(r.name, parent)));
  b.addEventListener("click", () => { location.hash = "#runs/" + r.id; });
  return b;
}

async function loadRuns() {
  try {
    const data = await getJson("/api/runs");
    R.runs = data.runs;
    $("runs-root").textContent = data.root ? data.root : "Start the studio with --runs DIR to see training runs here.";
    const list = $("run-list");
    list.replaceChildren();
    const byId = Object.fromEntries(R.runs.map((r) => [r.id, r]));
    for (const r of R.runs) {
      if (r.experiment && byId[r.experiment]) continue;
      const li = rEl("li");
      li.append(runButton(r));
      if (r.kind === "experiment") {
        const ul = rEl("ul", "run-list nested");
        for (const c of R.runs.filter((c) => c.experiment === r.id)) { const cli = rEl("li"); cli.append(runButton(c, r)); ul.append(cli); }
        li.append(ul);
      }
      list.append(li);
    }
    if (!R.runs.length && data.root) list.append(rEl("li", "small", "No runs found yet."));
    markCurrent();
  } catch (e) {
    $("runs-root").textContent = "Cannot list runs: " + e.message;
  }
}

function markCurrent() {
  for (const b of document.querySelectorAll("#run-list button")) b.setAttribute("aria-current", String(b.dataset.id === R.current));
}

function stopPolling() {
  if (R.timer) clearTimeout(R.timer);
  R.timer = null;
}

function stat(label, value) {
  const s = rEl("span", "stat");
  s.append(document.createTextNode(label + " "), rEl("b", "", value));
  return s;
}

function renderStats(box) {
  const last = R.records[R.records.length - 1];
  box.replaceChildren();
  if (!last) { box.append(stat("steps", "none logged yet")); return; }
  box.append(stat("step", String(last.step)), stat("epoch", String(last.epoch + 1)), stat("phase", last.phase));
  for (const [k, v] of Object.entries(last.losses)) box.append(stat(k, Number(v).toPrecision(4)));
  if (last.seconds_per_step) box.append(stat("s/step", last.seconds_per_step.toPrecision(3)));
}

function renderSamples(box, id, images) {
  const samples = images.filter((p) => p.startsWith("samples/"));
  const shown = box.querySelector("input[type=range]");
  const atEnd = !shown || Number(shown.value) === Number(shown.max);
  if (box.dataset.count === String(samples.length)) return;
  box.dataset.count = String(samples.length);
  box.replaceChildren();
  if (!samples.length) { box.append(rEl("p", "small", "No sample grid yet.")); return; }
  const cap = rEl("figcaption");
  const img = rEl("img");
  const range = rEl("input");
  range.type = "range"; range.min = "0"; range.max = String(samples.length - 1);
  range.value = atEnd || !shown ? range.max : shown.value;
  range.setAttribute("aria-label", "Sample grid");
  const show = () => {
    const p = samples[Number(range.value)];
    img.src = imageUrl(id, p);
    img.alt = "Sample grid " + p;
    cap.textContent = p.replace("samples/", "").replace(".png", "").replace("_", " · ") + "  (photo | generated)";
  };
  range.addEventListener("input", show);
  show();
  const fig = rEl("figure");
  fig.append(cap, img);
  box.append(fig);
  if (samples.length > 1) box.append(range);
}

async function pollMetrics(id, chartBox, statsBox, samplesBox) {
  if (R.current !== id || !R.visible) return;
  try {
    const last = R.records.length ? R.records[R.records.length - 1].step : null;
    const data = await getJson(`/api/runs/${id}/metrics` + (last === null ? "" : `?after=${last}`));
    if (R.current !== id) return;
    if (data.records.length || !chartBox.firstChild) {
      R.records.push(...data.records);
      drawLossChart(chartBox, R.records);
      renderStats(statsBox);
    }
    renderSamples(samplesBox, id, data.images);
  } catch (_) { /* the run may be mid-write; try again */ }
  R.timer = setTimeout(() => pollMetrics(id, chartBox, statsBox, samplesBox), 1500);
}

function section(title) {
  const s = rEl("section");
  s.append(rEl("h3", "", title));
  return s;
}

async function showRun(id) {
  stopPolling();
  R.current = id;
  R.records = [];
  markCurrent();
  const box = $("run-detail");
  box.replaceChildren(rEl("p", "small", "Loading…"));
  let d;
  try { d = await getJson("/api/runs/" + id); } catch (e) { box.replaceChildren(rEl("p", "message", e.message)); return; }
  if (R.current !== id) return;
  box.replaceChildren();
  box.dataset.kind = d.kind;
  box.append(rEl("h2", "", d.name));
  if (d.kind === "train") {
    const stats = rEl("div", "stats");
    const curves = section("Loss curves");
    const chart = rEl("div", "chart");
    chart.id = "loss-chart";
    curves.append(chart);
    const samples = section("Samples per checkpoint");
    const sbox = rEl("div", "samples");
    samples.append(sbox);
    box.append(stats, curves, samples);
    if (d.checkpoints.length) {
      const c = section("Checkpoints");
      c.append(rEl("p", "small", d.checkpoints.join(", ") + (d.has_generator ? " — cartoonize with it on the Cartoonize tab" : "")));
      box.append(c);
    }
    if (d.config) { const c = section("Config"); c.append(rEl("pre", "", d.config)); box.append(c); }
    pollMetrics(id, chart, stats, sbox);
  } else {
    if (d.results.length) {
      const s = section("Results");
      const wrap = rEl("div", "scroll");
      const t = rEl("table");
      t.id = "results-table";
      d.results.forEach((row, i) => {
        const tr = rEl("tr");
        for (const cell of row) tr.append(rEl(i === 0 ? "th" : "td", "", cell));
        t.append(tr);
      });
      wrap.append(t); s.append(wrap); box.append(s);
    }
    const grid = d.images.find((p) => p === "report/grid.png");
    if (grid) {
      const s = section("Test photos across variants");
      const img = rEl("img"); img.src = imageUrl(id, grid); img.alt = "Grid";
      const f = rEl("figure", "report"); f.append(img); s.append(f); box.append(s);
    }
    const curves = d.images.filter((p) => p.startsWith("report/curves/"));
    if (curves.length) {
      const s = section("Loss curves (mean over seeds)");
      const g = rEl("div", "curves report");
      for (const p of curves) {
        const f = rEl("figure");
        const img = rEl("img"); img.src = imageUrl(id, p); img.alt = p;
        f.append(rEl("figcaption", "", p.replace("report/curves/", "").replace(".png", "")), img);
        g.append(f);
      }
      s.append(g); box.append(s);
    }
    if (d.runs.length) {
      const s = section("Runs");
      const ul = rEl("ul", "run-list");
      const parent = R.runs.find((r) => r.id === id);
      for (const rid of d.runs) { const r = R.runs.find((x) => x.id === rid); if (r) { const li = rEl("li"); li.append(runButton(r, parent)); ul.append(li); } }
      s.append(ul); box.append(s);
    }
    if (d.report) { const s = section("report.md"); s.append(rEl("pre", "", d.report)); box.append(s); }
    if (!d.results.length && !grid && !d.report) box.append(rEl("p", "small", "No report yet: the experiment is still running."));
  }
}

async function onRoute() {
  R.visible = location.hash.startsWith("#runs");
  if (!R.visible) { stopPolling(); return; }
  if (!R.runs.length) await loadRuns();
  const id = location.hash.startsWith("#runs/") ? location.hash.slice(6) : null;
  if (id && id !== R.current) showRun(id);
  else if (id && !R.timer) showRun(id);
}

document.addEventListener("studio:view", onRoute);
document.addEventListener("DOMContentLoaded", () => {
  $("refresh").addEventListener("click", loadRuns);
});
