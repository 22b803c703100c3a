// The chat page: ask, watch the answer stream in (retrieval, tool steps, tokens, the checked answer), open the cited
// sources, give feedback, and resume earlier conversations. Every piece of answer or source text becomes text nodes.

import { ApiError, api, banner, chrome, el, events, markdown, nodes, thumbIcon, when } from "./portal.js";

const $ = (id) => document.getElementById(id);
const state = { conversation: null, controller: null };

chrome(async () => {
  $("ask-form").addEventListener("submit", ask);
  $("question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("ask-form").requestSubmit();
    }
  });
  $("new-conversation").addEventListener("click", () => { startOver(); $("question").focus(); });
  $("stop").addEventListener("click", () => state.controller?.abort());
  $("viewer-close").addEventListener("click", () => $("source-viewer").close());
  const resume = new URLSearchParams(location.hash.slice(1)).get("c");
  await Promise.allSettled([listConversations(), knowledgeBase(), resume ? open(resume) : null]);
  $("question").focus();
});

async function knowledgeBase() {
  const indexed = await api("/v1/sources?limit=1");
  $("empty-kb").hidden = indexed.total > 0;
}

// -- conversations ---------------------------------------------------------------------------------------------------

async function listConversations() {
  const list = $("conversation-list");
  let found;
  try {
    found = await api("/v1/conversations?limit=50");
  } catch (error) {
    list.replaceChildren(el("li", { class: "muted", text: `Could not load conversations: ${error.message}` }));
    return;
  }
  if (!found.length) {
    list.replaceChildren(el("li", { class: "muted", text: "No conversations yet." }));
    return;
  }
  list.replaceChildren(
    ...found.map((c) =>
      el("li", {},
        el("button", {
          type: "button",
          class: "conversation",
          "data-id": c.id,
          "aria-current": c.id === state.conversation ? "true" : null,
          onclick: () => open(c.id),
        }, el("span", { class: "title", text: c.title || "Untitled" }),
        el("time", { datetime: c.updated_at, title: c.updated_at, text: when(c.updated_at) })),
      ),
    ),
  );
}

function startOver() {
  state.conversation = null;
  history.replaceState(null, "", location.pathname);
  $("messages").replaceChildren();
  showSources(null);
  markCurrent();
}

