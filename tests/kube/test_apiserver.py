"""The snapshot API server, driven by the official client over a kubeconfig it wrote: the client's real code path."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import urllib3
from kubernetes import client as k8s
from kubernetes import config

from tests.kube.apiserver import KubeApiServer

SNAPSHOT = Path(__file__).resolve().parents[2] / "corpora" / "clusters" / "northwind-prod"
CONTEXT = "northwind-prod"
TOKEN = "kube-fixture-token"
CRASHED = "checkout-7c9d8f6b5-x2k4p"  # shop: CrashLoopBackOff, its previous container panicked
PANIC = "panic: config validation failed: PAYMENTS_GATEWAY_URL is not a valid URL"


def file_items(namespace: str | None, plural: str) -> list[dict[str, Any]]:
    """The items of a snapshot List file, or of every namespace's file in folder order (None)."""
    if namespace is not None:
        return list(json.loads((SNAPSHOT / namespace / f"{plural}.json").read_text())["items"])
    spaces = sorted(p.name for p in SNAPSHOT.iterdir() if p.is_dir())
    return [item for ns in spaces for item in file_items(ns, plural)]


def names(items: list[Any]) -> list[str]:
    """Object names, from client models or from JSON."""
    return [i["metadata"]["name"] if isinstance(i, dict) else i.metadata.name for i in items]


@contextmanager
def api_client(kubeconfig: Path) -> Iterator[k8s.ApiClient]:
    """An ApiClient of its own (no global configuration) whose sockets are closed afterwards."""
    api = config.new_client_from_config(config_file=str(kubeconfig), context=CONTEXT, persist_config=False)
    try:
        yield api
    finally:
        api.close()
        api.rest_client.pool_manager.clear()  # ApiClient.close() leaves urllib3's pooled sockets open


def status_of(exc: pytest.ExceptionInfo[k8s.ApiException]) -> dict[str, Any]:
    """The Status object the server sent with an error."""
    body: dict[str, Any] = json.loads(exc.value.body)
    assert body["kind"] == "Status" and body["status"] == "Failure" and body["code"] == exc.value.status
    return body


def pod_log(core: k8s.CoreV1Api, pod: str, namespace: str = "shop", **options: Any) -> str:
    """The raw log text (the client's own str deserialization would json-parse a log that happens to be JSON)."""
    response = core.read_namespaced_pod_log(pod, namespace, _preload_content=False, **options)
    try:
        return str(response.data.decode("utf-8"))
    finally:
        response.release_conn()


@pytest.fixture
def server() -> Iterator[KubeApiServer]:
    with KubeApiServer(SNAPSHOT, TOKEN) as running:
        yield running


@pytest.fixture
def kubeconfig(server: KubeApiServer, tmp_path: Path) -> Path:
    return server.kubeconfig(tmp_path / "kube" / "config", CONTEXT)


@pytest.fixture
def api(kubeconfig: Path) -> Iterator[k8s.ApiClient]:
    with api_client(kubeconfig) as opened:
        yield opened


@pytest.fixture
def core(api: k8s.ApiClient) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(api)


def test_kubeconfig_is_loadable_without_touching_the_global_configuration(
    server: KubeApiServer, kubeconfig: Path
) -> None:
    loaded = k8s.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), context=CONTEXT, client_configuration=loaded)
    assert loaded.host == server.url and server.url.startswith("http://127.0.0.1:")
    assert loaded.api_key == {"BearerToken": f"Bearer {TOKEN}"}
    assert kubeconfig.stat().st_mode & 0o777 == 0o600
    assert k8s.Configuration.get_default_copy().host != server.url


def test_pods_of_a_namespace_are_the_file_items(core: k8s.CoreV1Api) -> None:
    listed = core.list_namespaced_pod("shop")
    assert listed.kind == "PodList" and listed.metadata.resource_version == "4893771"
    assert names(listed.items) == names(file_items("shop", "pods"))


