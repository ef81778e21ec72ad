// Beacon's configuration editor: one page, plain JavaScript, talking JSON to /api.
"use strict";

const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const READ_ONLY = document.querySelector('meta[name="read-only"]').content === "yes";
const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
};
const fmt = (v) => (v === null || v === undefined) ? "" :
  (typeof v === "object" ? (v.$ref ? "$" + v.$ref : JSON.stringify(v)) : String(v));

// -- talking to the server --------------------------------------------------------------
async function api(path, body) {
  const opts = body === undefined ? {} : {
    method: "POST", body: JSON.stringify(body),
    headers: {"Content-Type": "application/json", "X-CSRF-Token": CSRF,
              "X-User": $("user").value.trim()},
  };
  const resp = await fetch(path, opts);
  let data;
  try { data = await resp.json(); } catch (e) { data = {error: resp.status + " " + resp.statusText}; }
  if (!resp.ok) { const err = new Error(data.error || resp.statusText); err.status = resp.status; err.data = data; throw err; }
  return data;
}
const q = (params) => new URLSearchParams(params).toString();

function showMessage(box, kind, content) {
  box.className = "message " + kind;
  box.replaceChildren(...(Array.isArray(content) ? content : [content]));
}
function hideMessage(box) { box.className = "message hidden"; box.replaceChildren(); }

function diffBlock(text) {
  const pre = el("pre", {class: "diff"});
  for (const line of (text || "(no difference)\n").split("\n")) {
    const cls = line.startsWith("+") && !line.startsWith("+++") ? "add" :
      line.startsWith("-") && !line.startsWith("---") ? "del" : line.startsWith("@@") ? "hunk" : "";
    pre.append(cls ? el("span", {class: cls}, line) : line + "\n");
  }
  return pre;
}

