// toongan survey participant page: one question per screen, answers saved immediately.
// The participant id lives in localStorage, so a reload or a later visit resumes.
"use strict";

const KEY = "toongan-survey-participant";
const $ = (id) => document.getElementById(id);
let state = null;      // last ParticipantView from the server
let chosen = null;     // candidate id picked on this screen
let shownAt = 0;       // when the current question appeared

function show(section) {
  for (const id of ["intro", "question", "done"]) $(id).hidden = id !== section;
}

function message(text) {
  $("message").textContent = text || "";
  $("message").hidden = !text;
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  let data = null;
  try { data = await res.json(); } catch (_) { /* not JSON */ }
  return { status: res.status, data };
}

function progress() {
  const done = state.answered, total = state.total;
  const n = Math.min(done + 1, total);
  $("progress-text").textContent = state.question ? `Question ${n} of ${total}` : `${total} of ${total} answered`;
  const pct = total ? Math.round((100 * done) / total) : 0;
  $("progress-fill").style.width = pct + "%";
  document.querySelector(".progress").setAttribute("aria-valuenow", String(pct));
}

function render() {
  progress();
  if (!state.question) { show("done"); return; }
  const q = state.question;
  chosen = null;
  $("next").disabled = true;
  $("reference").src = q.reference;
  const box = $("candidates");
  box.replaceChildren();
  q.candidates.forEach((c, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "candidate";
    b.setAttribute("role", "radio");
    b.setAttribute("aria-checked", "false");
    b.dataset.id = c.id;
    const img = document.createElement("img");
    img.src = c.image;
    img.alt = "Candidate " + String.fromCharCode(65 + i);
    const label = document.createElement("span");
    label.textContent = String.fromCharCode(65 + i);
    b.append(img, label);
    b.addEventListener("click", () => {
      chosen = c.id;
      for (const o of box.children) o.setAttribute("aria-checked", String(o === b));
      $("next").disabled = false;
    });
    box.append(b);
  });
  show("question");
  shownAt = performance.now();
  window.scrollTo(0, 0);
}

async function submit() {
  if (!chosen || !state.question) return;
  $("next").disabled = true;
  message("");
  const body = { question: state.question.number, candidate: chosen, ms: Math.round(performance.now() - shownAt) };
  try {
    const r = await api("POST", `/api/participants/${state.participant}/answers`, body);
    if (r.status === 201) { state = r.data; render(); return; }
    if (r.status === 409) { await resume(state.participant); return; } // answered in another tab
    message((r.data && r.data.error) || `The answer was not saved (HTTP ${r.status}). Please try again.`);
  } catch (_) {
    message("No connection to the survey server. Check your network and tap Next again.");
  }
  $("next").disabled = !chosen;
}

async function resume(pid) {
  const r = await api("GET", `/api/participants/${pid}`);
  if (r.status !== 200) return false;
  state = r.data;
  render();
  return true;
}

async function start() {
  $("start").disabled = true;
  try {
    // A JSON body: a cross-site form cannot send one, so only this page can enrol people.
    const r = await api("POST", "/api/participants", {});
    if (r.status !== 201) throw new Error((r.data && r.data.error) || `HTTP ${r.status}`);
    state = r.data;
    localStorage.setItem(KEY, state.participant);
    render();
  } catch (e) {
    message("Could not start the survey: " + e.message);
    $("start").disabled = false;
  }
}

async function main() {
  $("start").addEventListener("click", start);
  $("next").addEventListener("click", submit);
  const pid = localStorage.getItem(KEY);
  try {
    if (pid && (await resume(pid))) {
      if (state.answered > 0 && state.question) message("Welcome back: you continue where you left off.");
      return;
    }
  } catch (_) { /* fall through to the intro */ }
  try {
    const info = await api("GET", "/api/survey");
    if (info.status === 200) $("intro-total").textContent = String(info.data.questions);
  } catch (_) { /* keep "several" */ }
  show("intro");
}

main();
