// The admin pages: what is indexed per type with the last sync, ingestion jobs with their progress, and the audit log.

import { api, banner, chrome, el, when } from "./portal.js";

const $ = (id) => document.getElementById(id);

chrome(async (me) => {
  const page = document.body.dataset.page;
  const needs = page === "audit" ? "audit" : "ingest";
  if (!me.permissions.includes(needs)) {
    $("admin-denied").hidden = false;
    $("admin-content").hidden = true;
    return;
  }
  if (page === "audit") await audit();
  else await sources();
});

// -- sources and ingestion -------------------------------------------------------------------------------------------

async function sources() {
  $("ingest-form").addEventListener("submit", submit);
  for (const radio of document.querySelectorAll("input[name=target]")) radio.addEventListener("change", targetChanged);
  targetChanged();
  await Promise.allSettled([indexed(), jobs()]);
}

async function indexed() {
  const found = await api("/v1/sources?limit=1000");
  const types = Object.entries(found.types);
  $("kb-empty").hidden = types.length > 0;
  $("types").replaceChildren(...types.map(([type, t]) =>
    el("tr", {},
      el("th", { scope: "row", text: type }),
      el("td", { text: t.sources }),
      el("td", { text: t.chunks }),
      el("td", {}, el("time", { datetime: t.last_sync, title: t.last_sync || "", text: when(t.last_sync) })))));
  $("source-count").textContent = `${found.total} source${found.total === 1 ? "" : "s"}`;
  $("source-rows").replaceChildren(...found.sources.map((s) =>
    el("tr", {},
      el("td", {}, el("code", { text: s.source_id })),
      el("td", { text: s.source_type }),
      el("td", { text: s.title || "" }),
      el("td", { text: s.chunk_count }),
      el("td", {}, el("time", { datetime: s.ingested_at, title: s.ingested_at || "", text: when(s.ingested_at) })))));
}

function targetChanged() {
  const target = document.querySelector("input[name=target]:checked").value;
  for (const field of document.querySelectorAll("[data-target]")) field.hidden = field.dataset.target !== target;
}

async function submit(event) {
  event.preventDefault();
  const target = document.querySelector("input[name=target]:checked").value;
  const type = $("ingest-type").value || null;
  const problem = $("ingest-error");
  problem.textContent = "";
  let job;
  try {
    if (target === "files") {
      const files = $("ingest-files").files;
      if (!files.length) { problem.textContent = "Choose the files to upload."; return; }
      const form = new FormData();
      for (const file of files) form.append("files", file, file.name);
      if (type) form.append("source_type", type);
      job = await api("/v1/ingest/jobs", { method: "POST", form });
    } else if (target === "path") {
      const path = $("ingest-path").value.trim();
      if (!path) { problem.textContent = "Give a folder on the server."; return; }
      job = await api("/v1/ingest/jobs", { method: "POST", body: type ? { path, source_type: type } : { path } });
    } else {
      const cluster = $("ingest-cluster").value.trim();
      if (!cluster) { problem.textContent = "Give the cluster's name."; return; }
      job = await api("/v1/ingest/jobs", { method: "POST", body: { cluster } });
    }
  } catch (error) {
    problem.textContent = `Not started: ${error.message}`;
    return;
  }
  banner(`Ingestion job ${job.id} started.`, "info");
  await jobs();
  follow(job.id);
}

const RUNNING = new Set(["queued", "running"]);

async function jobs() {
  const found = await api("/v1/ingest/jobs");
  $("jobs-empty").hidden = found.length > 0;
  $("job-list").replaceChildren(...found.map(jobItem));
  for (const job of found) if (RUNNING.has(job.status)) follow(job.id);
}

function jobItem(job) {
  const percent = Math.round((job.progress || 0) * 100);
  const summary = job.summary
    ? Object.entries(job.summary).filter(([, v]) => typeof v === "number").map(([k, v]) => `${k} ${v}`).join(" · ")
    : "";
  return el("li", { class: `job ${job.status}`, id: `job-${job.id}` },
    el("div", { class: "job-head" },
      el("strong", { text: job.source }),
      el("span", { class: `badge ${job.status}`, text: job.status })),
    el("progress", { max: 100, value: percent, "aria-label": `Progress of ${job.source}` }),
    el("p", { class: "muted" },
      `${percent}%`, job.total ? ` · ${job.done}/${job.total}` : "", job.current ? ` · ${job.current}` : "",
      summary ? ` · ${summary}` : "", ` · by ${job.user_id}, ${when(job.created_at)}`),
    job.error ? el("p", { class: "error", text: job.error }) : null);
}

const followed = new Set();

async function follow(id) {
  if (followed.has(id)) return;
  followed.add(id);
  try {
    for (;;) {
      const job = await api(`/v1/ingest/jobs/${encodeURIComponent(id)}`);
      const item = $(`job-${id}`);
      if (item) item.replaceWith(jobItem(job)); else $("job-list").prepend(jobItem(job));
      if (!RUNNING.has(job.status)) {
        banner(`Ingestion of ${job.source}: ${job.status}.`, job.status === "succeeded" ? "info" : "warning");
        await indexed();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
  } finally {
    followed.delete(id);
  }
}

// -- audit -----------------------------------------------------------------------------------------------------------

let after = 0;

async function audit() {
  $("audit-form").addEventListener("submit", (event) => { event.preventDefault(); after = 0; $("audit-rows").replaceChildren(); page(); });
  $("audit-more").addEventListener("click", page);
  await page();
}

async function page() {
  const query = new URLSearchParams({ limit: "100", after_seq: String(after) });
  for (const name of ["user", "action", "outcome"]) {
    const value = $(`audit-${name}`).value.trim();
    if (value) query.set(name, value);
  }
  let records;
  try {
    records = await api(`/v1/audit?${query}`);
  } catch (error) {
    banner(`Could not read the audit log: ${error.message}`);
    return;
  }
  if (records.length) after = records[records.length - 1].seq;
  $("audit-rows").append(...records.map((r) =>
    el("tr", { class: r.outcome },
      el("td", { text: r.seq }),
      el("td", {}, el("time", { datetime: r.at, title: r.at, text: r.at.replace("T", " ").slice(0, 19) })),
      el("td", { text: r.user_id }),
      el("td", {}, el("code", { text: r.action })),
      el("td", { text: r.outcome }),
      el("td", {}, el("code", { class: "details", text: JSON.stringify(r.details) })))));
  $("audit-empty").hidden = $("audit-rows").children.length > 0;
  $("audit-more").hidden = records.length < 100;
}