def test_one_pod_is_read_with_kind_and_api_version(core: k8s.CoreV1Api) -> None:
    pod = core.read_namespaced_pod(CRASHED, "shop")
    assert (pod.kind, pod.api_version, pod.metadata.namespace) == ("Pod", "v1", "shop")
    assert pod.status.container_statuses[0].restart_count == 11
    raw = json.loads(core.read_namespaced_pod(CRASHED, "shop", _preload_content=False).data)
    assert raw == next(p for p in file_items("shop", "pods") if p["metadata"]["name"] == CRASHED)


def test_pods_for_all_namespaces_cover_every_namespace(core: k8s.CoreV1Api) -> None:
    listed = core.list_pod_for_all_namespaces(limit=500, _continue="")  # pagination is ignored, never an error
    assert {p.metadata.namespace for p in listed.items} == {"payments", "platform", "shop"}
    assert names(listed.items) == names(file_items(None, "pods"))


def test_nodes_and_namespaces(core: k8s.CoreV1Api) -> None:
    assert names(core.list_node().items) == names(json.loads((SNAPSHOT / "nodes.json").read_text())["items"])
    assert core.read_node("ip-10-20-3-41").kind == "Node"
    assert names(core.list_namespace().items) == ["payments", "platform", "shop"]
    shop = core.read_namespace("shop")
    assert (shop.kind, shop.status.phase, shop.metadata.labels) == (
        "Namespace",
        "Active",
        {"kubernetes.io/metadata.name": "shop"},
    )


@pytest.mark.parametrize(
    ("api_class", "method", "namespace", "plural"),
    [
        ("AppsV1Api", "list_namespaced_deployment", "shop", "deployments"),
        ("AppsV1Api", "list_replica_set_for_all_namespaces", None, "replicasets"),
        ("AppsV1Api", "list_namespaced_stateful_set", "platform", "statefulsets"),
        ("AppsV1Api", "list_daemon_set_for_all_namespaces", None, "daemonsets"),
        ("BatchV1Api", "list_namespaced_job", "platform", "jobs"),
        ("BatchV1Api", "list_cron_job_for_all_namespaces", None, "cronjobs"),
        ("NetworkingV1Api", "list_namespaced_ingress", "shop", "ingresses"),
        ("CoreV1Api", "list_service_for_all_namespaces", None, "services"),
        ("CoreV1Api", "list_namespaced_persistent_volume_claim", "platform", "persistentvolumeclaims"),
        ("CoreV1Api", "list_namespaced_config_map", "shop", "configmaps"),
    ],
)
def test_lists_of_every_group(
    api: k8s.ApiClient, api_class: str, method: str, namespace: str | None, plural: str
) -> None:
    args = (namespace,) if namespace else ()
    listed = getattr(getattr(k8s, api_class)(api), method)(*args)
    assert names(listed.items) == names(file_items(namespace, plural)) != []


def test_one_object_of_each_group_is_read(api: k8s.ApiClient) -> None:
    deployment = k8s.AppsV1Api(api).read_namespaced_deployment("checkout", "shop")
    assert (deployment.kind, deployment.api_version, deployment.status.available_replicas) == (
        "Deployment",
        "apps/v1",
        2,
    )
    job = k8s.BatchV1Api(api).read_namespaced_job("pg-backup-verify-29919030", "platform")
    assert (job.kind, job.api_version) == ("Job", "batch/v1")
    ingress = k8s.NetworkingV1Api(api).list_namespaced_ingress("shop").items[0]
    assert k8s.NetworkingV1Api(api).read_namespaced_ingress(ingress.metadata.name, "shop").kind == "Ingress"


