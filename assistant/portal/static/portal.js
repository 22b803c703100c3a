// The portal's shared parts: the API key of the browser session, calls to the API with its error shape, the SSE reader,
// DOM building that only ever creates text nodes from data (no innerHTML), and the safe markdown subset of answers.

const KEY = "aiops.apiKey";

/** The API key lives in sessionStorage: gone when the tab closes, never in a URL. */
export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set(key) { sessionStorage.setItem(KEY, key); },
  clear() { sessionStorage.removeItem(KEY); },
};

/** An API error: the status, the error type and message of the API's one error shape, and Retry-After when given. */
export class ApiError extends Error {
  constructor(status, type, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.type = type;
    this.retryAfter = retryAfter;
  }
}

async function failure(response) {
  let type = "HTTPError";
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.error) ({ type, message } = body.error);
  } catch { /* not our JSON: keep the status line */ }
  const retry = Number.parseInt(response.headers.get("Retry-After") || "", 10);
  return new ApiError(response.status, type, message, Number.isFinite(retry) ? retry : null);
}

function headers(extra = {}) {
  const h = { Accept: "application/json", ...extra };
  if (session.key) h.Authorization = `Bearer ${session.key}`;
  return h;
}

const listeners = new Set();
/** Called with every ApiError (401 signs out, 429 shows the retry time: see chrome()). */
export function onApiError(fn) { listeners.add(fn); }
function report(error) { listeners.forEach((fn) => fn(error)); return error; }

/** A JSON call; `body` is sent as JSON, `form` as multipart. Throws ApiError. */
export async function api(path, { method = "GET", body, form, signal } = {}) {
  const init = { method, signal, headers: headers(), credentials: "omit", cache: "no-store" };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  } else if (form !== undefined) {
    init.body = form;
  }
  const response = await fetch(path, init);
  if (!response.ok) throw report(await failure(response));
  return response.status === 204 ? null : response.json();
}

/** POST `body` and yield the Server-Sent Events of the response as {event, data}. Throws ApiError before the first. */
export async function* events(path, body, signal) {
  const response = await fetch(path, {
    method: "POST",
    signal,
    credentials: "omit",
    cache: "no-store",
    headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
    body: JSON.stringify(body),
  });
  if (!response.ok) throw report(await failure(response));
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

/** An element: attributes (functions become listeners, `text` the text content), children as nodes or text. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") node.addEventListener(name.replace(/^on/, ""), value);
    else if (name === "text") node.textContent = String(value);
    else if (name === "href") node.setAttribute("href", safeUrl(value) ?? "#");
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...nodes(children));
  return node;
}

/** Children as nodes: text becomes text nodes; null, undefined and false are left out (append would print "null"). */
export function nodes(children) {
  return children.flat().filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : document.createTextNode(String(c))));
}

/** A thumb icon (an SVG path, no font needed). */
export function thumbIcon() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", "M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6c-.4.4-.6.9-.6 1.4v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z");
  svg.append(path);
  return svg;
}

/** The URL if it is http(s) or a path of this site; null otherwise (javascript:, data:, vbscript:, //host ...). */
export function safeUrl(value) {
  const text = String(value).trim();
  if (text.startsWith("/") && !text.startsWith("//") && !text.startsWith("/\\")) return text;
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

const INLINE = /(\*\*([^*]+)\*\*|`([^`]+)`|\[([^\]\n]+)\]\(([^)\s]+)\)|\[(\d{1,3})\])/g;

/** Inline markdown as nodes: **bold**, `code`, [text](http link), and [n] citation markers given to `cite(n)`. */
export function inline(text, cite) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[2] !== undefined) out.push(el("strong", {}, ...inline(m[2], cite)));
    else if (m[3] !== undefined) out.push(el("code", { text: m[3] }));
    else if (m[4] !== undefined) {
      const href = safeUrl(m[5]);
      out.push(href ? el("a", { href, rel: "noopener noreferrer nofollow", target: "_blank" }, m[4]) : m[4]);
    } else out.push(cite ? cite(Number(m[6])) : m[0]);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** Markdown blocks (paragraphs, headings, - and 1. lists, ``` code) as a fragment; nothing in `text` is ever HTML. */
