// toongan studio, cartoonize view: photos are dropped or picked, each selected style runs as
// one queued job (POST /api/cartoonize with the file as body), progress is polled while it
// waits, and each result sits on its photo behind a before/after slider.
"use strict";

const $ = (id) => document.getElementById(id);
const photos = [];          // {file, url}
const results = [];         // {id, name, blobUrl}
let limits = { max_upload_bytes: 0, max_pixels: 0 };

// ---- views (#cartoonize, #runs) ----
function route() {
  const view = location.hash.startsWith("#runs") ? "runs" : "cartoonize";
  for (const v of ["cartoonize", "runs"]) {
    $("view-" + v).hidden = v !== view;
    const tab = $("tab-" + v);
    if (v === view) tab.setAttribute("aria-current", "page"); else tab.removeAttribute("aria-current");
  }
  document.dispatchEvent(new CustomEvent("studio:view", { detail: view }));
}
window.addEventListener("hashchange", route);

function message(text) {
  $("message").textContent = text || "";
  $("message").hidden = !text;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function mb(n) { return (n / 1048576).toFixed(n < 10485760 ? 1 : 0) + " MB"; }

// ---- styles ----
function chip(value, label, checked) {
  const l = el("label", "chip");
  const i = el("input");
  i.type = "checkbox"; i.value = value; i.checked = checked; i.name = "style";
  i.addEventListener("change", updateButtons);
  l.append(i, el("span", "", label));
  return l;
}

async function loadStyles() {
  try {
    const res = await fetch("/api/styles");
    const data = await res.json();
    if (!res.ok) throw new Error(data.error || res.status);
    limits = data;
    const list = $("style-list");
    list.replaceChildren();
    data.styles.forEach((s, i) => list.append(chip("style=" + encodeURIComponent(s.name), s.name[0].toUpperCase() + s.name.slice(1), i === 0)));
    if (!data.styles.length) list.append(el("p", "small", "No published style on this machine: start the studio with --weights-dir."));
    const models = $("model-list");
    models.replaceChildren();
    for (const m of data.models) models.append(chip("model=" + encodeURIComponent(m.run), m.name, false));
    $("model-box").hidden = !data.models.length;
    $("limits").textContent = `PNG, JPEG, WebP… up to ${mb(data.max_upload_bytes)} and ${(data.max_pixels / 1e6).toFixed(0)} megapixels each`;
  } catch (e) {
    message("Cannot reach the studio: " + e.message);
  }
  updateButtons();
}

function chosenStyles() {
  return [...document.querySelectorAll('.chips input[name="style"]:checked')].map((i) => ({
    query: i.value,
    label: i.nextElementSibling.textContent,
  }));
}

function updateButtons() {
  $("go").disabled = !(photos.length && chosenStyles().length);
  $("zip").disabled = !results.length;
}

// ---- photos ----
function addFiles(files) {
  let refused = [];
  for (const file of files) {
    if (!file.type.startsWith("image/") && !/\.(png|jpe?g|webp|bmp|tiff?|gif)$/i.test(file.name)) { refused.push(file.name + " (not an image)"); continue; }
    if (limits.max_upload_bytes && file.size > limits.max_upload_bytes) { refused.push(`${file.name} (${mb(file.size)}, over ${mb(limits.max_upload_bytes)})`); continue; }
    photos.push({ file, url: URL.createObjectURL(file) });
  }
  renderPicked();
  message(refused.length ? "Left out: " + refused.join(", ") : "");
}

function renderPicked() {
  const box = $("picked");
  box.replaceChildren();
  photos.forEach((p, i) => {
    const t = el("div", "thumb");
    const img = el("img"); img.src = p.url; img.alt = p.file.name;
    const x = el("button", "", "×"); x.type = "button"; x.title = "Remove " + p.file.name;
    x.addEventListener("click", () => { photos.splice(i, 1); renderPicked(); });
    t.append(img, x);
    box.append(t);
  });
  updateButtons();
}

function setupDrop() {
  const drop = $("drop");
  $("files").addEventListener("change", (e) => { addFiles(e.target.files); e.target.value = ""; });
  for (const ev of ["dragenter", "dragover"]) drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add("over"); });
  for (const ev of ["dragleave", "drop"]) drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.remove("over"); });
  drop.addEventListener("drop", (e) => addFiles(e.dataTransfer.files));
  // Dropping outside the box must not open the photo in place of the page.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
}

// ---- jobs ----
function jobId() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

function stem(name) { return name.replace(/\.[^.]*$/, ""); }

