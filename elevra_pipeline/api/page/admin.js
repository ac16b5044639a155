// The upload page's admin part: the changes waiting for approval, the records an upload stored, and the
// buttons of the actions its state allows (the API's `actions`, decided by uploads/transitions.py).
"use strict";
const CHANGE_WORDS = {  // as the workbook's Changes sheet says them (workbook/builder.py)
  new: "added (a new record)",
  set: "filled in (was empty)",
  updated: "changed (this upload is newer)",
  conflict: "NOT changed: the stored value came from this or a newer upload",
};
const BUTTONS = [  // [action, label, confirmation (null: none), asks for a reason]
  ["approve", "Approve and publish", null, false],
  ["discard", "Discard", "Discard the staged records? Nothing of this upload will be published.", false],
  ["revert", "Revert", "Revert this upload? What it did to the records is undone, and the uploader and the team are told.", false],
  ["retry", "Retry", null, false],
  ["pause", "Pause", null, false],
  ["resume", "Resume", null, false],
  ["cancel", "Cancel upload", "Cancel this upload? Its unfinished races and runs are stopped.", false],
];
const VIEWER_REASON = "a viewer token cannot take admin actions: it needs an admin token";
const MAX_ROWS = 300;  // the rest is in the workbook's Changes sheet
let changesOf = null;  // the upload whose changes are shown

function recordsLine(records) {
  const part = (name, c) => `${c.new + c.updated + c.unchanged + c.refused} ${name} (${c.new} new, ${c.updated} updated, ${c.unchanged} unchanged, ${c.refused} refused)`;
  const both = `${part("elections", records.elections)}, ${part("candidates", records.candidates)}`;
  return { published: `Records stored: ${both}.`, staged: `Approval would store: ${both}.`,
    reverted: `Reverted: ${both}, undone.` }[records.state] || "";
}

async function showChanges(id) {
  changesOf = id;
  const answer = await api(`uploads/${id}/changes`);
  if (!answer.ok || changesOf !== id) return;
  const changes = await answer.json();
  const rows = changes.rows.slice(0, MAX_ROWS).map((c) => {
    const tr = document.createElement("tr");
    for (const text of [c.record, c.type, c.field || "—", c.old, c.new, CHANGE_WORDS[c.action] || c.action]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  });
  $("changes").querySelector("tbody").replaceChildren(...rows);
  $("changes-more").textContent = changes.rows.length > MAX_ROWS ?
    `and ${changes.rows.length - MAX_ROWS} more lines: the result workbook's Changes sheet has them all` : "";
  $("changes-block").hidden = false;
}

async function act(id, action, batchKey, confirmation, askReason) {
  if (confirmation && !window.confirm(confirmation)) return;
  let reason = "";
  if (askReason) {
    reason = window.prompt("Why? (recorded on the race, and shown as 'skipped by' you)") || "";
    if (!reason.trim()) return;
  }
  const path = batchKey ? `uploads/${id}/batches/${encodeURIComponent(batchKey)}/${action}` : `uploads/${id}/${action}`;
  const answer = await api(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ reason }),
  });
  const body = await answer.json().catch(() => ({}));
  const said = $("action-result");
  said.textContent = answer.ok ? `${body.message}${body.then ? `; ${body.then}` : ""}.` :
    `${action} refused: ${typeof body.detail === "string" ? body.detail : answer.status}`;
  said.className = answer.ok ? "message" : "error";
  changesOf = null;
  follow(id);  // the live view again: the action moves the upload on
}

function button(label, onClick, enabled, why, id = "") {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (id) b.id = id;
  b.disabled = !enabled;
  if (why) b.title = why;
  b.addEventListener("click", onClick);
  return b;
}

function renderAdmin(now, role) {
  const staged = now.status === "awaiting_approval";
  if (staged && changesOf !== now.upload_id) showChanges(now.upload_id);
  if (!staged) { $("changes-block").hidden = true; changesOf = null; }
  $("records").textContent = recordsLine(now.records);
  $("records").hidden = !$("records").textContent;
  const isAdmin = role === "admin";
  const shown = BUTTONS.filter(([action]) => now.actions[action] === null)
    .filter(([action]) => action !== (now.paused ? "pause" : "resume"))
    .map(([action, label, confirmation, askReason]) => button(label,
      () => act(now.upload_id, action, null, confirmation, askReason), isAdmin, isAdmin ? "" : VIEWER_REASON,
      `action-${action}`));
  $("admin-actions").replaceChildren(...shown);
  $("actions-note").hidden = isAdmin || shown.length === 0;
  $("actions-note").textContent = `You are signed in as a viewer: ${VIEWER_REASON}.`;
  renderRaceActions(now, role);
}

function renderRaceActions(now, role) {  // Redo and Skip of each race that needs attention, where allowed
  const isAdmin = role === "admin", why = isAdmin ? "" : VIEWER_REASON;
  const found = [["redo", "Redo", false], ["skip", "Skip", true]].filter(([action]) => now.actions[action] === null);
  const races = found.length ? now.batches.needing_attention : [];
  $("race-actions").replaceChildren(...races.map((race) => {
    const li = document.createElement("li");
    li.textContent = race.race;
    li.title = race.key;
    li.append(...found.map(([action, label, askReason]) =>
      button(label, () => act(now.upload_id, action, race.key, null, askReason), isAdmin, why)));
    return li;
  }));
  $("race-actions-block").hidden = races.length === 0;
}