def test_events_filtered_by_field_selector(core: k8s.CoreV1Api) -> None:
    about = core.list_namespaced_event("shop", field_selector=f"involvedObject.name={CRASHED}").items
    expected = [e for e in file_items("shop", "events") if e["involvedObject"]["name"] == CRASHED]
    assert names(about) == names(expected) and len(about) == 3
    backoff = core.list_namespaced_event("shop", field_selector=f"involvedObject.name={CRASHED},reason=BackOff").items
    assert [e.reason for e in backoff] == ["BackOff"]
    deployments = core.list_event_for_all_namespaces(field_selector="involvedObject.kind=Deployment").items
    assert deployments and {e.involved_object.kind for e in deployments} == {"Deployment"}
    scoped = core.list_event_for_all_namespaces(field_selector="involvedObject.namespace=payments,metadata.name!=x")
    assert {e.metadata.namespace for e in scoped.items} == {"payments"}
    with pytest.raises(k8s.ApiException) as exc:
        core.list_namespaced_event("shop", field_selector="involvedObject.colour=red")
    assert exc.value.status == 400 and "field label not supported" in status_of(exc)["message"]


def test_label_selectors(core: k8s.CoreV1Api) -> None:
    checkout = core.list_namespaced_pod("shop", label_selector="app.kubernetes.io/name=checkout").items
    assert names(checkout) and all(n.startswith("checkout-") for n in names(checkout))
    both = core.list_pod_for_all_namespaces(label_selector="app.kubernetes.io/name in (checkout,cart),!missing").items
    assert {p.metadata.labels["app.kubernetes.io/name"] for p in both} == {"checkout", "cart"}
    named = core.list_namespaced_pod("shop", field_selector=f"metadata.name={CRASHED}").items
    assert names(named) == [CRASHED]


def test_logs_whole_tail_limit_and_previous(core: k8s.CoreV1Api) -> None:
    text = (SNAPSHOT / "shop" / CRASHED / "logs.txt").read_text()
    body = re.search(r"====\n(.*)^==== END", text, re.S | re.M)
    assert body is not None and pod_log(core, CRASHED) == body[1]
    assert pod_log(core, CRASHED, container="checkout", tail_lines=2).splitlines() == body[1].splitlines()[-2:]
    assert pod_log(core, CRASHED, limit_bytes=10) == body[1][:10]
    previous = pod_log(core, CRASHED, container="checkout", previous=True)
    assert previous == (SNAPSHOT / "shop" / CRASHED / "logs-checkout-previous.txt").read_text()
    assert PANIC in previous.splitlines()
    assert pod_log(core, CRASHED, container="checkout", previous=True, tail_lines=0) == ""


def test_log_errors_are_the_real_api_errors(core: k8s.CoreV1Api) -> None:
    with pytest.raises(k8s.ApiException) as exc:
        pod_log(core, "checkout-5b6f8d9c77-h8k5t", previous=True)
    assert exc.value.status == 400 and "previous terminated container" in status_of(exc)["message"]
    with pytest.raises(k8s.ApiException) as exc:
        pod_log(core, "payments-gateway-6d5c8b7f9-r4n8w", "payments")  # ImagePullBackOff: the dump holds the refusal
    assert exc.value.status == 400 and "trying and failing to pull image" in status_of(exc)["message"]
    with pytest.raises(k8s.ApiException) as exc:
        pod_log(core, CRASHED, container="sidecar")
    assert exc.value.status == 400
    with pytest.raises(k8s.ApiException) as exc:
        pod_log(core, "no-such-pod")
    assert exc.value.status == 404
    assert pod_log(core, "kafka-2", "platform") == ""  # never scheduled: the real API answers an empty log