// -- navigation (the URL's #hash says what is shown) --------------------------------------
function go(kind, value) { location.hash = kind + "=" + encodeURIComponent(value); }
window.addEventListener("hashchange", route);
function route() {
  const m = location.hash.match(/^#(file|object|folder)=(.*)$/);
  for (const v of document.querySelectorAll(".view")) v.classList.add("hidden");
  if (!m) { $("welcome").classList.remove("hidden"); return; }
  const value = decodeURIComponent(m[2]);
  if (m[1] === "file") openFile(value);
  else if (m[1] === "object") openObject(value);
  else openFolder(value);
}

// -- side bar: files and objects --------------------------------------------------------
let treeEntries = [], badFiles = new Set();
async function loadTree() {
  const data = await api("/api/tree");
  treeEntries = data.entries;
  badFiles = new Set(data.errors.map((e) => e.split(":")[0]));
  const be = $("beacon-errors");
  be.textContent = data.errors.length ? data.errors.length + " error(s): Beacon serves the previous configuration" : "";
  be.title = data.errors.join("\n");
  be.classList.toggle("hidden", !data.errors.length);
  const rootUl = $("tree"), nodes = {"": rootUl};
  const open = new Set([...rootUl.querySelectorAll(".folder:not(.closed)")].map((li) => li.dataset.path));
  const first = !rootUl.children.length;
  rootUl.replaceChildren();
  for (const e of treeEntries) {
    const parent = e.path.includes("/") ? e.path.slice(0, e.path.lastIndexOf("/")) : "";
    const name = e.path.slice(parent ? parent.length + 1 : 0);
    const li = el("li", {class: e.type + (badFiles.has(e.path) ? " bad" : ""), "data-path": e.path});
    const label = el("span", {title: e.path}, name);
    li.append(label);
    if (e.type === "folder") {
      const ul = el("ul");
      li.append(ul);
      nodes[e.path] = ul;
      if (!first && !open.has(e.path)) li.classList.add("closed");
      label.addEventListener("click", (ev) => {
        if (ev.detail === 1) li.classList.toggle("closed");
        go("folder", e.path);
      });
    } else {
      label.addEventListener("click", () => go("file", e.path));
    }
    (nodes[parent] || rootUl).append(li);
  }
  markSelected();
}
function markSelected() {
  const m = location.hash.match(/^#(file|folder)=(.*)$/);
  for (const s of document.querySelectorAll(".tree span.sel")) s.classList.remove("sel");
  if (!m) return;
  const li = document.querySelector(`.tree li[data-path="${CSS.escape(decodeURIComponent(m[2]))}"]`);
  if (li) li.firstChild.classList.add("sel");
}

let objectTimer = null;
async function loadObjects() {
  const data = await api("/api/objects?" + q({q: $("q").value, plugin: $("plugin").value, class: $("klass").value}));
  const sel = $("plugin");
  if (sel.options.length === 1) for (const p of data.plugins) sel.append(el("option", {value: p}, p));
  const tbody = $("objects").tBodies[0];
  const shown = data.objects;
  tbody.replaceChildren(...shown.map((o) => el("tr", {onclick: () => go("object", o.name), title: o.file + ":" + o.line},
    el("td", {}, o.name), el("td", {}, o.class), el("td", {}, o.plugin))));
  $("count").textContent = data.total + " object(s)" + (data.total > shown.length ? ", first " + shown.length + " shown: refine the search" : "");
}
for (const id of ["q", "klass"]) $(id).addEventListener("input", () => { clearTimeout(objectTimer); objectTimer = setTimeout(loadObjects, 150); });
$("plugin").addEventListener("change", loadObjects);
function showTab(which) {
  $("tab-files").classList.toggle("active", which === "files");
  $("tab-objects").classList.toggle("active", which === "objects");
  $("files-pane").classList.toggle("hidden", which !== "files");
  $("objects-pane").classList.toggle("hidden", which !== "objects");
  if (which === "objects") loadObjects();
}
$("tab-files").onclick = () => showTab("files");
$("tab-objects").onclick = () => showTab("objects");

// -- file view --------------------------------------------------------------------------
const cm = CodeMirror($("editor-box"), {
  mode: "yaml", lineNumbers: true, indentUnit: 2, tabSize: 2, styleActiveLine: true,
  readOnly: READ_ONLY, extraKeys: {Tab: (c) => c.replaceSelection("  "), "Ctrl-S": () => saveFile(), "Cmd-S": () => saveFile()},
});
let current = {path: null, base: null};
let marks = [];
cm.on("change", () => { $("file-state").textContent = cm.getValue() === current.base ? "" : "modified, not saved"; });

function clearMarks() { for (const m of marks) m.clear(); marks = []; }
function showErrors(errors, box) {
  clearMarks();
  const here = errors.filter((e) => e.file === current.path);
  for (const e of here) {
    if (!e.line) continue;
    const line = e.line - 1;
    cm.addLineClass(line, "background", "cm-error-line");
    const w = cm.addLineWidget(line, el("div", {class: "cm-error-widget"}, "⚠ line " + e.line + ": " + e.message), {coverGutter: false});
    marks.push({clear: () => { cm.removeLineClass(line, "background", "cm-error-line"); w.clear(); }});
  }
  const items = errors.map((e) => el("div", {}, el("a", {onclick: () => jumpTo(e)}, (e.file || "") + (e.line ? ":" + e.line : "")), ": " + e.message));
  showMessage(box, "bad", [el("strong", {}, "Not saved: the configuration would have " + errors.length + " error(s). Nothing was written."), ...items]);
  if (here.length && here[0].line) cm.scrollIntoView({line: here[0].line - 1, ch: 0}, 120);
}
function jumpTo(e) {
  if (e.file === current.path) { cm.setCursor({line: (e.line || 1) - 1, ch: 0}); cm.focus(); }
  else go("file", e.file);
}

async function openFile(path) {
  $("file-view").classList.remove("hidden");
  markSelected();
  hideMessage($("message"));
  $("history").classList.add("hidden");
  clearMarks();
  const data = await api("/api/file?" + q({path})).catch((e) => { showMessage($("message"), "bad", e.message); return null; });
  if (!data) return;
  current = {path: data.path, base: data.text};
  $("file-path").textContent = data.path;
  cm.setValue(data.text);
  cm.clearHistory();
  $("file-state").textContent = "";
  $("file-objects").replaceChildren(...data.objects.map((n) => el("a", {href: "#object=" + encodeURIComponent(n)}, n)));
  if (data.errors.length) showErrors(data.errors, $("message")), $("message").firstChild.textContent = "This file has errors (Beacon refuses it until they are fixed):";
  setTimeout(() => cm.refresh(), 0);
}

function saved(result, box, what) {
  const parts = [el("strong", {}, what)];
  if (result.commit) parts.push(" — commit " + result.commit.short + " by " + result.commit.author);
  if (result.reload) parts.push(". Beacon reloaded" + (result.reload.modified.length ? " (changed: " + result.reload.modified.join(", ") + ")" : "") + ".");
  showMessage(box, result.warnings.length ? "warn" : "ok", [...parts, ...result.warnings.map((w) => el("div", {}, w))]);
}

function refused(err, box) {
  if (err.status === 422) { showErrors(err.data.errors, box); return; }
  if (err.status === 409) {
    const reload = el("button", {onclick: () => openFile(current.path)}, "Discard my edits and open the file as it is now");
    showMessage(box, "bad", [el("strong", {}, "Not saved: " + err.message), el("div", {}, "Changes made on disk since you opened it:"), diffBlock(err.data.diff), reload]);
    return;
  }
  showMessage(box, "bad", el("strong", {}, "Not saved: " + err.message));
}

async function saveFile() {
  if (!current.path || READ_ONLY) return;
  const text = cm.getValue();
  try {
    const result = await api("/api/file", {path: current.path, text, base: current.base});
    clearMarks();
    current.base = text;
    $("file-state").textContent = "";
    saved(result, $("message"), "Saved " + current.path);
    loadTree();
    if (!$("history").classList.contains("hidden")) showHistory();
  } catch (err) { refused(err, $("message")); }
}
$("save").onclick = saveFile;
$("check").onclick = async () => {
  const data = await api("/api/validate", {path: current.path, text: cm.getValue()});
  if (data.errors.length) { showErrors(data.errors, $("message")); $("message").firstChild.textContent = data.errors.length + " error(s) with this text (not saved):"; }
  else { clearMarks(); showMessage($("message"), "ok", "No error: the whole configuration is valid with this text."); }
};

// -- history ------------------------------------------------------------------------------
async function showHistory() {
  const aside = $("history");
  aside.classList.remove("hidden");
  const data = await api("/api/history?" + q({path: current.path}));
  aside.replaceChildren(historyList(data.commits, {path: current.path}, aside));
}
$("show-history").onclick = () => $("history").classList.contains("hidden") ? showHistory() : $("history").classList.add("hidden");

function historyList(commits, target, box) {
  const wrap = el("div");
  wrap.append(el("h3", {}, "History" + (target.object ? " of " + target.object : "")),
    el("div", {class: "muted"}, "Pick two versions (A older, B newer) and compare them."));
  const list = el("ul", {class: "commits"});
  commits.forEach((c, i) => {
    const a = el("input", {type: "radio", name: "a", value: c.id, title: "A"});
    const b = el("input", {type: "radio", name: "b", value: c.id, title: "B"});
    if (i === 1 || (i === 0 && commits.length === 1)) a.checked = true;
    if (i === 0) b.checked = true;
    const acts = el("div", {class: "acts"});
    if (target.path && !READ_ONLY && i > 0) acts.append(el("button", {onclick: () => revertTo(c)}, "Restore this version"));
    if (target.object && !READ_ONLY && i > 0) acts.append(el("button", {onclick: () => revertObject(target.object, c)}, "Restore " + target.object + " as it was here"));
    list.append(el("li", {}, a, b, el("span", {class: "msg"}, c.message),
      el("span", {class: "meta"}, c.short + " · " + c.author + " · " + c.date.replace("T", " ").slice(0, 19)), acts));
  });
  const out = el("div");
  const cmp = el("button", {onclick: async () => {
    const old = wrap.querySelector("input[name=a]:checked"), neu = wrap.querySelector("input[name=b]:checked");
    if (!old || !neu) return;
    const data = await api("/api/diff?" + q({...target, old: old.value, new: neu.value}));
    out.replaceChildren(diffBlock(data.diff));
  }}, "Compare A → B");
  wrap.append(list, cmp, out);
  return wrap;
}

async function revertTo(commit) {
  try {
    const result = await api("/api/revert", {path: current.path, commit: commit.id, base: current.base});
    await openFile(current.path);
    saved(result, $("message"), "Restored " + current.path + " as of " + commit.short);
    showHistory();
  } catch (err) { refused(err, $("message")); }
}

async function revertObject(name, commit) {
  try {
    const r = await api("/api/object/revert", {name, commit: commit.id});
    await openObject(name);
    saved(r, document.querySelector("#object-view .message"), "Restored " + name + " as of " + commit.short);
  } catch (err) { refusedObject(err, document.querySelector("#object-view .message")); }
}

// -- files and folders: create, rename, delete --------------------------------------------
async function fileOp(call, box, after) {
  try { const r = await call(); await loadTree(); if (after) after(r); else if (r && r.commit) saved(r, box, "Done"); }
  catch (err) { refused(err, box); }
}
$("new-file").onclick = () => newFile("");
$("folder-new-file").onclick = () => newFile(currentFolder);
function newFile(folder) {
  const name = prompt("New file (path inside the configuration, ending in .yml):", folder ? folder + "/new.yml" : "new.yml");
  if (!name) return;
  fileOp(() => api("/api/file", {path: name, text: "", base: null}), $("message"), () => go("file", name));
}
$("new-folder").onclick = () => {
  const name = prompt("New folder (path inside the configuration):");
  if (name) fileOp(() => api("/api/folder", {path: name}), $("message"), () => go("folder", name));
};
$("rename-file").onclick = () => {
  const dst = prompt("Rename or move " + current.path + " to:", current.path);
  if (dst && dst !== current.path) fileOp(() => api("/api/move", {src: current.path, dst}), $("message"), () => go("file", dst));
};
$("delete-file").onclick = () => {
  if (confirm("Delete " + current.path + "? (It stays in the history.)"))
    fileOp(() => api("/api/file/delete", {path: current.path, base: current.base}), $("message"), () => { location.hash = ""; });
};
let currentFolder = "";
function openFolder(path) {
  currentFolder = path;
  $("folder-view").classList.remove("hidden");
  hideMessage($("folder-message"));
  $("folder-path").textContent = path + "/";
  markSelected();
  const files = treeEntries.filter((e) => e.path.startsWith(path + "/") && !e.path.slice(path.length + 1).includes("/"));
  $("folder-files").replaceChildren(...files.map((e) => el("li", {}, el("a", {href: "#" + e.type + "=" + encodeURIComponent(e.path)}, e.path.slice(path.length + 1)))));
}
$("rename-folder").onclick = () => {
  const dst = prompt("Rename or move folder " + currentFolder + " to:", currentFolder);
  if (dst && dst !== currentFolder) fileOp(() => api("/api/move", {src: currentFolder, dst}), $("folder-message"), () => go("folder", dst));
};
$("delete-folder").onclick = () => {
  if (confirm("Delete folder " + currentFolder + " and every file in it? (They stay in the history.)"))
    fileOp(() => api("/api/folder/delete", {path: currentFolder}), $("folder-message"), () => { location.hash = ""; });
};

// -- object view --------------------------------------------------------------------------
let liveTimer = null;
async function openObject(name) {
  clearTimeout(liveTimer);
  const view = $("object-view");
  view.classList.remove("hidden");
  let o;
  try { o = await api("/api/object?" + q({name})); }
  catch (err) { view.replaceChildren(el("div", {class: "message bad"}, err.message)); return; }
  const msg = el("div", {class: "message hidden"});
  const head = el("div", {class: "bar"}, el("h2", {}, o.name),
    el("span", {class: "muted"}, [o.plugin, o.class].filter(Boolean).join(" · ")),
    el("span", {}, "defined at "), el("a", {class: "loc", href: "#file=" + encodeURIComponent(o.file)}, o.file + ":" + o.line));
  const cards = el("div", {class: "cards"});
  cards.append(deviceCard(o));
  if (o.form) cards.append(formCard(o, msg));
  const rel = el("div", {class: "muted"});
  if (o.parent) rel.append("inside ", el("a", {href: "#object=" + encodeURIComponent(o.parent)}, o.parent), " ");
  if (o.children.length) { rel.append("holds "); o.children.forEach((c, i) => rel.append(i ? ", " : "", el("a", {href: "#object=" + encodeURIComponent(c)}, c))); }
  const hist = el("div", {class: "card"});
  const histBtn = el("button", {onclick: async () => {
    const data = await api("/api/history?" + q({object: o.name}));
    hist.replaceChildren(historyList(data.commits, {object: o.name}, hist));
  }}, "History of " + o.name);
  view.replaceChildren(head, rel, msg, cards, keysTable(o, msg), el("p", {}, histBtn), hist);
  refreshLive(o.name);
}

function deviceCard(o) {
  const card = el("div", {class: "card", id: "device-card"}, el("h3", {}, "Tango device"));
  if (!o.device) { card.append(el("div", {class: "muted"}, "This object is not exported as a Tango device.")); return card; }
  const d = o.device;
  const rows = [["device", d.name], ["class", d.class], ["server", d.server], ["alias", d.alias || "—"]];
  const t = el("table", {}, ...rows.map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, v))));
  t.append(el("tr", {}, el("td", {}, "exported"), el("td", {id: "live-exported"}, "…")),
    el("tr", {}, el("td", {}, "State"), el("td", {}, el("span", {id: "live-state", class: "state none"}, "…"))),
    el("tr", {}, el("td", {}, "Status"), el("td", {id: "live-status", class: "muted"}, "")));
  card.append(t);
  return card;
}

