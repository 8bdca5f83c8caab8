// RubberDuck's browser editor: Monaco on the hub's WebSocket JSON-RPC
// (docs/protocol.md), as a thin client: the hub owns the shared text and
// rewrites this buffer with versioned workspace/applyEdit; we report every
// change as textDocument/didChange. Plain ES module, no framework, no
// bundler: Monaco comes from its prebuilt AMD files in
// /static/monaco-<version>/vs.

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- JSON-RPC

/** One WebSocket connection speaking JSON-RPC 2.0, one message per frame. */
class Rpc {
  constructor(url, onRequest, onNotify) {
    this.ws = new WebSocket(url);
    this.nextId = 1;
    this.pending = new Map();
    this.onRequest = onRequest;
    this.onNotify = onNotify;
    this.ws.onmessage = (ev) => this.receive(ev.data);
    this.ws.addEventListener("close", () => {
      for (const { reject } of this.pending.values()) reject(new Error("connection closed"));
      this.pending.clear();
    });
  }

  send(msg) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  call(method, params) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.ws.readyState !== WebSocket.OPEN) {
        reject(new Error("not connected"));
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.send({ jsonrpc: "2.0", id, method, params });
    });
  }

  notify(method, params) {
    this.send({ jsonrpc: "2.0", method, params });
  }

  async receive(data) {
    let m;
    try {
      m = JSON.parse(data);
    } catch {
      return;
    }
    if (m.method === undefined) {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) {
        const err = new Error(m.error.message);
        err.code = m.error.code;
        err.data = m.error.data;
        p.reject(err);
      } else {
        p.resolve(m.result);
      }
      return;
    }
    if (m.id === undefined) {
      this.onNotify(m.method, m.params);
      return;
    }
    try {
      const result = await this.onRequest(m.method, m.params);
      this.send({ jsonrpc: "2.0", id: m.id, result: result ?? null });
    } catch (e) {
      this.send({ jsonrpc: "2.0", id: m.id, error: { code: e.code ?? -32603, message: String(e.message ?? e) } });
    }
  }
}

// ------------------------------------------------------------------- state

const state = {
  rpc: null,
  connected: false,
  everConnected: false,
  attempts: 0,
  me: null,
  projects: [],
  project: "",
  role: "",
  doc: null, // {path, uri, model}
  dirs: new Map(), // path -> <ul> of a listed directory
  lastSeq: 0,
  people: new Map(), // session -> {person, path}
  remote: new Map(), // session -> decorations collection
  chat: new Map(), // message id -> {msg, el}
  undoOnHub: true,
  readOnlyReason: "",
};

let monaco;
let editor;

// ---------------------------------------------------------------- helpers

/** docURI spells a document's URI as the hub does (lsp/protocol.DocURI). */
function docURI(project, path) {
  return `rubberduck://${encodeURIComponent(project)}/${path.split("/").map(encodeURIComponent).join("/")}`;
}

/** parseURI reads rubberduck://<project>/<path>. */
function parseURI(uri) {
  const m = /^rubberduck:\/\/([^/]*)\/(.*)$/.exec(uri || "");
  if (!m) return null;
  try {
    return { project: decodeURIComponent(m[1]), path: m[2].split("/").map(decodeURIComponent).join("/") };
  } catch {
    return null;
  }
}

const toLSP = (lineNumber, column) => ({ line: lineNumber - 1, character: column - 1 });

function setStatus(kind, text) {
  const el = $("status");
  el.dataset.state = kind;
  el.textContent = text;
}