export function markdown(text, cite) {
  const root = document.createDocumentFragment();
  const lines = String(text).replace(/\r\n/g, "\n").split("\n");
  let list = null;
  let paragraph = [];
  const flush = () => {
    if (paragraph.length) root.append(el("p", {}, ...inline(paragraph.join(" "), cite)));
    paragraph = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = line.match(/^\s*```/);
    if (fence) {
      flush(); list = null;
      const code = [];
      while (++i < lines.length && !/^\s*```/.test(lines[i])) code.push(lines[i]);
      root.append(el("pre", {}, el("code", { text: code.join("\n") })));
      continue;
    }
    const heading = line.match(/^(#{1,4})\s+(.*)$/);
    const item = line.match(/^\s*(?:[-*]|(\d+)\.)\s+(.*)$/);
    if (!line.trim()) { flush(); list = null; }
    else if (heading) { flush(); list = null; root.append(el(`h${Math.min(heading[1].length + 2, 6)}`, {}, ...inline(heading[2], cite))); }
    else if (item) {
      flush();
      const tag = item[1] ? "ol" : "ul";
      if (!list || list.tagName.toLowerCase() !== tag) { list = el(tag); root.append(list); }
      list.append(el("li", {}, ...inline(item[2], cite)));
    } else if (list && /^\s{2,}\S/.test(line)) list.lastChild.append(" ", ...inline(line.trim(), cite));
    else { list = null; paragraph.push(line.trim()); }
  }
  flush();
  return root;
}

/** "3 s ago"-style time for a timestamp; the exact one is the title. */
export function when(iso) {
  if (!iso) return "never";
  const then = new Date(iso);
  const s = Math.round((Date.now() - then.getTime()) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return then.toLocaleDateString();
}

/** The banner under the header: a message of a kind (error, warning, info); optional seconds to count down. */
export function banner(message, kind = "error", seconds = null) {
  const node = document.getElementById("banner");
  clearInterval(banner.timer);
  if (!message) { node.hidden = true; node.replaceChildren(); return; }
  node.className = `banner ${kind}`;
  node.hidden = false;
  const text = el("span", { text: message });
  const close = el("button", { type: "button", class: "link", "aria-label": "Dismiss", onclick: () => banner(null) }, "Dismiss");
  node.replaceChildren(text, close);
  if (seconds) {
    let left = seconds;
    const tick = () => {
      text.textContent = `${message} Retry in ${left} s.`;
      if (left-- <= 0) { clearInterval(banner.timer); text.textContent = `${message} You can retry now.`; }
    };
    tick();
    banner.timer = setInterval(tick, 1000);
  }
}

/** The caller once signed in ({org, user, roles, permissions}); null before. */
export let me = null;

/**
 * The page frame: sign-in with an API key (checked with GET /v1/me), the header with the caller and the links their
 * permissions allow, sign-out, and the shared error states; `start(me)` runs once the caller is known.
 */
export function chrome(start) {
  const signIn = document.getElementById("sign-in");
  const main = document.getElementById("main");
  const form = document.getElementById("sign-in-form");
  const input = document.getElementById("api-key");
  const problem = document.getElementById("sign-in-error");
  let started = false;

  const showSignIn = (message) => {
    me = null;
    main.hidden = true;
    signIn.hidden = false;
    document.getElementById("sign-out").hidden = true;
    document.getElementById("who").textContent = "";
    problem.textContent = message || "";
    input.focus();
  };
  const enter = async () => {
    try {
      me = await api("/v1/me");
    } catch (error) {
      if (error.status !== 401) showSignIn(`Could not sign in: ${error.message}`);
      return;
    }
    signIn.hidden = true;
    main.hidden = false;
    document.getElementById("who").textContent = `${me.user} · ${me.org} · ${me.roles.join(", ")}`;
    document.getElementById("sign-out").hidden = false;
    for (const link of document.querySelectorAll("[data-needs]")) link.hidden = !me.permissions.includes(link.dataset.needs);
    if (started) { location.reload(); return; }  // another key after a sign-out: start from a clean page
    started = true;
    start(me);
  };
  onApiError((error) => {
    if (error.status === 401) {
      session.clear();
      showSignIn(`Signed out: ${error.message}`);
    } else if (error.status === 429) {
      banner(`Too many requests: ${error.message}.`, "warning", error.retryAfter);
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) { problem.textContent = "Enter your API key."; return; }
    session.set(key);
    input.value = "";
    problem.textContent = "";
    enter();
  });
  document.getElementById("sign-out").addEventListener("click", () => {
    session.clear();
    showSignIn("Signed out.");
  });
  if (session.key) enter(); else showSignIn("");
}