def test_a_pod_with_several_containers_needs_one_named(tmp_path: Path) -> None:
    (tmp_path / "team" / "web-1").mkdir(parents=True)
    (tmp_path / "nodes.json").write_text('{"kind": "NodeList", "apiVersion": "v1", "metadata": {}, "items": []}')
    pod = {
        "metadata": {"name": "web-1", "namespace": "team"},
        "spec": {"containers": [{"name": "app"}, {"name": "proxy"}]},
    }
    (tmp_path / "team" / "pods.json").write_text(json.dumps({"kind": "PodList", "apiVersion": "v1", "items": [pod]}))
    blocks = [
        f"==== {e} logs for container {c} of pod team/web-1 ====" for c in ("app", "proxy") for e in ("START", "END")
    ]
    blocks.insert(1, "app says hi")
    blocks.insert(4, "proxy says hi")
    (tmp_path / "team" / "web-1" / "logs.txt").write_text("\n".join(blocks) + "\n")
    with KubeApiServer(tmp_path, TOKEN) as server, api_client(server.kubeconfig(tmp_path / "kc", CONTEXT)) as api:
        core = k8s.CoreV1Api(api)
        with pytest.raises(k8s.ApiException) as exc:
            pod_log(core, "web-1", "team")
        assert exc.value.status == 400 and "choose one of: ['app', 'proxy']" in status_of(exc)["message"]
        assert pod_log(core, "web-1", "team", container="proxy") == "proxy says hi\n"
        assert core.read_namespaced_pod("web-1", "team").kind == "Pod"  # kind and apiVersion filled in as on get


def test_unknown_objects_are_404_and_unknown_namespaces_list_empty(core: k8s.CoreV1Api) -> None:
    for call in (
        lambda: core.read_namespaced_pod("nope", "shop"),
        lambda: core.read_namespaced_pod(CRASHED, "nowhere"),
        lambda: core.read_namespace("nowhere"),
        lambda: core.read_node("nope"),
    ):
        with pytest.raises(k8s.ApiException) as exc:
            call()
        assert exc.value.status == 404 and status_of(exc)["reason"] == "NotFound"
    assert core.list_namespaced_pod("nowhere").items == []  # as the real API does


def test_wrong_or_missing_token_is_401(server: KubeApiServer, tmp_path: Path) -> None:
    with api_client(server.kubeconfig(tmp_path / "wrong", CONTEXT, token="not-the-token")) as api:
        with pytest.raises(k8s.ApiException) as exc:
            k8s.CoreV1Api(api).list_namespaced_pod("shop")
        assert exc.value.status == 401 and status_of(exc)["reason"] == "Unauthorized"
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/api/v1/namespaces/shop/pods").status_code == 401
    assert [r.authorized for r in server.requests] == [False, False]


def test_secrets_and_unserved_resources_are_403(server: KubeApiServer, core: k8s.CoreV1Api, api: k8s.ApiClient) -> None:
    for call in (
        lambda: core.list_namespaced_secret("shop"),
        lambda: core.read_namespaced_secret("db", "shop"),
        lambda: core.list_secret_for_all_namespaces(),
        lambda: core.list_namespaced_service_account("shop"),
        lambda: k8s.RbacAuthorizationV1Api(api).list_cluster_role(),
    ):
        with pytest.raises(k8s.ApiException) as exc:
            call()
        assert exc.value.status == 403 and status_of(exc)["reason"] == "Forbidden"
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        assert http.get(f"/api/v1/namespaces/shop/pods/{CRASHED}/exec").status_code == 403
        assert http.get("/api/v1/namespaces/shop/pods", params={"watch": "true"}).status_code == 403
        assert http.get("/apis/apps/v1/pods").status_code == 403  # pods are not in the apps group
        assert http.get("/apis/apps/v2/deployments").status_code == 403  # nor deployments in a version not served
        assert http.get("/apis/metrics.k8s.io/v1beta1").status_code == 404  # discovery of a group not served
    assert sum("/secrets" in r.path for r in server.requests) == 3