function updateReadOnly() {
  let reason = "";
  if (!state.connected) reason = "disconnected: read-only until the hub is back";
  else if (state.role === "reader") reason = "read-only: you are a reader in this project";
  else if (state.readOnlyReason) reason = state.readOnlyReason;
  const banner = $("banner");
  banner.textContent = reason;
  banner.hidden = reason === "";
  if (editor) editor.updateOptions({ readOnly: reason !== "" });
  // File operations need write access and the hub.
  const canWrite = state.connected && state.role !== "reader" && state.project !== "";
  $("new-file").disabled = !canWrite;
  $("rename-file").disabled = !canWrite || !state.doc;
  $("delete-file").disabled = !canWrite || !state.doc;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// Colours come from the hub; only CSS hex colours become style rules.
const colourClass = new Map();
function classFor(color) {
  if (!/^#[0-9a-fA-F]{3,8}$/.test(color || "")) color = "#e5534b";
  let cls = colourClass.get(color);
  if (cls) return cls;
  cls = `rd-c${colourClass.size}`;
  colourClass.set(color, cls);
  let sheet = $("rd-colours");
  if (!sheet) {
    sheet = el("style");
    sheet.id = "rd-colours";
    document.head.appendChild(sheet);
  }
  sheet.textContent +=
    `.rd-cur.${cls}{border-left:2px solid ${color}}` +
    `.rd-sel.${cls}{background:${color}44}` +
    `.rd-label.${cls}{background:${color}}` +
    `.dot.${cls}{background:${color}}\n`;
  return cls;
}

// -------------------------------------------------------------- connection

function connect() {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/lsp`;
  setStatus(state.everConnected ? "reconnecting" : "connecting", state.everConnected ? "reconnecting…" : "connecting…");
  const rpc = new Rpc(url, onRequest, onNotify);
  state.rpc = rpc;
  let opened = false;
  rpc.ws.addEventListener("open", async () => {
    opened = true;
    try {
      await start(rpc);
      state.attempts = 0;
    } catch (e) {
      console.error("rubberduck: start", e);
      rpc.ws.close();
    }
  });
  rpc.ws.addEventListener("close", (ev) => {
    if (state.rpc !== rpc) return;
    state.connected = false;
    clearPresence();
    updateReadOnly();
    state.attempts++;
    // A browser cannot read why an upgrade was refused: after a few
    // refusals, say that the session may have ended.
    if (!opened && state.attempts >= (state.everConnected ? 5 : 2)) {
      setStatus("signin", "cannot connect: if your session ended, sign in with a new login link (`rubberduck serve` prints one)");
    } else {
      setStatus("reconnecting", ev.code === 1008 ? "access ended: reconnecting…" : "reconnecting…");
    }
    // Exponential backoff with jitter so a restarted hub is not hit by
    // every browser at once.
    const base = Math.min(30000, 500 * 2 ** Math.min(state.attempts, 6));
    setTimeout(connect, base / 2 + Math.random() * (base / 2));
  });
}

/** start initializes a fresh connection and restores what was open. */
async function start(rpc) {
  await rpc.call("initialize", {
    processId: null,
    clientInfo: { name: "rubberduck-web" },
    rootUri: null,
    capabilities: { general: { positionEncodings: ["utf-16"] } },
    initializationOptions: { client: "browser" },
  });
  rpc.notify("initialized", {});
  state.me = await rpc.call("rubberduck/user/whoami", null).catch(() => null);
  const list = await rpc.call("rubberduck/project/list", null);
  state.projects = (list && list.projects) || [];
  const wanted = fromHash().project || state.project;
  const pick = state.projects.find((p) => p.name === wanted) || state.projects[0];
  renderProjects(pick && pick.name);
  state.connected = true;
  state.everConnected = true;
  setStatus("connected", "connected");
  if (!pick) {
    $("empty").textContent = "You are not a member of any project on this hub.";
    updateReadOnly();
    return;
  }
  await joinProject(pick.name);
}

function fromHash() {
  const h = decodeURIComponent(location.hash.replace(/^#\/?/, ""));
  const i = h.indexOf("/");
  if (!h) return {};
  return i < 0 ? { project: h } : { project: h.slice(0, i), path: h.slice(i + 1) };
}

function renderProjects(current) {
  const sel = $("project");
  sel.replaceChildren(...state.projects.map((p) => {
    const o = el("option", "", p.name);
    o.value = p.name;
    o.selected = p.name === current;
    return o;
  }));
  sel.hidden = state.projects.length < 2;
}

async function joinProject(name) {
  const rpc = state.rpc;
  const previous = state.project;
  const reopen = state.doc && previous === name ? state.doc.path : fromHash().project === name ? fromHash().path : "";
  if (previous && previous !== name) {
    closeDoc();
    await rpc.call("rubberduck/project/leave", { project: previous }).catch(() => {});
  }
  const res = await rpc.call("rubberduck/project/join", { project: name });
  state.project = name;
  state.role = res.role;
  state.lastSeq = 0;
  // Asking for the project's code intelligence starts it, so its problems
  // (publishDiagnostics) reach this page.
  rpc.call("rubberduck/intel/status", { project: name }).catch(() => {});
  await loadTree();
  loadChat();
  if (reopen) await openFile(reopen, true);
  else location.hash = `#/${name}`;
  // Writable again only once the file is open on this connection: typing
  // before its didOpen would reach the hub for a document it does not know.
  updateReadOnly();
}

// ------------------------------------------------------ hub-to-client calls

async function onRequest(method, params) {
  if (method === "workspace/applyEdit") return applyEdit(params);
  const e = new Error(`method not found: ${method}`);
  e.code = -32601;
  throw e;
}

function onNotify(method, p) {
  switch (method) {
    case "window/showMessage":
      if (/read-only/i.test(p.message)) {
        state.readOnlyReason = p.message;
        updateReadOnly();
      } else if (p.type === 1 || p.type === 2) {
        notice(p.message); // errors and warnings stay until dismissed
      }
      console.info("rubberduck:", p.message);
      break;
    case "textDocument/publishDiagnostics": {
      const ref = parseURI(p.uri);
      if (!ref) break;
      diagnostics.set(`${ref.project}/${ref.path}`, p.diagnostics || []);
      showDiagnostics();
      break;
    }
    case "$/rubberduck/files/changed":
      filesChanged(p);
      break;
    case "$/rubberduck/presence":
      presence(p);
      break;
    case "$/rubberduck/cursor":
      remoteCursor(p);
      break;
    case "$/rubberduck/chat/message":
      if (p.project === state.project) chatMessage(p.message);
      break;
    case "$/rubberduck/chat/delta":
      if (p.project === state.project) chatDelta(p.messageId, p.text);
      break;
  }
}

/**
 * applyEdit applies the hub's edit if it was made for the buffer as it is
 * now; otherwise it is dropped and the hub sends it again, transformed.
 * The change event it causes is reported as an ordinary didChange: the hub
 * expects that echo.
 */
function applyEdit(params) {
  const doc = state.doc;
  let applied = false;
  for (const dc of (params.edit && params.edit.documentChanges) || []) {
    const ref = parseURI(dc.textDocument.uri);
    if (!doc || !ref || ref.project !== state.project || ref.path !== doc.path) continue;
    if (dc.textDocument.version !== doc.model.getVersionId()) continue; // stale
    // All ranges refer to the text before any of them: one applyEdits call.
    doc.model.applyEdits(dc.edits.map((e) => ({
      range: new monaco.Range(e.range.start.line + 1, e.range.start.character + 1,
        e.range.end.line + 1, e.range.end.character + 1),
      text: e.newText,
      forceMoveMarkers: false,
    })));
    applied = true;
  }
  return { applied };
}

// -------------------------------------------------------------- documents

/** openFile shows path; again (after reconnecting) re-opens it on the hub. */
async function openFile(path, again = false) {
  if (state.doc && state.doc.path === path) {
    // On a new connection: our text as it is, and the hub's text wins.
    if (again) sendOpen(state.doc);
    editor.focus();
    return;
  }
  closeDoc();
  const uri = docURI(state.project, path);
  const model = monaco.editor.createModel("", undefined, monaco.Uri.from({ scheme: "rubberduck", authority: state.project, path: "/" + path }));
  model.setEOL(monaco.editor.EndOfLineSequence.LF);
  const doc = { path, uri, model };
  state.doc = doc;
  state.readOnlyReason = "";
  model.onDidChangeContent((e) => didChange(doc, e));
  editor.setModel(model);
  $("empty").hidden = true;
  $("path").textContent = path;
  location.hash = `#/${state.project}/${path}`;
  markOpen();
  sendOpen(doc);
  showDiagnostics();
  updateReadOnly();
  editor.focus();
  // didOpen is a notification: a file the hub cannot share (binary, too
  // large, gone) shows only here, so ask for its text once.
  try {
    await state.rpc.call("rubberduck/doc/read", { project: state.project, path });
  } catch (e) {
    if (state.doc === doc) {
      state.readOnlyReason = `cannot edit ${path}: ${e.message}`;
      updateReadOnly();
    }
  }
}

function sendOpen(doc) {
  state.rpc.notify("textDocument/didOpen", {
    textDocument: { uri: doc.uri, languageId: doc.model.getLanguageId(), version: doc.model.getVersionId(), text: doc.model.getValue() },
  });
  state.rpc.notify("$/rubberduck/presence/focus", { project: state.project, path: doc.path, viewport: viewport() });
}

function closeDoc() {
  const doc = state.doc;
  if (!doc) return;
  state.rpc.notify("textDocument/didClose", { textDocument: { uri: doc.uri } });
  state.doc = null;
  clearRemote();
  editor.setModel(null);
  doc.model.dispose();
  $("empty").hidden = false;
  $("path").textContent = "";
}

/**
 * didChange reports one model change. Monaco gives a multi-range change's
 * parts with ranges relative to the text before all of them; sent from the
 * last in the document to the first, each applies as LSP's sequential
 * contentChanges require.
 */
function didChange(doc, e) {
  if (state.doc !== doc) return;
  const changes = e.changes
    .map((c, i) => ({ c, i }))
    .sort((a, b) => b.c.rangeOffset - a.c.rangeOffset || a.i - b.i)
    .map(({ c }) => ({
      range: { start: toLSP(c.range.startLineNumber, c.range.startColumn), end: toLSP(c.range.endLineNumber, c.range.endColumn) },
      text: c.text,
    }));
  state.rpc.notify("textDocument/didChange", {
    textDocument: { uri: doc.uri, version: doc.model.getVersionId() },
    contentChanges: changes,
  });
}

async function save() {
  const doc = state.doc;
  if (!doc) return;
  try {
    await state.rpc.call("rubberduck/doc/save", { project: state.project, path: doc.path });
    flash(`saved ${doc.path}`);
  } catch (e) {
    flash(`save failed: ${e.message}`);
  }
}

/** undo asks the hub to undo the caller's own last step (per person). */
async function undo(redo) {
  const doc = state.doc;
  if (!doc) return;
  if (!state.undoOnHub) {
    editor.trigger("keyboard", redo ? "redo" : "undo", null);
    return;
  }
  try {
    await state.rpc.call("rubberduck/doc/undo", { project: state.project, path: doc.path, redo: !!redo });
  } catch (e) {
    if (e.code === -32601) {
      // A hub without per-person undo: the editor's own undo.
      state.undoOnHub = false;
      editor.trigger("keyboard", redo ? "redo" : "undo", null);
    }
  }
}

// ----------------------------------------------------- messages, problems

/** notice shows a warning from the hub until the person clicks it away. */
function notice(text) {
  const n = $("notice");
  n.textContent = text;
  n.title = `${text} (click to dismiss)`;
  n.hidden = false;
}

// diagnostics holds the hub's latest publication per "project/path": the
// language servers' problems and the hub's own (complexity, secrets).
const diagnostics = new Map();

/** showDiagnostics marks the open file's problems in the editor. */
function showDiagnostics() {
  const doc = state.doc;
  if (!doc || !monaco) return;
  const severity = { 1: monaco.MarkerSeverity.Error, 2: monaco.MarkerSeverity.Warning, 3: monaco.MarkerSeverity.Info, 4: monaco.MarkerSeverity.Hint };
  const list = diagnostics.get(`${state.project}/${doc.path}`) || [];
  monaco.editor.setModelMarkers(doc.model, "rubberduck", list.map((d) => ({
    startLineNumber: d.range.start.line + 1,
    startColumn: d.range.start.character + 1,
    endLineNumber: d.range.end.line + 1,
    endColumn: d.range.end.character + 1,
    severity: severity[d.severity] ?? monaco.MarkerSeverity.Info,
    message: d.message,
    source: d.source,
    code: d.code == null ? undefined : String(d.code),
  })));
}

// ---------------------------------------------------------- file actions

/** newFile creates an empty file (asking for its path) and opens it. */
async function newFile() {
  const dir = state.doc ? state.doc.path.replace(/[^/]*$/, "") : "";
  const path = (prompt("New file, path in the project:", dir) || "").trim();
  if (!path || path.endsWith("/")) return;
  try {
    await state.rpc.call("rubberduck/files/create", { project: state.project, path, content: "" });
    await openFile(path);
  } catch (e) {
    flash(`cannot create ${path}: ${e.message}`);
  }
}

/**
 * renameFile renames the open file (asking for the new path). The shared
 * text is saved first, so what everyone typed moves with the file; the
 * editor then shows the file under its new path.
 */
async function renameFile() {
  const doc = state.doc;
  if (!doc) return;
  const to = (prompt(`Rename ${doc.path} to:`, doc.path) || "").trim();
  if (!to || to === doc.path) return;
  try {
    await state.rpc.call("rubberduck/doc/save", { project: state.project, path: doc.path });
    await state.rpc.call("rubberduck/files/rename", { project: state.project, from: doc.path, to });
    closeDoc();
    await openFile(to);
  } catch (e) {
    flash(`cannot rename ${doc.path}: ${e.message}`);
  }
}

/** deleteFile moves the open file to the project's trash, once confirmed. */
async function deleteFile() {
  const doc = state.doc;
  if (!doc || !confirm(`Move ${doc.path} to the project's trash? It can be restored from there.`)) return;
  try {
    await state.rpc.call("rubberduck/files/delete", { project: state.project, path: doc.path });
    closeDoc();
    location.hash = `#/${state.project}`;
    updateReadOnly();
  } catch (e) {
    flash(`cannot delete ${doc.path}: ${e.message}`);
  }
}

let flashTimer;
function flash(text) {
  const prev = $("status").textContent;
  setStatus("connected", text);
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => state.connected && setStatus("connected", prev.startsWith("saved") ? "connected" : prev), 1500);
}

function viewport() {
  const r = editor.getVisibleRanges()[0];
  return r ? { start: r.startLineNumber - 1, end: r.endLineNumber - 1 } : undefined;
}

// --------------------------------------------------------------- file tree

async function listDir(path) {
  let entries = [];
  let cursor;
  do {
    const res = await state.rpc.call("rubberduck/files/list", { project: state.project, path, cursor });
    entries = entries.concat(res.entries || []);
    cursor = res.nextCursor;
  } while (cursor);
  return entries;
}

async function loadTree() {
  state.dirs.clear();
  const root = el("ul");
  $("tree").replaceChildren(root);
  await fillDir("", root);
}

async function fillDir(path, ul) {
  state.dirs.set(path, ul);
  const entries = await listDir(path);
  entries.sort((a, b) => (a.kind === "dir") === (b.kind === "dir") ? (a.name < b.name ? -1 : 1) : a.kind === "dir" ? -1 : 1);
  const keepOpen = new Map();
  for (const li of ul.children) if (li.classList.contains("expanded")) keepOpen.set(li.dataset.path, li);
  ul.replaceChildren(...entries.map((ent) => {
    const li = el("li", ent.kind === "dir" ? "dir" : "file");
    li.dataset.path = ent.path;
    const label = el("span", "", ent.name);
    label.title = ent.path;
    label.tabIndex = 0; // reachable with Tab, opened with Enter
    label.onkeydown = (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        label.click();
      }
    };
    li.appendChild(label);
    if (ent.kind === "dir") {
      label.onclick = () => toggleDir(li);
      if (keepOpen.has(ent.path)) {
        li.classList.add("expanded");
        const sub = el("ul");
        li.appendChild(sub);
        fillDir(ent.path, sub).catch(() => {});
      }
    } else {
      label.onclick = () => openFile(ent.path);
    }
    return li;
  }));
  markOpen();
}