async function refreshLive(name) {
  if (!$("live-state")) return;
  try {
    const live = await api("/api/object/live?" + q({name}));
    if (!$("live-state") || !location.hash.endsWith("=" + encodeURIComponent(name))) return;
    $("live-exported").textContent = live.exported ? "yes" + (live.host ? " (" + live.host + ", pid " + live.pid + ")" : "") : "no — its server is not running";
    const s = live.state || "none";
    $("live-state").textContent = live.state || (live.exported ? "no answer" : "—");
    $("live-state").className = "state " + s;
    $("live-status").textContent = live.error || (live.status || "").trim();
  } catch (err) { if ($("live-status")) $("live-status").textContent = err.message; }
  liveTimer = setTimeout(() => refreshLive(name), 2000);
}

function formCard(o, msg) {
  const card = el("div", {class: "card"}, el("h3", {}, {axis: "Axis", counter: "Counter", session: "Session"}[o.form.kind] + " settings in YAML"));
  const inputs = {};
  const t = el("table", {class: "form"});
  for (const f of o.form.fields) {
    if (f.type === "names") {
      const chosen = new Set(f.value.map(String));
      const filter = el("input", {type: "text", placeholder: "filter objects"});
      const picker = el("div", {class: "picker"});
      for (const c of f.choices) {
        const box = el("input", {type: "checkbox", value: c});
        box.checked = chosen.has(c);
        picker.append(el("label", {}, box, " " + c));
      }
      const extra = f.value.filter((v) => !f.choices.includes(String(v)));
      filter.addEventListener("input", () => { for (const l of picker.children) l.classList.toggle("hidden", !l.textContent.includes(filter.value)); });
      inputs[f.key] = {get: () => [...extra, ...[...picker.querySelectorAll("input:checked")].map((b) => b.value)]};
      t.append(el("tr", {}, el("td", {}, f.key), el("td", {}, filter, picker, extra.length ? el("div", {class: "muted"}, "kept as written: " + extra.join(", ")) : null)));
      continue;
    }
    const input = el("input", {type: "text", name: f.key, value: fmt(f.value)});
    input.disabled = READ_ONLY;
    inputs[f.key] = {get: () => input.value, input, initial: fmt(f.value)};
    t.append(el("tr", {}, el("td", {}, f.key), el("td", {}, input), el("td", {class: "unit"}, f.unit)));
  }
  const save = el("button", {class: "primary", onclick: async () => {
    const values = {};  // only what was changed: an untouched 5.0 is not rewritten as 5
    for (const [k, v] of Object.entries(inputs)) if (!v.input || v.get() !== v.initial) values[k] = v.get();
    if (!Object.keys(values).length) { showMessage(msg, "warn", "Nothing changed."); return; }
    for (const v of Object.values(inputs)) if (v.input) v.input.classList.remove("err-field");
    try {
      const r = await api("/api/object/keys", {name: o.name, values});
      await openObject(o.name);
      saved(r, document.querySelector("#object-view .message"), "Saved " + o.name);
    } catch (err) {
      refusedObject(err, msg);
      for (const e of (err.data && err.data.errors) || []) for (const [k, v] of Object.entries(inputs)) if (v.input && e.message.includes(" " + k + " ")) v.input.classList.add("err-field");
    }
  }}, "Save");
  save.disabled = READ_ONLY;
  card.append(t, save);
  return card;
}