function slider(beforeUrl, afterUrl, label) {
  const box = el("div", "compare");
  const before = el("img"); before.src = beforeUrl; before.alt = "Photo";
  const after = el("img", "after"); after.src = afterUrl; after.alt = label + " cartoon";
  const line = el("div", "line");
  const range = el("input");
  range.type = "range"; range.min = "0"; range.max = "100"; range.value = "50";
  range.setAttribute("aria-label", "Before / after");
  const set = () => {
    const v = Number(range.value);
    after.style.clipPath = `inset(0 0 0 ${v}%)`;
    line.style.left = v + "%";
  };
  range.addEventListener("input", set);
  set();
  box.append(before, after, line, el("span", "tag l", "Photo"), el("span", "tag r", label), range);
  return box;
}

async function runJob(photo, style, card) {
  const status = card.querySelector(".status");
  const fill = card.querySelector(".bar > div");
  const job = jobId();
  let finished = false;
  const poll = async () => {
    while (!finished) {
      await new Promise((r) => setTimeout(r, 400));
      if (finished) break;
      try {
        const res = await fetch("/api/progress/" + job);
        if (!res.ok) continue;
        const s = await res.json();
        if (finished) break;
        if (s.state === "queued") { status.textContent = s.ahead ? `Queued: ${s.ahead} ahead` : "Queued: next"; }
        else if (s.total > 1) { status.textContent = `Tile ${Math.min(s.done + 1, s.total)} of ${s.total}`; fill.style.width = (100 * s.done / s.total) + "%"; }
        else { status.textContent = "Cartoonizing…"; }
      } catch (_) { /* keep waiting */ }
    }
  };
  status.textContent = "Uploading…";
  poll();
  try {
    const url = `/api/cartoonize?${style.query}&name=${encodeURIComponent(stem(photo.file.name))}`;
    const res = await fetch(url, { method: "POST", body: photo.file, headers: { "x-toongan-job": job } });
    finished = true;
    if (!res.ok) {
      let err = res.status === 413 ? "Too large for this studio" : "Failed (" + res.status + ")";
      try { err = (await res.json()).error || err; } catch (_) { /* not JSON */ }
      throw new Error(err);
    }
    const blob = await res.blob();
    const r = { id: res.headers.get("x-toongan-result"), name: res.headers.get("x-toongan-name") || "cartoon.png", blobUrl: URL.createObjectURL(blob) };
    results.push(r);
    card.querySelector(".wait").replaceWith(slider(photo.url, r.blobUrl, style.label));
    fill.parentElement.remove();
    status.textContent = "Done";
    const a = el("a", "button", "Download");
    a.href = r.blobUrl; a.download = r.name;
    card.querySelector("footer").append(a);
    card.classList.add("done");
  } catch (e) {
    finished = true;
    card.classList.add("failed");
    status.textContent = e.message;
    fill.parentElement.remove();
  }
  updateButtons();
}

async function cartoonizeAll() {
  const styles = chosenStyles();
  if (!photos.length || !styles.length) return;
  message("");
  const jobs = [];
  for (const photo of photos) {
    for (const style of styles) {
      const card = el("article", "card");
      const head = el("header");
      head.append(el("b", "", photo.file.name), el("span", "badge", style.label));
      const wait = el("div", "wait", "Waiting…");
      const foot = el("footer");
      const st = el("div", "status", "Queued");
      const bar = el("div", "bar"); bar.append(el("div"));
      st.append(bar);
      foot.append(st);
      card.append(head, wait, foot);
      $("results").prepend(card);
      jobs.push([photo, style, card]);
    }
  }
  // Up to three requests in flight (the server queues them and runs as many as it has
  // workers); the browser's other connections stay free for the progress polls.
  const worker = async () => { while (jobs.length) { const [photo, style, card] = jobs.shift(); await runJob(photo, style, card); } };
  await Promise.all([worker(), worker(), worker()]);
}

async function downloadZip() {
  if (!results.length) return;
  $("zip").disabled = true;
  try {
    const res = await fetch("/api/zip?ids=" + results.map((r) => r.id).join(","));
    if (!res.ok) throw new Error((await res.json()).error || res.status);
    const blob = await res.blob();
    window.studioLastZip = blob;   // read back by the browser test
    const a = el("a");
    a.href = URL.createObjectURL(blob);
    a.download = "toongan-cartoons.zip";
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    message("Cannot build the zip: " + e.message);
  }
  updateButtons();
}

document.addEventListener("DOMContentLoaded", () => {
  setupDrop();
  $("go").addEventListener("click", cartoonizeAll);
  $("zip").addEventListener("click", downloadZip);
  loadStyles();
  route();
});