function toggleDir(li) {
  const path = li.dataset.path;
  if (li.classList.toggle("expanded")) {
    const sub = el("ul");
    li.appendChild(sub);
    fillDir(path, sub).catch(() => {});
  } else {
    li.querySelector("ul")?.remove();
    for (const p of [...state.dirs.keys()]) if (p === path || p.startsWith(path + "/")) state.dirs.delete(p);
  }
}

function markOpen() {
  for (const s of document.querySelectorAll("#tree span.open")) s.classList.remove("open");
  if (!state.doc) return;
  for (const li of document.querySelectorAll("#tree li.file")) {
    if (li.dataset.path === state.doc.path) li.firstChild.classList.add("open");
  }
}

function filesChanged(p) {
  if (p.project !== state.project) return;
  const missed = p.resync || (state.lastSeq && p.seq !== state.lastSeq + 1);
  state.lastSeq = p.seq;
  const dirs = new Set();
  if (missed) {
    for (const d of state.dirs.keys()) dirs.add(d);
  } else {
    for (const ev of p.events || []) {
      for (const path of [ev.path, ev.oldPath]) {
        if (!path) continue;
        const i = path.lastIndexOf("/");
        dirs.add(i < 0 ? "" : path.slice(0, i));
      }
    }
  }
  for (const d of dirs) {
    const ul = state.dirs.get(d);
    if (ul && ul.isConnected) fillDir(d, ul).catch(() => {});
  }
}