function refusedObject(err, box) {
  if (err.status === 422) {
    showMessage(box, "bad", [el("strong", {}, "Not saved: the configuration would have " + err.data.errors.length + " error(s). Nothing was written."),
      ...err.data.errors.map((e) => el("div", {}, el("a", {href: "#file=" + encodeURIComponent(e.file)}, e.file + ":" + e.line), ": " + e.message))]);
  } else showMessage(box, "bad", "Not saved: " + err.message);
}

function keysTable(o, msg) {
  const wrap = el("div", {class: "card"}, el("h3", {}, "Configuration as Beacon serves it, and the Redis settings that supersede it"));
  const t = el("table", {class: "keys"}, el("tr", {}, el("th", {}, "key"), el("th", {}, "YAML value"), el("th", {}, "written at"), el("th", {}, "Redis setting")));
  for (const k of o.keys) {
    const differs = k.has_setting && JSON.stringify(k.setting) !== JSON.stringify(k.value);
    t.append(el("tr", {class: k.inherited ? "inh" : ""}, el("td", {}, k.key),
      el("td", {class: "val"}, refLink(k.value)),
      el("td", {}, el("a", {class: "loc", href: "#file=" + encodeURIComponent(k.file)}, k.file + ":" + k.line), k.inherited ? " (default)" : ""),
      el("td", {class: "val" + (differs ? " superseded" : "")}, k.has_setting ? fmt(k.setting) : "")));
  }
  for (const [k, v] of Object.entries(o.settings_only || {}))
    t.append(el("tr", {}, el("td", {}, k), el("td", {}, ""), el("td", {class: "muted"}, "not in YAML"), el("td", {class: "val"}, fmt(v))));
  wrap.append(t);
  if (o.settings_error) wrap.append(el("div", {class: "muted"}, o.settings_error));
  if (o.settings && Object.keys(o.settings).length && !READ_ONLY) {
    wrap.append(el("p", {}, el("button", {onclick: async () => {
      try { const r = await api("/api/object/settings-to-yaml", {name: o.name}); await openObject(o.name); saved(r, document.querySelector("#object-view .message"), "Settings of " + o.name + " written to YAML"); }
      catch (err) { refusedObject(err, msg); }
    }}, "Write the Redis settings to YAML")));
  }
  return wrap;
}

function refLink(v) {
  if (v && typeof v === "object" && v.$ref) return el("a", {href: "#object=" + encodeURIComponent(v.$ref)}, "$" + v.$ref);
  if (Array.isArray(v) && v.some((x) => x && x.$ref)) { const s = el("span", {}, "["); v.forEach((x, i) => s.append(i ? ", " : "", refLink(x))); s.append("]"); return s; }
  return fmt(v);
}

// -- start ------------------------------------------------------------------------------
const who = $("user");
try { if (localStorage.getItem("blisstango-user")) who.value = localStorage.getItem("blisstango-user"); } catch (e) {}
who.addEventListener("change", () => { try { localStorage.setItem("blisstango-user", who.value.trim()); } catch (e) {} });
if (READ_ONLY) for (const id of ["save", "rename-file", "delete-file", "new-file", "new-folder", "folder-new-file", "rename-folder", "delete-folder"]) $(id).disabled = true;
loadTree().then(route);
