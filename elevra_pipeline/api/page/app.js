// The upload page: built on the API alone (POST uploads, GET uploads/{id}/events, GET .../workbook).
"use strict";
const $ = (id) => document.getElementById(id);
const MARKS = { done: "✓", attention: "!", running: "…", waiting: "⏸", failed: "✗", todo: "·", skipped: "–" };
const SAID = {  // a batch status, said of one race and of several
  needs_reupload: ["needs a fix", "need a fix"],
  waiting_for_model: ["waits for Gemini", "wait for Gemini"],
};
let following = null;
let streams = 0;  // how many times the page began following: only the latest stream renders
let role = null;  // the token's role: a viewer sees the buttons disabled, with why

function token() { return sessionStorage.getItem("elevra-token"); }

function takeTokenFromAddress() {
  const params = new URLSearchParams(location.hash.slice(1));
  const found = params.get("token");
  if (found) {
    sessionStorage.setItem("elevra-token", found);
    params.delete("token");  // not kept in the address bar; `upload=N` beside it is
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  }
}

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}), Authorization: `Bearer ${token()}` };
  return fetch(path, { ...options, headers });
}

async function signIn() {
  const answer = token() ? await api("me") : null;
  if (!answer || !answer.ok) {
    $("sign-in").hidden = false;
    $("who").textContent = "not signed in";
    return false;
  }
  const me = await answer.json();
  $("sign-in").hidden = true;
  $("who").textContent = `${me.name} · ${me.role}`;
  role = me.role;
  $("send").disabled = me.role !== "admin";
  return true;
}

function stageRow(stage) {
  const li = document.createElement("li");
  li.className = stage.state;
  const share = stage.total ? Math.round((100 * stage.done) / stage.total) : stage.state === "done" ? 100 : 0;
  li.innerHTML = `<span class="mark"></span><span class="label"></span><span class="bar"><span></span></span><span class="count"></span>`;
  li.querySelector(".mark").textContent = MARKS[stage.state] || "·";
  li.querySelector(".label").textContent = stage.label;
  li.querySelector(".bar span").style.width = `${share}%`;
  li.querySelector(".count").textContent =
    stage.total ? `${stage.done}/${stage.total}` : stage.state === "skipped" ? "not needed" : stage.state;
  return li;
}

function render(now) {
  $("live").hidden = false;
  $("upload-title").textContent = `Upload ${now.upload_id}: ${now.file}`;
  const status = $("upload-status");  // the state every view shows, decided once (storage/shown_state.py)
  status.textContent = now.state_label;
  status.className = `badge ${now.state_tone} ${now.state}`;
  $("emulated").hidden = !now.emulated;
  $("message").textContent =
    now.reason || now.needs_attention ||
    (now.final ? `${now.batches.inserted} of ${now.batches.total} races inserted${now.state === "reverted" ? ", then reverted" : ""}.` :
      now.running ? "Working on it…" : "Waiting for the pipeline to pick it up…");
  $("stages").replaceChildren(...now.stages.map(stageRow));
  const attention = now.batches.needing_attention;
  $("attention-block").hidden = attention.length === 0;
  const groups = new Map();  // one line per reason, as the e-mail says it, with the races it concerns
  for (const b of attention) {
    const key = JSON.stringify([b.status, b.reason || "no reason recorded"]);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(b);
  }
  $("attention").replaceChildren(...[...groups].map(([key, races]) => {
    const [status, reason] = JSON.parse(key);
    const li = document.createElement("li");
    li.innerHTML = `<strong></strong>: <span></span> <span class="races"></span>`;
    const one = races.length === 1, said = SAID[status] || [status.replaceAll("_", " "), status.replaceAll("_", " ")];
    li.querySelector("strong").textContent = `${races.length} ${one ? "race" : "races"} ${said[one ? 0 : 1]}`;
    li.querySelector("span").textContent = reason;
    li.querySelector(".races").textContent = races.map((b) => b.race).join("; ");  // as people name races
    li.querySelector(".races").title = races.map((b) => b.key).join(", ");  // the keys `status ID` lists
    return li;
  }));
  const skipped = now.batches.skipped || [];
  $("skipped-block").hidden = skipped.length === 0;
  $("skipped").replaceChildren(...skipped.map((b) => {
    const li = document.createElement("li");
    li.textContent = `${b.race}: ${b.by}`;  // "skipped by ann: a duplicate of upload 3"
    li.title = b.key;
    return li;
  }));
  $("workbook-link").hidden = !(now.final && now.workbook);
  renderAdmin(now, role);
}

function parseEvents(buffer, onEvent) {  // Server-Sent Events: blocks separated by a blank line
  const blocks = buffer.split(/\r?\n\r?\n/);
  for (const block of blocks.slice(0, -1)) {
    let name = "message", data = "";
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data += line.slice(5).trim();
    }
    if (data) onEvent(name, JSON.parse(data));
  }
  return blocks[blocks.length - 1];
}

async function follow(id) {
  following = id;
  const mine = ++streams;  // a newer follow (after an admin action) replaces this one
  location.hash = `upload=${id}`;
  // fetch, not EventSource: it sends the token in the Authorization header, never in the address
  const answer = await api(`uploads/${id}/events`, { headers: { Accept: "text/event-stream" } });
  if (!answer.ok) { $("message").textContent = `cannot follow upload ${id}: ${answer.status}`; return; }
  const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "", ended = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done || streams !== mine) break;
    buffer = parseEvents(buffer + value, (name, now) => { render(now); ended = ended || name === "outcome"; });
  }
  if (streams !== mine) reader.cancel();
  else if (!ended) setTimeout(() => streams === mine && follow(id), 3000);  // the stream broke: pick it up again
}

async function send(event) {
  event.preventDefault();
  $("form-error").hidden = true;
  const form = new FormData($("upload-form"));
  for (const [name, value] of [...form.entries()]) if (value === "") form.delete(name);
  $("send").disabled = true;
  try {
    const answer = await api("uploads", { method: "POST", body: form });
    const body = await answer.json();
    if (body.upload_id) follow(body.upload_id);
    if (!answer.ok) throw new Error(typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail));
  } catch (e) {
    $("form-error").textContent = e.message;
    $("form-error").hidden = false;
  } finally {
    $("send").disabled = false;
  }
}

async function downloadWorkbook() {
  const answer = await api(`uploads/${following}/workbook`);
  if (!answer.ok) { $("message").textContent = `no workbook yet (${answer.status})`; return; }
  const name = (answer.headers.get("Content-Disposition") || "").match(/filename="(.+)"/);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await answer.blob());
  link.download = name ? name[1] : `upload-${following}.xlsx`;
  link.click();
}

$("token-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  sessionStorage.setItem("elevra-token", $("token").value.trim());
  await signIn();
});
$("upload-form").addEventListener("submit", send);
$("workbook-link").addEventListener("click", downloadWorkbook);

takeTokenFromAddress();
signIn().then((ok) => {
  const shown = new URLSearchParams(location.hash.slice(1)).get("upload");
  if (ok && shown) follow(Number(shown));
});