// ---------------------------------------------------------------- presence

let cursorTimer = null;
function scheduleCursor() {
  if (cursorTimer) return;
  cursorTimer = setTimeout(() => {
    cursorTimer = null;
    const doc = state.doc;
    if (!doc || !state.connected) return;
    state.rpc.notify("$/rubberduck/cursor", {
      project: state.project,
      path: doc.path,
      selections: editor.getSelections().map((s) => ({
        anchor: toLSP(s.selectionStartLineNumber, s.selectionStartColumn),
        head: toLSP(s.positionLineNumber, s.positionColumn),
      })),
    });
  }, 50);
}

function presence(p) {
  if (p.project !== state.project) return;
  const key = p.person.session;
  if (p.event === "leave") {
    state.people.delete(key);
    clearRemote(key);
  } else {
    state.people.set(key, { person: p.person, path: p.path || state.people.get(key)?.path || "" });
  }
  renderPeople();
}

function clearPresence() {
  state.people.clear();
  clearRemote();
  renderPeople();
}

function renderPeople() {
  const items = [];
  if (state.me) {
    const li = el("li", "", `${state.me.displayName || state.me.name} (you)`);
    items.push(li);
  }
  for (const { person, path } of state.people.values()) {
    const li = el("li");
    li.appendChild(el("span", `dot ${classFor(person.color)}`));
    li.appendChild(el("span", "", person.name + (person.client ? ` · ${person.client}` : "")));
    if (path) li.appendChild(el("span", "state", path));
    items.push(li);
  }
  $("people").replaceChildren(...items);
}