def test_every_method_but_get_is_refused_and_recorded(server: KubeApiServer, core: k8s.CoreV1Api) -> None:
    with pytest.raises(k8s.ApiException) as exc:
        core.delete_namespaced_pod(CRASHED, "shop")
    assert exc.value.status == 405 and status_of(exc)["reason"] == "MethodNotAllowed"
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        for method in ("POST", "PUT", "PATCH", "HEAD", "PROPFIND"):
            assert (
                http.request(method, "/api/v1/namespaces/shop/pods", json={} if method != "HEAD" else None).status_code
                == 405
            )
    refused = [(r.method, r.status) for r in server.requests]
    assert refused == [(m, 405) for m in ("DELETE", "POST", "PUT", "PATCH", "HEAD", "PROPFIND")]
    assert core.read_namespaced_pod(CRASHED, "shop").metadata.name == CRASHED  # nothing was deleted


def test_requests_are_recorded_with_their_query(server: KubeApiServer, core: k8s.CoreV1Api) -> None:
    core.list_namespaced_event("shop", field_selector=f"involvedObject.name={CRASHED}")
    (recorded,) = server.requests
    assert (recorded.method, recorded.path, recorded.authorized, recorded.status) == (
        "GET",
        "/api/v1/namespaces/shop/events",
        True,
        200,
    )
    assert recorded.query == {"fieldSelector": f"involvedObject.name={CRASHED}"}


def test_discovery_endpoints(api: k8s.ApiClient) -> None:
    assert k8s.VersionApi(api).get_code().git_version == "v1.31.4"
    assert k8s.CoreApi(api).get_api_versions().versions == ["v1"]
    assert [g.name for g in k8s.ApisApi(api).get_api_versions().groups] == ["apps", "batch", "networking.k8s.io"]
    assert "pods/log" in [r.name for r in k8s.CoreV1Api(api).get_api_resources().resources]
    assert "deployments" in [r.name for r in k8s.AppsV1Api(api).get_api_resources().resources]


def test_a_hanging_server_times_the_client_out(server: KubeApiServer, core: k8s.CoreV1Api) -> None:
    server.delay_s = 0.3
    started = time.perf_counter()
    assert core.list_node(_request_timeout=5).items
    assert time.perf_counter() - started >= 0.3
    server.delay_s = 30.0
    started = time.perf_counter()
    with pytest.raises(urllib3.exceptions.HTTPError):  # read timeout, after urllib3's retries
        core.list_node(_request_timeout=0.2)
    assert time.perf_counter() - started < 5
    assert server.requests[-1].status is None  # still hanging; close() wakes it


def test_a_failing_server_answers_500_with_a_status(server: KubeApiServer, core: k8s.CoreV1Api) -> None:
    server.fail_with = 500
    with pytest.raises(k8s.ApiException) as exc:
        core.list_namespaced_pod("shop", _request_timeout=1)
    assert exc.value.status == 500 and status_of(exc)["reason"] == "InternalError"
    server.fail_with = 503
    with pytest.raises(k8s.ApiException) as exc:
        pod_log(core, CRASHED, _request_timeout=1)
    assert exc.value.status == 503
    server.fail_with = None
    assert core.list_namespaced_pod("shop").items


def test_a_huge_log(server: KubeApiServer, core: k8s.CoreV1Api) -> None:
    server.huge_log_bytes = 3_000_000
    text = pod_log(core, CRASHED)
    assert len(text.encode()) == 3_000_000
    first = json.loads(text.splitlines()[0])
    assert first["level"] == "info" and first["container"] == "checkout"
    assert len(pod_log(core, CRASHED, tail_lines=5).splitlines()) == 5
    assert len(pod_log(core, CRASHED, limit_bytes=1000)) == 1000


def test_starts_fast_and_leaves_no_thread_behind(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    started = time.perf_counter()
    server = KubeApiServer(SNAPSHOT, TOKEN).start()
    assert time.perf_counter() - started < 0.2
    with api_client(server.kubeconfig(tmp_path / "kc", CONTEXT)) as api:
        assert k8s.CoreV1Api(api).list_node().items  # a keep-alive connection stays open in the pool
        started = time.perf_counter()
        server.close()
        assert time.perf_counter() - started < 1
        assert set(threading.enumerate()) - before == set()
    with pytest.raises(RuntimeError):
        _ = server.url
