"""The portal's whole loop in a real browser: sign in, ask, read the streamed and cited answer, open a citation and
see its span, give feedback, resume a conversation; the 401, 429, fallback and empty states; stored XSS that does not
run; the admin's sources, ingestion progress and audit pages; keyboard and phone use."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.portal.conftest import screenshot, sign_in
from tests.replay import ReplayServer, Reply
from tests.served import Served

pytestmark = pytest.mark.browser

TLS_QUESTION = "How do I get a TLS certificate for my ingress?"


def ask(page: Any, question: str) -> Any:
    """Type a question, send it with Enter, and wait for its answer to settle; the answer element."""
    before = page.locator(".message.answer").count()
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")
    answer = page.locator(".message.answer").nth(before)
    answer.wait_for()
    page.wait_for_function(
        "n => { const a = document.querySelectorAll('.message.answer')[n]; return a && !a.hasAttribute('aria-busy'); }",
        arg=before,
        timeout=60_000,
    )
    return answer


def test_a_bad_key_is_refused_and_the_right_one_signs_in(northwind: Served, page: Any, problems: list[str]) -> None:
    page.goto(northwind.base + "/")
    page.get_by_label("API key").fill("aiops_000000000000_not-a-real-key")
    page.get_by_role("button", name="Sign in").click()
    error = page.locator("#sign-in-error")
    error.filter(has_text=re.compile("Signed out|rejected|invalid|unknown", re.I)).wait_for()
    assert page.locator("#main").is_hidden()
    screenshot(page, "01-sign-in-401")
    sign_in(page, northwind)
    assert "northwind" in page.locator("#who").inner_text()
    # the admin's links are shown to an admin
    assert page.get_by_role("link", name="Sources").is_visible() and page.get_by_role("link", name="Audit").is_visible()
    assert problems == []


def test_ask_streams_a_cited_answer_and_a_citation_opens_the_highlighted_span(
    northwind: Served, page: Any, problems: list[str]
) -> None:
    developer = northwind.create_key("dev-ana", ["developer"], ["shop"])
    requests: list[Any] = []
    page.on("request", lambda r: requests.append(r))
    sign_in(page, northwind, developer)
    assert page.get_by_role("link", name="Sources").is_hidden()  # not an admin
    answer = ask(page, TLS_QUESTION)
    citations = answer.locator("a.cite")
    assert citations.count() >= 1
    assert "Answered by extractive" in answer.locator(".provider").inner_text()
    # the sources panel lists what the answer cites: title, type, section, score
    panel = page.locator("#source-list li")
    assert panel.count() >= 1 and "score" in panel.first.inner_text()
    # the answer came over SSE with the key in a header, and the key is in no URL
    asked = [r for r in requests if r.url.endswith("/v1/ask")]
    assert asked and asked[0].headers["accept"] == "text/event-stream"
    assert asked[0].headers["authorization"] == f"Bearer {developer}"
    assert all(developer not in r.url for r in requests)
    screenshot(page, "02-answer")
    citations.first.click()
    viewer = page.locator("#source-viewer")
    viewer.wait_for()
    viewer.locator(".passage.cited mark").first.wait_for()
    assert viewer.locator(".passage.cited").count() >= 1
    screenshot(page, "03-source-viewer")
    page.keyboard.press("Escape")
    viewer.wait_for(state="hidden")
    assert problems == []


def test_feedback_is_stored_with_its_comment(northwind: Served, page: Any, problems: list[str]) -> None:
    sign_in(page, northwind)
    answer = ask(page, "How do I roll back a bad release during a release freeze?")
    answer_id = answer.get_attribute("data-answer-id")
    answer.get_by_role("button", name="Not helpful").click()
    assert answer.get_by_role("button", name="Not helpful").get_attribute("aria-pressed") == "true"
    answer.get_by_label("Feedback comment").fill("Missing the Argo CD rollback command")
    answer.get_by_role("button", name="Send feedback").click()
    answer.get_by_text("Thanks for the feedback.").wait_for()
    records = httpx.get(
        f"{northwind.base}/v1/audit", params={"action": "feedback"}, headers=northwind.headers(), timeout=30
    ).json()
    mine = [r for r in records if r["details"].get("answer_id") == answer_id]
    assert mine and mine[0]["outcome"] == "down"
    assert mine[0]["details"]["comment"] == "Missing the Argo CD rollback command"
    assert problems == []


def test_a_conversation_is_resumed_with_its_answers_and_follow_ups_stay_in_it(
    northwind: Served, page: Any, problems: list[str]
) -> None:
    user = northwind.create_key("dev-bo", ["developer"], ["shop"])
    sign_in(page, northwind, user)
    first = ask(page, "How do I configure a horizontal pod autoscaler for my service?")
    assert first.locator("a.cite").count() >= 1
    conversation = re.search(r"#c=([\w-]+)", page.url)
    assert conversation, page.url
    page.get_by_role("button", name="New conversation").click()
    assert page.locator(".message").count() == 0
    ask(page, TLS_QUESTION)
    # the first conversation is listed (with its title) and comes back with its answer and citations
    listed = page.locator("#conversation-list .conversation", has_text="horizontal pod autoscaler")
    listed.click()
    page.locator(".message.question", has_text="horizontal pod autoscaler").wait_for()
    assert page.locator(".message").count() == 2
    assert listed.get_attribute("aria-current") == "true"
    assert page.locator(".message.answer a.cite").count() >= 1
    follow_up = ask(page, "what about its minimum replicas?")
    assert follow_up.locator(".body").inner_text().strip()
    thread = httpx.get(
        f"{northwind.base}/v1/conversations/{conversation.group(1)}", headers=northwind.headers(user), timeout=30
    ).json()
    assert [m["role"] for m in thread["messages"]] == ["user", "assistant", "user", "assistant"]
    # a reload of the tab keeps the session (and the conversation in the address, never the key)
    page.reload()
    page.wait_for_function("() => document.querySelectorAll('.message').length === 4")
    assert user not in page.url
    screenshot(page, "04-resumed-conversation")
    assert problems == []


def test_tool_calls_show_as_collapsible_steps_with_their_status(
    northwind: Served, page: Any, problems: list[str]
) -> None:
    sign_in(page, northwind)  # an admin: the cluster tools run for every namespace
    answer = ask(page, "Why is checkout crash-looping in prod?")
    steps = answer.locator("details.step")
    assert steps.count() >= 1
    first = steps.first
    assert first.get_attribute("open") is None
    first.locator("summary").click()
    assert first.get_attribute("open") is not None
    assert "ok" in first.locator("summary").inner_text()
    assert first.locator("pre code").inner_text().strip()  # the exact invocation
    assert "PAYMENTS_GATEWAY_URL" in answer.locator(".body").inner_text()
    screenshot(page, "05-tool-steps")
    assert problems == []


def test_a_question_no_source_answers_says_not_found(northwind: Served, page: Any, problems: list[str]) -> None:
    sign_in(page, northwind)
    answer = ask(page, "How do I force a Flux reconcile of eta-predictor?")
    assert "Not found in the knowledge base" in answer.locator(".not-found-box").inner_text()
    assert answer.locator("a.cite").count() == 0
    assert problems == []


def test_stored_xss_in_a_document_is_shown_as_text_and_never_runs(
    northwind: Served, page: Any, problems: list[str]
) -> None:
    sign_in(page, northwind, northwind.create_key("viewer-xi", ["viewer"]))
    answer = ask(page, "How do I show the status page debug banner?")
    text = answer.locator(".body").inner_text()
    # the markup of the document is on the screen as text ...
    assert "<script>window.__xss = 1</script>" in text and '<img src=x onerror="window.__xss = 2">' in text
    # ... and nothing of it became an element, a link to javascript:, or ran
    messages = page.locator("#messages")
    assert messages.locator("script, img, iframe, [onerror]").count() == 0
    hrefs = [a.get_attribute("href") or "" for a in messages.locator("a").all()]
    assert not [h for h in hrefs if h.lower().startswith("javascript")], hrefs
    citation = answer.locator("a.cite").first
    citation.click()
    viewer = page.locator("#source-viewer")
    viewer.locator(".passage.cited").first.wait_for()
    shown = viewer.inner_text()
    assert "<script>window.__xss = 1</script>" in shown and 'onerror="window.__xss = 2"' in shown
    assert viewer.locator("script, img, [onerror]").count() == 0
    assert page.evaluate("() => window.__xss") is None
    screenshot(page, "06-stored-xss-as-text")
    assert problems == []


def test_the_page_has_a_strict_content_security_policy_and_no_external_asset(northwind: Served, page: Any) -> None:
    loaded: list[str] = []
    page.on("request", lambda r: loaded.append(r.url))
    response = page.goto(northwind.base + "/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    page.wait_for_load_state("networkidle")
    assert loaded and all(url.startswith(northwind.base) for url in loaded), loaded
    # an inline script injected into the page is refused by the policy
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1';"
        " document.body.append(s); }"
    )
    assert page.evaluate("() => window.__inline") is None


def test_keyboard_only_sign_in_ask_and_open_a_source(northwind: Served, page: Any, problems: list[str]) -> None:
    page.goto(northwind.base + "/")
    page.keyboard.type(northwind.admin_token)  # the key field has the focus
    page.keyboard.press("Enter")
    page.get_by_label("Your question").wait_for()
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'question'")
    page.keyboard.type(TLS_QUESTION)
    page.keyboard.press("Enter")
    page.locator(".message.answer:not([aria-busy]) a.cite").first.wait_for()
    page.locator(".message.answer a.cite").first.focus()
    page.keyboard.press("Enter")
    page.locator("#source-viewer[open]").wait_for()
    page.keyboard.press("Escape")
    page.locator("#source-viewer").wait_for(state="hidden")
    assert problems == []


def test_the_portal_reads_on_a_phone(northwind: Served, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        sign_in(page, northwind)
        ask(page, TLS_QUESTION)
        widest = page.evaluate(
            "() => Math.max(document.documentElement.scrollWidth,"
            " ...[...document.querySelectorAll('#main *')].map(e => e.getBoundingClientRect().right))"
        )
        assert widest <= 391, f"the page is {widest}px wide on a 390px phone"
        assert page.get_by_label("Your question").is_visible()
        screenshot(page, "07-phone")
    finally:
        context.close()


def test_admin_ingests_into_an_empty_knowledge_base_and_sees_progress_fallback_and_audit(
    empty: Served, page: Any, problems: list[str], tmp_path: Any
) -> None:
    sign_in(page, empty)
    page.locator("#empty-kb").wait_for()
    screenshot(page, "08-empty-knowledge-base")
    page.get_by_role("link", name="Sources").click()
    page.locator("#kb-empty").wait_for()
    doc = tmp_path / "preview-environments.md"
    doc.write_text(
        "# Preview environments\n\n## Creating one\n\nLabel a pull request with `preview` and the platform creates a "
        "preview environment at `pr-<number>.preview.acme.example` within five minutes.\n",
        encoding="utf-8",
    )
    page.get_by_label("Files (markdown, HTML, PDF, text, incident exports)").set_input_files(str(doc))
    page.get_by_label("Type").select_option("doc")
    page.get_by_role("button", name="Start ingestion").click()
    job = page.locator(".jobs .job.succeeded")
    job.wait_for(timeout=120_000)
    assert job.locator("progress").get_attribute("value") == "100"
    page.locator("#types th", has_text="doc").wait_for()
    assert page.locator("#kb-empty").is_hidden()
    screenshot(page, "09-sources-and-ingestion")
    page.get_by_role("link", name="Ask").click()
    page.get_by_label("Your question").wait_for()
    assert page.locator("#empty-kb").is_hidden()
    answer = ask(page, "How do I create a preview environment for my pull request?")
    assert "Provider fallback" in answer.locator(".notices").inner_text()
    assert "Answered by extractive" in answer.locator(".provider").inner_text()
    assert answer.locator("a.cite").count() >= 1
    screenshot(page, "10-provider-fallback")
    page.get_by_role("link", name="Audit").click()
    rows = page.locator("#audit-rows tr")
    rows.first.wait_for()
    actions = page.locator("#audit-rows tr td:nth-child(4)").all_inner_texts()
    assert "ingest" in actions and any(a.startswith("ask") for a in actions), actions
    page.get_by_label("Action").fill("ingest")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#audit-rows tr td:nth-child(4)')]"
        ".every(td => td.textContent === 'ingest')"
    )
    screenshot(page, "11-audit")
    assert problems == []


def test_too_many_requests_shows_the_retry_time_and_keeps_the_question(
    empty: Served, page: Any, problems: list[str]
) -> None:
    user = empty.create_key("busy-bee", ["viewer"])
    sign_in(page, empty, user)
    for n in range(4):  # the service allows four a minute per user
        ask(page, f"Is there a runbook for disk pressure number {n}?")
    last = ask(page, "One question too many?")
    assert "Too many requests" in last.inner_text()
    banner = page.locator("#banner")
    banner.wait_for()
    assert re.search(r"Retry in \d+ s", banner.inner_text()), banner.inner_text()
    assert page.get_by_label("Your question").input_value() == "One question too many?"
    screenshot(page, "12-too-many-requests")
    assert problems == []


def test_the_renderer_never_makes_markup_or_unsafe_links_of_text(northwind: Served, page: Any) -> None:
    page.goto(northwind.base + "/")
    found = page.evaluate(
        r"""async () => {
          const { markdown, safeUrl } = await import("/static/portal.js");
          const urls = ["javascript:alert(1)", " JaVaScRiPt:alert(1)", "java\tscript:alert(1)", "data:text/html,x",
            "vbscript:x", "//evil.example/x", "/\\evil.example", "https://ok.example/a?b=c", "/v1/sources/x"];
          const box = document.createElement("div");
          box.append(markdown("**<b onclick=alert(1)>bold</b>** [a](javascript:alert(1)) [b](https://ok.example) " +
            "`<i>code</i>` [c](data:text/html,<script>alert(1)</script>)\n\n```\n<script>alert(2)</script>\n```" +
            "\n- <svg onload=alert(3)> [1]", (n) => `{${n}}`));
          return { urls: urls.map(safeUrl), html: box.innerHTML, links: [...box.querySelectorAll("a")].map(a => a.href),
                   elements: [...box.querySelectorAll("*")].map(e => e.tagName.toLowerCase()) };
        }"""
    )
    assert found["urls"] == [None, None, None, None, None, None, None, "https://ok.example/a?b=c", "/v1/sources/x"]
    assert found["links"] == ["https://ok.example/"]
    assert set(found["elements"]) <= {"p", "strong", "a", "code", "pre", "ul", "li"}, found["elements"]
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in found["html"] and "{1}" in found["html"]


def test_a_generative_answer_streams_in_token_by_token_then_settles_checked(
    empty: Served, ollama: ReplayServer, page: Any, problems: list[str], tmp_path: Any
) -> None:
    doc = tmp_path / "tls.md"
    doc.write_text(
        "# Ingress and TLS\n\n## HTTPS\n\nSet `tls: true` in the chart values; cert-manager then issues the "
        "certificate from the letsencrypt-prod issuer.\n",
        encoding="utf-8",
    )
    with doc.open("rb") as upload:
        job = httpx.post(
            f"{empty.base}/v1/ingest/jobs", files={"files": ("tls.md", upload)}, headers=empty.headers(), timeout=30
        ).json()
    job = empty.finished(job)
    assert job["status"] == "succeeded", job
    stream = Reply.stream("ollama-chat-stream.ndjson", "application/x-ndjson")
    stream.chunk_delay_s = 0.5
    ollama.queue("/api/chat", stream, Reply.json(404, {"error": "model not found"}))
    sign_in(page, empty, empty.create_key("streamer", ["viewer"]))
    page.get_by_label("Your question").fill("How do I turn on TLS for my service's chart?")
    page.get_by_label("Your question").press("Enter")
    # the first tokens are on the screen while the answer is still being written
    page.locator(".message.answer[aria-busy] .preview", has_text="Set").wait_for(timeout=30_000)
    screenshot(page, "13-streaming")
    answer = page.locator(".message.answer:not([aria-busy])")
    answer.wait_for(timeout=30_000)
    assert "cert-manager then issues the certificate" in answer.locator(".body").inner_text()
    assert "Answered by ollama" in answer.locator(".provider").inner_text()
    assert answer.locator("a.cite").count() == 1 and answer.locator(".preview").count() == 0
    assert problems == []