function remoteCursor(p) {
  const doc = state.doc;
  if (!p.person || p.project !== state.project) return;
  const key = p.person.session;
  if (!state.people.has(key)) {
    state.people.set(key, { person: p.person, path: p.path });
    renderPeople();
  }
  let coll = state.remote.get(key);
  if (!doc || p.path !== doc.path || !(p.selections || []).length) {
    clearRemote(key);
    return;
  }
  if (!coll) {
    coll = editor.createDecorationsCollection();
    state.remote.set(key, coll);
  }
  const cls = classFor(p.person.color);
  const decos = [];
  for (const s of p.selections) {
    const a = new monaco.Position(s.anchor.line + 1, s.anchor.character + 1);
    const h = new monaco.Position(s.head.line + 1, s.head.character + 1);
    if (!a.equals(h)) {
      decos.push({ range: monaco.Range.fromPositions(a, h), options: { className: `rd-sel ${cls}`, hoverMessage: { value: p.person.name } } });
    }
    decos.push({
      range: monaco.Range.fromPositions(h, h),
      options: {
        beforeContentClassName: `rd-cur ${cls}`,
        hoverMessage: { value: p.person.name },
        stickiness: monaco.editor.TrackedRangeStickiness.NeverGrowsWhenTypingAtEdges,
      },
    });
  }
  coll.set(decos);
  const last = p.selections[p.selections.length - 1].head;
  showLabel(key, p.person, cls, new monaco.Position(last.line + 1, last.character + 1));
}