function markCurrent() {
  for (const button of document.querySelectorAll("#conversation-list .conversation")) {
    if (button.dataset.id === state.conversation) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
}

async function open(id) {
  let conversation;
  try {
    conversation = await api(`/v1/conversations/${encodeURIComponent(id)}`);
  } catch (error) {
    if (error.status === 404) banner("That conversation does not exist (or is not yours).", "warning");
    return;
  }
  startOver();
  state.conversation = conversation.id;
  history.replaceState(null, "", `#c=${encodeURIComponent(conversation.id)}`);
  markCurrent();
  let last = null;
  for (const message of conversation.messages) {
    if (message.role === "user") $("messages").append(questionItem(message.content));
    else if (message.answer) {
      last = new Turn();
      $("messages").append(last.node);
      last.answer(message.answer);
    }
  }
  last?.node.scrollIntoView({ block: "end" });
}

// -- asking ----------------------------------------------------------------------------------------------------------

async function ask(event) {
  event.preventDefault();
  const box = $("question");
  const question = box.value.trim();
  if (!question || state.controller) return;
  banner(null);
  busy(true);
  box.value = "";
  $("messages").append(questionItem(question));
  const turn = new Turn();
  $("messages").append(turn.node);
  turn.node.scrollIntoView({ block: "end" });
  state.controller = new AbortController();
  const body = { question, stream: true };
  if (state.conversation) body.conversation_id = state.conversation;
  try {
    for await (const { event: kind, data } of events("/v1/ask", body, state.controller.signal)) {
      if (kind === "retrieval") turn.retrieved(data);
      else if (kind === "tool_call") turn.step(data);
      else if (kind === "token") turn.token(data.text);
      else if (kind === "answer") {
        turn.answer(data);
        if (state.conversation !== data.conversation_id) {
          state.conversation = data.conversation_id;
          history.replaceState(null, "", `#c=${encodeURIComponent(data.conversation_id)}`);
        }
      } else if (kind === "done") turn.done(data);
      else if (kind === "error") throw new ApiError(data.status || 500, data.type, data.message);
    }
    if (!turn.settled) throw new ApiError(502, "Incomplete", "the answer stream ended before the answer");
  } catch (error) {
    turn.failed(error);
    if (!box.value) box.value = question; // nothing typed is lost
  } finally {
    state.controller = null;
    busy(false);
    listConversations().then(markCurrent);
  }
}

function busy(on) {
  $("send").disabled = on;
  $("stop").hidden = !on;
  $("ask-form").setAttribute("aria-busy", on ? "true" : "false");
  if (!on) $("question").focus();
}

function questionItem(text) {
  return el("li", { class: "message question" }, el("span", { class: "who", text: "You" }), el("p", { text }));
}

const STATUS_ICON = { ok: "✓", error: "✗", denied: "⊘", disabled: "–", timeout: "⏱" };

/** One answer in the thread, from its first event to the checked answer (or the error). */
class Turn {
  constructor() {
    this.settled = false;
    this.status = el("p", { class: "status", role: "status", text: "Searching your organization's sources…" });
    this.steps = el("ol", { class: "steps", "aria-label": "Tool calls" });
    this.preview = el("p", { class: "preview", hidden: true });
    this.body = el("div", { class: "body" });
    this.meta = el("div", { class: "meta" });
    this.notices = el("div", { class: "notices" });
    this.node = el("li", { class: "message answer", "aria-busy": "true" },
      el("span", { class: "who", text: "Assistant" }), this.status, this.steps, this.preview, this.body, this.notices,
      this.meta);
  }

  retrieved(data) {
    const n = (data.sources || []).length;
    this.status.textContent = n ? `Found ${n} source${n === 1 ? "" : "s"}; composing the answer…` : "No matching sources.";
  }

  step(call) {
    const icon = STATUS_ICON[call.status] || "•";
    const details = el("details", { class: `step ${call.status}` },
      el("summary", {},
        el("span", { class: "icon", "aria-hidden": "true", text: icon }),
        el("code", { text: call.name }),
        el("span", { class: "step-status", text: ` ${call.status}` }),
        el("span", { class: "muted", text: call.duration_ms ? ` · ${Math.round(call.duration_ms)} ms` : "" })),
      call.summary ? el("p", { text: call.summary }) : null,
      call.invocation ? el("pre", {}, el("code", { text: call.invocation })) : null,
      call.error ? el("p", { class: "error", text: call.error }) : null);
    this.steps.append(el("li", {}, details));
  }

  token(text) {
    this.preview.hidden = false;
    this.preview.textContent += text;
  }

  answer(data) {
    this.settled = true;
    this.data = data;
    this.node.removeAttribute("aria-busy");
    this.node.dataset.answerId = data.answer_id;
    this.status.remove();
    this.preview.remove();
    if (!this.steps.children.length) for (const call of data.tool_calls || []) this.step(call);
    const citations = new Map((data.citations || []).map((c) => [c.n, c]));
    const cite = (n) => {
      const c = citations.get(n);
      if (!c) return `[${n}]`;
      return el("a", {
        class: "cite",
        href: `#source-${n}`,
        "aria-label": `Source ${n}: ${c.title || c.source_id}`,
        onclick: (event) => { event.preventDefault(); showSources(data); openSource(c); },
      }, `[${n}]`);
    };
    if (data.status === "no_evidence") {
      this.node.classList.add("not-found");
      this.body.replaceChildren(el("div", { class: "not-found-box" },
        el("strong", { text: "Not found in the knowledge base" }),
        el("p", { text: data.answer })));
    } else {
      this.body.replaceChildren(markdown(data.answer, cite));
    }
    for (const warning of data.warnings || []) {
      const fallback = /fell back/.test(warning);
      this.notices.append(el("p", { class: `notice ${fallback ? "warning" : "info"}` },
        fallback ? el("strong", { text: "Provider fallback: " }) : null, warning));
    }
    const total = data.timings?.total_ms;
    this.meta.replaceChildren(...nodes([
      data.status === "answered" ? el("span", { class: "provider", text: `Answered by ${data.provider}` }) : null,
      data.cached ? el("span", { class: "muted", text: " · from cache" }) : null,
      total ? el("span", { class: "muted", text: ` · ${Math.round(total)} ms` }) : null,
      citations.size ? el("button", { type: "button", class: "link", onclick: () => showSources(data) },
        `${citations.size} source${citations.size === 1 ? "" : "s"}`) : null,
      feedback(data.answer_id),
    ]));
    showSources(data);
  }

  done(data) {
    const fallback = data.headers?.["X-AIOps-Fallback"];
    if (fallback && !this.notices.querySelector(".warning")) {
      this.notices.append(el("p", { class: "notice warning" }, el("strong", { text: "Provider fallback: " }), fallback));
    }
  }

  failed(error) {
    this.settled = true;
    this.node.removeAttribute("aria-busy");
    this.node.classList.add("failed");
    this.status.remove();
    let message = `Could not answer: ${error.message}`;
    if (error.name === "AbortError") message = "Stopped: the question is back in the box.";
    else if (error.status === 429) {
      const wait = error.retryAfter ? ` Retry in ${error.retryAfter} s.` : "";
      message = `Too many requests: ${error.message}.${wait}`;
    } else if (error.status === 401) message = "Your API key was not accepted; sign in again.";
    else if (error.status === 504) message = `Timed out: ${error.message}`;
    this.body.replaceChildren(el("p", { class: "error", role: "alert", text: message }));
    this.node.scrollIntoView({ block: "end" });
  }
}

function feedback(answerId) {
  const box = el("div", { class: "feedback", role: "group", "aria-label": "Was this answer helpful?" });
  const comment = el("textarea", { id: `comment-${answerId}`, rows: 2, maxlength: 2000, placeholder: "What was right or wrong? (optional)" });
  const form = el("form", { class: "feedback-form", hidden: true },
    el("label", { for: `comment-${answerId}`, class: "visually-hidden", text: "Feedback comment" }), comment,
    el("button", { type: "submit", text: "Send feedback" }));
  let rating = null;
  const thumb = (value, label) => el("button", {
    type: "button", class: `thumb ${value}`, "aria-label": label, "aria-pressed": "false", title: label,
    onclick: (event) => {
      rating = value;
      for (const b of box.querySelectorAll(".thumb")) b.setAttribute("aria-pressed", String(b === event.currentTarget));
      form.hidden = false;
      comment.focus();
    },
  }, thumbIcon(), el("span", { text: label }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { answer_id: answerId, rating };
    if (comment.value.trim()) body.comment = comment.value.trim();
    try {
      await api("/v1/feedback", { method: "POST", body });
      box.replaceChildren(el("span", { class: "thanks", role: "status", text: "Thanks for the feedback." }));
    } catch (error) {
      form.append(el("p", { class: "error", role: "alert", text: `Feedback not saved: ${error.message}` }));
    }
  });
  box.append(thumb("up", "Helpful"), thumb("down", "Not helpful"), form);
  return box;
}

// -- sources ---------------------------------------------------------------------------------------------------------

function showSources(answer) {
  const list = $("source-list");
  const citations = answer?.citations || [];
  $("sources-empty").hidden = citations.length > 0;
  list.replaceChildren(
    ...citations.map((c) =>
      el("li", {},
        el("button", { type: "button", class: "source", onclick: () => openSource(c) },
          el("span", { class: "n", text: `[${c.n}]` }), el("span", { class: "title", text: c.title || c.source_id })),
        el("p", { class: "muted" },
          [c.source_type, c.section, `score ${Number(c.score).toFixed(2)}`].filter(Boolean).join(" · ")),
      ),
    ),
  );
}

/** The cited source in the viewer: its passages around the span, the cited ones marked and the snippet highlighted. */
async function openSource(citation) {
  const dialog = $("source-viewer");
  $("viewer-title").textContent = `[${citation.n}] ${citation.title || citation.source_id}`;
  const meta = [citation.source_type, citation.section, citation.uri,
    citation.line_start ? `lines ${citation.line_start}–${citation.line_end ?? citation.line_start}` : null,
    citation.page ? `page ${citation.page}` : null];
  $("viewer-meta").textContent = meta.filter(Boolean).join(" · ");
  const body = $("viewer-body");
  body.replaceChildren(el("p", { class: "status", role: "status", text: "Opening the source…" }));
  if (!dialog.open) dialog.showModal();
  const query = new URLSearchParams();
  if (citation.line_start) query.set("line_start", citation.line_start);
  if (citation.line_end) query.set("line_end", citation.line_end);
  let source;
  try {
    source = await api(`/v1/sources/${encodeURIComponent(citation.source_id)}?${query}`);
  } catch (error) {
    const why = error.status === 404 ? "This source is not in the index (live tool output is not stored); the cited text:" : `Could not open the source: ${error.message}. The cited text:`;
    body.replaceChildren(el("p", { class: "muted", text: why }), el("blockquote", {}, highlight(citation.snippet, citation.snippet)));
    return;
  }
  const passages = source.passages.map((p) =>
    el("section", { class: `passage${p.cited ? " cited" : ""}` },
      p.section ? el("h3", { text: p.section }) : null,
      el("div", { class: "text" }, p.cited ? highlight(p.text || "", citation.snippet) : p.text || "")),
  );
  body.replaceChildren(...passages);
  (body.querySelector("mark") || body.querySelector(".cited"))?.scrollIntoView({ block: "center" });
}

/** `text` with the first occurrence of the snippet (whitespace-insensitive) in <mark>, or all of it when not found. */
function highlight(text, snippet) {
  const words = String(snippet || "").replace(/…|\.\.\./g, " ").trim().split(/\s+/).filter(Boolean);
  const fragment = document.createDocumentFragment();
  if (words.length) {
    const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    const match = new RegExp(escaped.join("\\s+")).exec(text);
    if (match) {
      fragment.append(text.slice(0, match.index), el("mark", { text: match[0] }), text.slice(match.index + match[0].length));
      return fragment;
    }
  }
  fragment.append(el("mark", { text }));
  return fragment;
}