// Each remote cursor carries its person's name in a small label above it:
// a content widget whose text is set with textContent, never as HTML.
const labels = new Map(); // session -> widget
function showLabel(key, person, cls, position) {
  let w = labels.get(key);
  if (!w) {
    const node = el("div", `rd-label ${cls}`, person.name);
    w = {
      position,
      getId: () => `rd-label-${key}`,
      getDomNode: () => node,
      getPosition: () => ({ position: w.position, preference: [monaco.editor.ContentWidgetPositionPreference.ABOVE, monaco.editor.ContentWidgetPositionPreference.BELOW] }),
    };
    labels.set(key, w);
    editor.addContentWidget(w);
    return;
  }
  w.position = position;
  editor.layoutContentWidget(w);
}

/** clearRemote removes one session's cursors (all when key is undefined). */
function clearRemote(key) {
  for (const [k, coll] of state.remote) {
    if (key !== undefined && k !== key) continue;
    coll.clear();
    state.remote.delete(k);
  }
  for (const [k, w] of labels) {
    if (key !== undefined && k !== key) continue;
    editor.removeContentWidget(w);
    labels.delete(k);
  }
}

// -------------------------------------------------------------------- chat

async function loadChat() {
  state.chat.clear();
  $("chat-log").replaceChildren();
  try {
    const res = await state.rpc.call("rubberduck/chat/history", { project: state.project, limit: 50 });
    for (const m of res.messages || []) chatMessage(m); // chronological

  } catch (e) {
    console.info("rubberduck: chat history", e.message);
  }
}

function chatMessage(m) {
  let entry = state.chat.get(m.id);
  if (!entry) {
    const box = el("div", "msg");
    const who = el("span", "who");
    const text = el("span", "text");
    const st = el("span", "state");
    box.append(who, text, st);
    $("chat-log").appendChild(box);
    entry = { box, who, text, st, msg: m };
    state.chat.set(m.id, entry);
  }
  entry.msg = m;
  entry.who.textContent = m.role === "assistant" ? `${m.author || "AI"}:` : `${m.author}:`;
  if (m.text || !entry.text.textContent) entry.text.textContent = m.text || "";
  entry.st.textContent = m.error && m.error !== m.text ? `(${m.error})` : m.status && m.status !== "done" && m.status !== "sent" ? `(${m.status})` : "";
  scrollChat();
}

function chatDelta(id, text) {
  const entry = state.chat.get(id);
  if (!entry) return;
  entry.text.textContent += text;
  scrollChat();
}

function scrollChat() {
  const log = $("chat-log");
  log.scrollTop = log.scrollHeight;
}

async function sendChat(ev) {
  ev.preventDefault();
  const input = $("chat-input");
  const text = input.value.trim();
  if (!text || !state.connected || !state.project) return;
  const params = { project: state.project, text };
  const doc = state.doc;
  if (doc) {
    const sel = editor.getSelection();
    params.editor = { path: doc.path, cursor: toLSP(sel.positionLineNumber, sel.positionColumn), language: doc.model.getLanguageId() };
    if (!sel.isEmpty()) {
      params.editor.selection = { start: toLSP(sel.startLineNumber, sel.startColumn), end: toLSP(sel.endLineNumber, sel.endColumn) };
      params.editor.selectionText = doc.model.getValueInRange(sel);
    }
  }
  try {
    await state.rpc.call("rubberduck/chat/send", params);
    input.value = "";
  } catch (e) {
    flash(`chat: ${e.message}`);
  }
}

// -------------------------------------------------------------------- boot

function boot() {
  // Monaco lives beside its loader, at a path that names its version.
  const vs = new URL(".", document.getElementById("monaco-loader").src).pathname.replace(/\/$/, "");
  window.require.config({ paths: { vs } });
  window.require(["vs/editor/editor.main"], () => {
    monaco = window.monaco;
    editor = monaco.editor.create($("editor"), {
      model: null,
      automaticLayout: true,
      readOnly: true,
      minimap: { enabled: false },
    });
    const { KeyMod, KeyCode } = monaco;
    editor.addCommand(KeyMod.CtrlCmd | KeyCode.KeyS, save);
    editor.addCommand(KeyMod.CtrlCmd | KeyCode.KeyZ, () => undo(false));
    editor.addCommand(KeyMod.CtrlCmd | KeyMod.Shift | KeyCode.KeyZ, () => undo(true));
    editor.addCommand(KeyMod.CtrlCmd | KeyCode.KeyY, () => undo(true));
    editor.onDidChangeCursorSelection(scheduleCursor);
    let focusTimer = null;
    editor.onDidScrollChange(() => {
      // What others see of our viewport need not follow every frame.
      if (focusTimer) return;
      focusTimer = setTimeout(() => {
        focusTimer = null;
        if (state.doc && state.connected) {
          state.rpc.notify("$/rubberduck/presence/focus", { project: state.project, path: state.doc.path, viewport: viewport() });
        }
      }, 250);
    });
    $("project").onchange = (ev) => joinProject(ev.target.value).catch((e) => flash(e.message));
    $("chat-form").onsubmit = sendChat;
    $("notice").onclick = () => { $("notice").hidden = true; };
    $("new-file").onclick = newFile;
    $("rename-file").onclick = renameFile;
    $("delete-file").onclick = deleteFile;
    updateReadOnly();
    window.addEventListener("hashchange", () => {
      const h = fromHash();
      if (!state.connected) return;
      if (h.project && h.project !== state.project) joinProject(h.project).catch((e) => flash(e.message));
      else if (h.path && (!state.doc || h.path !== state.doc.path)) openFile(h.path);
    });
    // For tests and the curious: the running client.
    window.rubberduck = { state, editor };
    connect();
  });
}

boot();
