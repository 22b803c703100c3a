"""Write the sample cluster snapshots corpora/clusters/northwind-prod and orbital-prod, deterministically.

Each scenario is a production cluster on a bad morning (2026-11-20 09:30 UTC): the failures planted in it are listed in
its FAILURES.md, and the golden set corpora/evals/cluster.yaml asks about them.

    python scripts/make_cluster_snapshots.py [OUT_DIR]       (default: corpora/clusters)
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from cluster_snapshot import (
    Container,
    Event,
    Pod,
    Snapshot,
    healthy_logs,
    json_log,
    log_time,
    running,
    terminated,
    waiting,
)

GiB_32 = "32386252Ki"
GiB_64 = "65023568Ki"


def crash_loop(container: str, pod: str, restarts: int) -> dict[str, object]:
    back_off = "5m0s" if restarts > 5 else "2m40s"
    return waiting("CrashLoopBackOff", f"back-off {back_off} restarting failed container={container} pod={pod}")


def northwind() -> tuple[Snapshot, str]:
    s = Snapshot("northwind-prod", ["shop", "payments", "platform"], "10.20")
    n1, n2, n3, n4 = "ip-10-20-1-17", "ip-10-20-2-88", "ip-10-20-3-41", "ip-10-20-4-12"
    s.node(n1, "10.20.1.17", "eu-west-1a", "m6i.2xlarge", "8", GiB_32, labels={"nw.io/pool": "general"})
    s.node(n2, "10.20.2.88", "eu-west-1b", "m6i.2xlarge", "8", GiB_32, labels={"nw.io/pool": "general"})
    s.node(
        n3,
        "10.20.3.41",
        "eu-west-1c",
        "m6i.2xlarge",
        "8",
        GiB_32,
        labels={"nw.io/pool": "general"},
        failure="unreachable",
    )
    s.node(n4, "10.20.4.12", "eu-west-1a", "m6i.2xlarge", "8", GiB_32, labels={"nw.io/pool": "general"})
    image = "ghcr.io/northwind-groceries/{}:sha-{}"

    # shop: checkout's new revision crash-loops on a config error; the rollout is stuck with one replica unavailable
    def checkout(sha: str, gateway_url: str) -> Container:
        return Container(
            "checkout",
            image.format("checkout", sha),
            {"cpu": "250m", "memory": "384Mi"},
            {"memory": "384Mi"},
            env={
                "PAYMENTS_GATEWAY_URL": gateway_url,
                "CART_URL": "http://cart.shop.svc:8080",
                "DATABASE_HOST": "shop-pg-pooler-rw.shop.svc",
                "OTEL_SERVICE_NAME": "checkout",
            },
        )

    crashing = "checkout-7c9d8f6b5-x2k4p"
    s.deployment(
        "shop",
        "checkout",
        [
            (
                "5b6f8d9c77",
                [checkout("3f9a1c2", "https://payments-gateway.payments.svc:8443")],
                [
                    Pod("q7m2d", n1, 2900, logs=healthy_logs("checkout", 2900)),
                    Pod("h8k5t", n2, 2900, logs=healthy_logs("checkout", 2900)),
                ],
            ),
            (
                "7c9d8f6b5",
                [checkout("8d2e4b7", "payments-gateway.payments.svc:8443")],
                [
                    Pod(
                        "x2k4p",
                        n4,
                        35,
                        state=crash_loop("checkout", crashing, 11),
                        last_state=terminated("Error", 1, 4.2, 4.1),
                        restarts=11,
                        logs=[],
                        previous_logs=[
                            json_log(4.2, "info", "starting checkout", version="3.42.0", commit="8d2e4b7"),
                            json_log(4.2, "info", "loading promotion rules", path="/etc/checkout/promotions.yaml"),
                            json_log(
                                4.1,
                                "error",
                                "config validation failed",
                                key="PAYMENTS_GATEWAY_URL",
                                error='parse "payments-gateway.payments.svc:8443": first path segment in URL cannot '
                                "contain colon",
                            ),
                            "panic: config validation failed: PAYMENTS_GATEWAY_URL is not a valid URL",
                            "",
                            "goroutine 1 [running]:",
                            "main.mustLoadConfig(...)",
                            "\t/src/cmd/checkout/config.go:88 +0x2a5",
                            "main.main()",
                            "\t/src/cmd/checkout/main.go:57 +0x1f4",
                        ],
                    )
                ],
            ),
        ],
        replicas=3,
        age_min=90_000,
        progress="ProgressDeadlineExceeded",
    )
    s.event(
        "shop",
        Event(
            "Deployment",
            "checkout",
            "ScalingReplicaSet",
            "Scaled up replica set checkout-7c9d8f6b5 to 1",
            1,
            35,
            35,
            type="Normal",
            component="deployment-controller",
        ),
    )
    s.event(
        "shop",
        Event(
            "Pod",
            crashing,
            "Scheduled",
            f"Successfully assigned shop/{crashing} to {n4}",
            1,
            35,
            35,
            type="Normal",
            component="default-scheduler",
        ),
    )
    s.event(
        "shop",
        Event(
            "Pod",
            crashing,
            "Pulled",
            f'Container image "{image.format("checkout", "8d2e4b7")}" already present on machine',
            12,
            34,
            4.3,
            type="Normal",
            host=n4,
            field_path="spec.containers{checkout}",
        ),
    )
    s.event(
        "shop",
        Event(
            "Pod",
            crashing,
            "BackOff",
            f"Back-off restarting failed container checkout in pod {crashing}_shop({s.uid('Pod', 'shop', crashing)})",
            142,
            33,
            0.5,
            host=n4,
            field_path="spec.containers{checkout}",
        ),
    )

    # shop: cart is healthy, but its database password sits in a plain env var (the tools must redact it)
    cart = Container(
        "cart",
        image.format("cart", "1b7c0de"),
        {"cpu": "200m", "memory": "256Mi"},
        {"memory": "256Mi"},
        env={
            "DATABASE_HOST": "shop-pg-pooler-rw.shop.svc",
            "DATABASE_USER": "cart",
            "DATABASE_PASSWORD": "Nw-cart-2024!spring",
            "REDIS_URL": "redis://cart-redis.shop.svc:6379/0",
        },
    )
    s.deployment(
        "shop",
        "cart",
        [
            (
                "84c6d9b7f5",
                [cart],
                [
                    Pod("m2p9z", n1, 5200, logs=healthy_logs("cart", 5200)),
                    Pod("t6w4c", n2, 5200, logs=healthy_logs("cart", 5200)),
                ],
            )
        ],
        replicas=2,
        age_min=90_000,
    )

    # shop: catalog and storefront-web are healthy; the storefront is what customers reach
    catalog = Container(
        "catalog",
        image.format("catalog", "a44f017"),
        {"cpu": "300m", "memory": "768Mi"},
        {"memory": "768Mi"},
        env={"IMAGE_RESIZE_WORKERS": "2"},
    )
    s.deployment(
        "shop",
        "catalog",
        [
            (
                "6c9f7d8b4d",
                [catalog],
                [
                    Pod(x, n, 7000, logs=healthy_logs("catalog", 7000))
                    for x, n in (("b5k2r", n1), ("c8v3n", n2), ("f2j7q", n4))
                ],
            )
        ],
        replicas=3,
        age_min=90_000,
    )
    storefront = Container(
        "storefront-web",
        image.format("storefront-web", "7e51b90"),
        {"cpu": "100m", "memory": "128Mi"},
        {"memory": "192Mi"},
        port=3000,
    )
    s.deployment(
        "shop",
        "storefront-web",
        [
            (
                "5d8b6c4f7b",
                [storefront],
                [
                    Pod(x, n, 1500, logs=healthy_logs("storefront-web", 1500, 3000))
                    for x, n in (("k9s2d", n2), ("p4x8m", n4))
                ],
            )
        ],
        replicas=2,
        age_min=90_000,
    )

    # shop: search-api runs but fails its readiness probe: the index it serves from does not exist
    search = Container(
        "search-api",
        image.format("search-api", "c0ffee1"),
        {"cpu": "250m", "memory": "512Mi"},
        {"memory": "512Mi"},
        env={"SEARCH_INDEX": "catalog-products-v7"},
    )
    unready = "search-api-6f7b9d5c48-2tq9v"
    s.deployment(
        "shop",
        "search-api",
        [
            (
                "6f7b9d5c48",
                [search],
                [
                    Pod(
                        "2tq9v",
                        n1,
                        52,
                        state=running(51),
                        ready=False,
                        logs=[
                            json_log(51, "info", "listening", addr=":8080"),
                            json_log(
                                51,
                                "warn",
                                "search index missing",
                                index="catalog-products-v7",
                                hint="reindex job has not published it",
                            ),
                            json_log(
                                0.3,
                                "warn",
                                "readiness check failed",
                                check="index",
                                error="index catalog-products-v7 not found",
                            ),
                        ],
                    ),
                    Pod("7hx4k", n2, 2600, logs=healthy_logs("search-api", 2600)),
                ],
            )
        ],
        replicas=2,
        age_min=90_000,
    )
    s.event(
        "shop",
        Event(
            "Pod",
            unready,
            "Unhealthy",
            "Readiness probe failed: HTTP probe failed with statuscode: 503",
            298,
            50,
            0.2,
            host=n1,
            field_path="spec.containers{search-api}",
        ),
    )

    # shop: slot-planner's new revision asks for more memory than any node has: Pending, FailedScheduling
    def slot_planner(memory: str, sha: str) -> Container:
        return Container(
            "slot-planner", image.format("slot-planner", sha), {"cpu": "500m", "memory": memory}, {"memory": memory}
        )

    pending = "slot-planner-7f5d9c6b88-wz7lm"
    unschedulable = (
        "0/4 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 3 Insufficient "
        "memory. preemption: 0/4 nodes are available: 1 Preemption is not helpful for scheduling, 3 No preemption "
        "victims found for incoming pod."
    )
    s.deployment(
        "shop",
        "slot-planner",
        [
            (
                "59b7c8d6f4",
                [slot_planner("6Gi", "2a6b3c9")],
                [
                    Pod("d3n6v", n1, 8000, logs=healthy_logs("slot-planner", 8000)),
                    Pod("g5r8x", n4, 8000, logs=healthy_logs("slot-planner", 8000)),
                ],
            ),
            ("7f5d9c6b88", [slot_planner("40Gi", "e91d5f3")], [Pod("wz7lm", None, 26, unschedulable=unschedulable)]),
        ],
        replicas=2,
        age_min=90_000,
        progress="ReplicaSetUpdated",
    )
    s.event("shop", Event("Pod", pending, "FailedScheduling", unschedulable, 9, 26, 1.5, component="default-scheduler"))

    # shop: order-events (Kafka consumer) was OOMKilled and restarted
    order_events = Container(
        "order-events",
        image.format("order-events", "5c3d2e1"),
        {"cpu": "250m", "memory": "512Mi"},
        {"memory": "512Mi"},
        env={"KAFKA_BROKERS": "kafka.platform.svc:9092", "CONSUMER_BATCH_SIZE": "5000", "JAVA_OPTS": "-Xmx480m"},
        readiness_path=None,
    )
    oom = "order-events-65d7b9c8f4-n4k8s"
    s.deployment(
        "shop",
        "order-events",
        [
            (
                "65d7b9c8f4",
                [order_events],
                [
                    Pod(
                        "n4k8s",
                        n2,
                        4300,
                        state=running(14),
                        last_state=terminated("OOMKilled", 137, 31, 14.1),
                        restarts=6,
                        logs=[
                            json_log(14, "info", "consumer started", group="order-events", topic="orders.v2"),
                            json_log(9, "warn", "consumer lag high", partition=4, lag=182_440),
                        ],
                        previous_logs=[
                            json_log(31, "info", "consumer started", group="order-events", topic="orders.v2"),
                            json_log(20, "info", "fetched batch", records=5000, bytes=94_371_840),
                            json_log(15, "warn", "heap usage high", used_mb=468, max_mb=480),
                        ],
                    ),
                    Pod("s2f6j", n4, 4300, logs=healthy_logs("order-events", 4300)),
                ],
            )
        ],
        replicas=2,
        age_min=90_000,
    )
    s.event(
        "shop",
        Event(
            "Pod",
            oom,
            "BackOff",
            f"Back-off restarting failed container order-events in pod {oom}_shop({s.uid('Pod', 'shop', oom)})",
            4,
            250,
            14.2,
            host=n2,
            field_path="spec.containers{order-events}",
        ),
    )

    s.service("shop", "checkout", 8080)
    s.service("shop", "cart", 8080)
    s.service("shop", "catalog", 8080)
    s.service("shop", "search-api", 8080)
    s.service("shop", "slot-planner", 8080)
    s.service("shop", "storefront-web", 80, 3000)
    s.ingress(
        "shop",
        "storefront-web",
        "nginx",
        "www.northwind-groceries.example",
        "storefront-web",
        80,
        {"cert-manager.io/cluster-issuer": "letsencrypt-prod", "nginx.ingress.kubernetes.io/proxy-body-size": "2m"},
    )
    s.ingress(
        "shop",
        "checkout",
        "nginx",
        "api.northwind-groceries.example",
        "checkout",
        8080,
        {"cert-manager.io/cluster-issuer": "letsencrypt-prod", "nginx.ingress.kubernetes.io/limit-rps": "50"},
    )
    s.configmap(
        "shop",
        "checkout-config",
        {
            "PROMOTIONS_PATH": "/etc/checkout/promotions.yaml",
            "CHECKOUT_TIMEOUT_MS": "4000",
            "FEATURE_EXPRESS_SLOTS": "true",
        },
    )
    s.configmap("shop", "northwind-flags", {"express-slots": "on", "new-basket-ui": "25%"})

    # payments: a rollout of payments-gateway points at a tag that was never pushed: ImagePullBackOff
    def gateway(sha: str) -> Container:
        return Container(
            "payments-gateway",
            image.format("payments-gateway", sha),
            {"cpu": "500m", "memory": "512Mi"},
            {"memory": "512Mi"},
            port=8443,
            env={"PSP_ENDPOINT": "https://psp.example-payments.test/v3"},
        )

    pull = "payments-gateway-6d5c8b7f9-r4n8w"
    missing = image.format("payments-gateway", "4e1c9a2")
    s.deployment(
        "payments",
        "payments-gateway",
        [
            (
                "58f6c9d7b5",
                [gateway("b83d0a6")],
                [
                    Pod(x, n, 6100, logs=healthy_logs("payments-gateway", 6100, 8443))
                    for x, n in (("j3k7p", n1), ("l8q2w", n2), ("v5t9b", n4))
                ],
            ),
            (
                "6d5c8b7f9",
                [gateway("4e1c9a2")],
                [Pod("r4n8w", n4, 41, state=waiting("ImagePullBackOff", f'Back-off pulling image "{missing}"'))],
            ),
        ],
        replicas=3,
        age_min=120_000,
        progress="ProgressDeadlineExceeded",
    )
    s.event(
        "payments",
        Event(
            "Pod",
            pull,
            "Pulling",
            f'Pulling image "{missing}"',
            13,
            41,
            3,
            type="Normal",
            host=n4,
            field_path="spec.containers{payments-gateway}",
        ),
    )
    s.event(
        "payments",
        Event(
            "Pod",
            pull,
            "Failed",
            f'Failed to pull image "{missing}": rpc error: code = NotFound '
            f'desc = failed to pull and unpack image "{missing}": failed to resolve reference '
            f'"{missing}": {missing}: not found',
            13,
            41,
            3,
            host=n4,
            field_path="spec.containers{payments-gateway}",
        ),
    )
    s.event(
        "payments",
        Event(
            "Pod",
            pull,
            "Failed",
            "Error: ErrImagePull",
            13,
            41,
            3,
            host=n4,
            field_path="spec.containers{payments-gateway}",
        ),
    )
    s.event(
        "payments",
        Event(
            "Pod",
            pull,
            "BackOff",
            f'Back-off pulling image "{missing}"',
            176,
            40,
            0.4,
            type="Normal",
            host=n4,
            field_path="spec.containers{payments-gateway}",
        ),
    )
    s.event(
        "payments",
        Event(
            "Pod",
            pull,
            "Failed",
            "Error: ImagePullBackOff",
            176,
            40,
            0.4,
            host=n4,
            field_path="spec.containers{payments-gateway}",
        ),
    )
    s.service("payments", "payments-gateway", 8443, 8443)
    s.configmap("payments", "payments-gateway-config", {"PSP_TIMEOUT_MS": "2500", "RETRY_BUDGET": "0.1"})

    # platform: kafka-2 waits for a volume that EC2 refuses to create: Pending PVC and Pending pod
    kafka = Container(
        "kafka",
        "docker.io/bitnami/kafka:3.8.1",
        {"cpu": "1", "memory": "4Gi"},
        {"memory": "4Gi"},
        port=9092,
        readiness_path=None,
        liveness_path=None,
    )
    kafka_pending = (
        "0/4 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/4 nodes are "
        "available: 4 Preemption is not helpful for scheduling."
    )
    s.statefulset(
        "platform",
        "kafka",
        [kafka],
        [
            Pod("0", n1, 60_000, logs=[f"[{log_time(59_000)}] INFO [KafkaServer id=0] started"]),
            Pod("1", n2, 60_000, logs=[f"[{log_time(59_000)}] INFO [KafkaServer id=1] started"]),
            Pod("2", None, 44, unschedulable=kafka_pending),
        ],
        storage="500Gi",
        storage_class="gp3-expandable",
        age_min=60_000,
        pending_claims={2: "quota"},
    )
    s.event(
        "platform", Event("Pod", "kafka-2", "FailedScheduling", kafka_pending, 15, 44, 2, component="default-scheduler")
    )
    s.event(
        "platform",
        Event(
            "PersistentVolumeClaim",
            "data-kafka-2",
            "ProvisioningFailed",
            'failed to provision volume with StorageClass "gp3-expandable": rpc error: code = Internal desc = Could not '
            'create volume "pvc-3b0c1e55-8f0d-4bb4-9d51-6c1f2e7a9d40": could not create volume in EC2: operation error '
            "EC2: CreateVolume, api error VolumeLimitExceeded: You have exceeded your maximum gp3 storage limit of 50 TiB "
            "in this region.",
            12,
            44,
            2,
            component="ebs.csi.aws.com_ebs-csi-controller-7d9f8b6c5-kq2zx",
        ),
    )
    s.service("platform", "kafka", 9092, 9092)
    s.service("platform", "kafka-headless", 9092, 9092, headless=True)

    # platform: promtail runs on every node; the copy on the unreachable node is not ready
    promtail = Container(
        "promtail", "docker.io/grafana/promtail:3.2.1", {"cpu": "50m", "memory": "96Mi"}, {"memory": "128Mi"}, port=3101
    )
    s.daemonset(
        "platform",
        "promtail",
        promtail,
        {
            n1: Pod("4xk2p", None, 12_000, logs=healthy_logs("promtail", 12_000, 3101)),
            n2: Pod("8dj5w", None, 12_000, logs=healthy_logs("promtail", 12_000, 3101)),
            n3: Pod("bq7r3", None, 12_000, logs=healthy_logs("promtail", 12_000, 3101)),
            n4: Pod("m6t9h", None, 12_000, logs=healthy_logs("promtail", 12_000, 3101)),
        },
    )

    # platform: the nightly restore test of the PostgreSQL backups fails: failed Job (BackoffLimitExceeded)
    verify = Container(
        "pg-backup-verify",
        "ghcr.io/northwind-groceries/pg-backup-verify:sha-0d7e3f1",
        {"cpu": "500m", "memory": "1Gi"},
        {"memory": "1Gi"},
        port=None,
        env={"BACKUP_BUCKET": "s3://nw-prod-pg-backups/shop-pg", "PGDATABASE": "shop"},
    )
    denied = [
        f"{log_time(419)} INFO  restore-test: fetching latest base backup of shop-pg",
        f"{log_time(419)} ERROR download failed: An error occurred (AccessDenied) when calling the GetObject "
        "operation: User: arn:aws:sts::210987654321:assumed-role/nw-prod-pg-backup-verify/botocore-session is not "
        "authorized to perform: kms:Decrypt on the key used to encrypt s3://nw-prod-pg-backups/shop-pg/base/"
        "20261120T020000/base.tar.gz",
        f"{log_time(419)} FATAL restore-test: no base backup could be fetched; exiting 1",
    ]
    s.cronjob(
        "platform",
        "pg-backup-verify",
        "30 2 * * *",
        verify,
        [
            (
                "29917590",
                1860,
                [
                    Pod(
                        "5wq8d",
                        n2,
                        1859,
                        state=terminated("Completed", 0, 1859, 1830),
                        phase="Succeeded",
                        ready=False,
                        logs=[f"{log_time(1830)} INFO  restore-test: shop-pg restored, 412 tables checked, OK"],
                    )
                ],
                True,
            ),
            (
                "29919030",
                420,
                [
                    Pod(x, n, age, state=terminated("Error", 1, age, age - 1), phase="Failed", ready=False, logs=denied)
                    for x, n, age in (("7kz2m", n1, 419), ("c4r9t", n2, 415), ("h2m6x", n4, 407))
                ],
                False,
            ),
        ],
    )
    s.event(
        "platform",
        Event(
            "Job",
            "pg-backup-verify-29919030",
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
            1,
            405,
            405,
            component="job-controller",
        ),
    )
    s.configmap("platform", "promtail-config", {"promtail.yaml": "server:\n  http_listen_port: 3101\n"})

    failures = f"""
# northwind-prod: planted failures

Snapshot taken 2026-11-20 09:30 UTC. Source ids are `cluster/northwind-prod/<namespace>/<kind>/<name>`.

| failure | object | what shows it |
|---|---|---|
| CrashLoopBackOff with an application error | `shop/pod/{crashing}` | new revision sets `PAYMENTS_GATEWAY_URL` without a scheme; previous log: `panic: config validation failed: PAYMENTS_GATEWAY_URL is not a valid URL`, 11 restarts |
| Deployment with unavailable replicas | `shop/deployment/checkout` | 2 of 3 available, `ProgressDeadlineExceeded` on ReplicaSet `checkout-7c9d8f6b5` |
| OOMKilled | `shop/pod/{oom}` | last state `OOMKilled`, exit code 137, limit 512Mi, 6 restarts |
| ImagePullBackOff | `payments/pod/{pull}` | tag `sha-4e1c9a2` was never pushed: `not found` |
| Pending with FailedScheduling | `shop/pod/{pending}` | requests 40Gi memory: `3 Insufficient memory` |
| NotReady node | `_cluster/node/{n3}` | `Kubelet stopped posting node status.`, unreachable taints; `promtail-bq7r3` on it not ready |
| failing readiness probe | `shop/pod/{unready}` | `Readiness probe failed: HTTP probe failed with statuscode: 503`, index `catalog-products-v7` not found |
| Pending PVC | `platform/persistentvolumeclaim/data-kafka-2` | `VolumeLimitExceeded` (50 TiB gp3 limit); `kafka-2` Pending on it |
| failed Job | `platform/job/pg-backup-verify-29919030` | `BackoffLimitExceeded` after 3 pods; log: not authorized to perform `kms:Decrypt` |

Planted for the tools' redaction: `shop/deployment/cart` has `DATABASE_PASSWORD` as a plain env value.
"""
    return s, failures


def orbital() -> tuple[Snapshot, str]:
    s = Snapshot("orbital-prod", ["fleet", "routing", "billing"], "10.42")
    n1, n2, n3, n4 = "orb-prod-general-7f2k", "orb-prod-general-9xq1", "orb-prod-general-m3zt", "orb-prod-memory-4h8d"
    s.node(n1, "10.42.1.23", "eu-central-1a", "m6a.2xlarge", "8", GiB_32, labels={"orbital.io/pool": "general"})
    s.node(n2, "10.42.2.57", "eu-central-1b", "m6a.2xlarge", "8", GiB_32, labels={"orbital.io/pool": "general"})
    s.node(
        n3,
        "10.42.3.104",
        "eu-central-1c",
        "m6a.2xlarge",
        "8",
        GiB_32,
        labels={"orbital.io/pool": "general"},
        failure="container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
        "message:Network plugin returns error: cni plugin not initialized",
    )
    s.node(n4, "10.42.4.12", "eu-central-1a", "r6a.2xlarge", "8", GiB_64, labels={"orbital.io/pool": "memory"})
    registry = "registry.orbital-freight.example/{}/{}:{}"

    # fleet: dispatch is healthy
    dispatch = Container(
        "dispatch",
        registry.format("fleet", "dispatch", "4.12.0-91ac3e2"),
        {"cpu": "500m", "memory": "1Gi"},
        {"memory": "1Gi"},
    )
    s.deployment(
        "fleet",
        "dispatch",
        [
            (
                "7b8c9d6f5c",
                [dispatch],
                [
                    Pod(x, n, 9000, logs=healthy_logs("dispatch", 9000))
                    for x, n in (("a1b2c", n1), ("d3e4f", n2), ("g5h6j", n4))
                ],
            )
        ],
        replicas=3,
        age_min=100_000,
    )

    # fleet: tracking-api fails its readiness probe on every replica (Redis times out): the Deployment is unavailable
    tracking = Container(
        "tracking-api",
        registry.format("fleet", "tracking-api", "2.7.3-5f0e8d1"),
        {"cpu": "400m", "memory": "512Mi"},
        {"memory": "512Mi"},
        env={"REDIS_ADDR": "redis-tracking.fleet.svc:6379", "READY_REDIS_TIMEOUT": "2s"},
    )
    tracking_pods = []
    for suffix, node, ip in (("p8m4x", n1, "10.42.100.41"), ("z2c7v", n2, "10.42.100.77")):
        tracking_pods.append(
            Pod(
                suffix,
                node,
                3100,
                state=running(3099),
                ready=False,
                ip=ip,
                logs=[
                    json_log(3099, "info", "listening", addr=":8080"),
                    json_log(
                        37,
                        "error",
                        "readiness: redis PING failed",
                        addr="redis-tracking.fleet.svc:6379",
                        error="i/o timeout after 2s",
                    ),
                    json_log(
                        0.2,
                        "error",
                        "readiness: redis PING failed",
                        addr="redis-tracking.fleet.svc:6379",
                        error="i/o timeout after 2s",
                    ),
                ],
            )
        )
    s.deployment(
        "fleet",
        "tracking-api",
        [
            ("5c7d8e9f6b", [tracking], tracking_pods),
        ],
        replicas=2,
        age_min=100_000,
    )
    for pod in tracking_pods:
        name = f"tracking-api-5c7d8e9f6b-{pod.suffix}"
        s.event(
            "fleet",
            Event(
                "Pod",
                name,
                "Unhealthy",
                f'Readiness probe failed: Get "http://{pod.ip}:8080/ready": '
                "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                221,
                37,
                0.1,
                host=pod.node,
                field_path="spec.containers{tracking-api}",
            ),
        )
    redis = Container(
        "redis",
        "docker.io/library/redis:7.4.1",
        {"cpu": "500m", "memory": "2Gi"},
        {"memory": "2Gi"},
        port=6379,
        readiness_path=None,
        liveness_path=None,
    )
    s.statefulset(
        "fleet",
        "redis-tracking",
        [redis],
        [
            Pod(
                "0",
                n4,
                30_000,
                logs=[
                    f"1:M {log_time(29_999)} * Ready to accept connections tcp",
                    f"1:M {log_time(38)} # WARNING: slowlog: KEYS truck:* took 2310 ms",
                    f"1:M {log_time(2)} # WARNING: slowlog: KEYS truck:* took 2466 ms",
                ],
            )
        ],
        storage="20Gi",
        storage_class="gp3-expandable",
        age_min=30_000,
    )

    # fleet: telematics-ingest is OOMKilled over and over
    telematics = Container(
        "telematics-ingest",
        registry.format("fleet", "telematics-ingest", "1.19.0-c2d4e6f"),
        {"cpu": "500m", "memory": "1Gi"},
        {"memory": "1Gi"},
        env={"MQTT_URL": "ssl://mqtt.orbital-freight.example:8883", "INGEST_BUFFER_MESSAGES": "200000"},
    )
    oom = "telematics-ingest-8d6f7c5b9-q5w2e"
    s.deployment(
        "fleet",
        "telematics-ingest",
        [
            (
                "8d6f7c5b9",
                [telematics],
                [
                    Pod(
                        "q5w2e",
                        n2,
                        900,
                        state=crash_loop("telematics-ingest", oom, 9),
                        last_state=terminated("OOMKilled", 137, 3.5, 2.1),
                        restarts=9,
                        logs=[],
                        previous_logs=[
                            json_log(3.5, "info", "connected to broker", broker="mqtt.orbital-freight.example:8883"),
                            json_log(3.0, "info", "subscribed", topic="trucks/+/telemetry"),
                            json_log(2.4, "warn", "buffer filling", messages=184_500, limit=200_000),
                        ],
                    ),
                    Pod("r7t3y", n1, 900, logs=healthy_logs("telematics-ingest", 900)),
                    Pod("u9i1o", n4, 900, logs=healthy_logs("telematics-ingest", 900)),
                ],
            )
        ],
        replicas=3,
        age_min=100_000,
    )
    s.event(
        "fleet",
        Event(
            "Pod",
            oom,
            "BackOff",
            f"Back-off restarting failed container telematics-ingest in pod {oom}_fleet({s.uid('Pod', 'fleet', oom)})",
            37,
            140,
            1.9,
            host=n2,
            field_path="spec.containers{telematics-ingest}",
        ),
    )

    # fleet: driver-app-bff cannot pull its image: the registry refuses the pull credentials
    bff_image = registry.format("fleet", "driver-app-bff", "3.8.1-0b9a7c4")
    bff = Container("driver-app-bff", bff_image, {"cpu": "200m", "memory": "256Mi"}, {"memory": "256Mi"}, port=3000)
    pull = "driver-app-bff-74c9f8d6b7-k3l5m"
    s.deployment(
        "fleet",
        "driver-app-bff",
        [
            (
                "5f8e7d6c9b",
                [bff],
                [
                    Pod("e4r5t", n1, 20_000, logs=healthy_logs("driver-app-bff", 20_000, 3000)),
                    Pod("y6u7i", n4, 20_000, logs=healthy_logs("driver-app-bff", 20_000, 3000)),
                ],
            ),
            (
                "74c9f8d6b7",
                [bff],
                [Pod("k3l5m", n2, 66, state=waiting("ImagePullBackOff", f'Back-off pulling image "{bff_image}"'))],
            ),
        ],
        replicas=2,
        age_min=100_000,
        progress="ReplicaSetUpdated",
    )
    s.event(
        "fleet",
        Event(
            "Pod",
            pull,
            "Failed",
            f'Failed to pull image "{bff_image}": failed to pull and unpack '
            f'image "{bff_image}": failed to resolve reference "{bff_image}": failed to authorize: '
            "failed to fetch oauth token: unexpected status from GET request to "
            "https://gitlab.orbital-freight.example/jwt/auth?scope=repository%3Afleet%2Fdriver-app-bff"
            "%3Apull&service=container_registry: 403 Forbidden",
            18,
            66,
            5,
            host=n2,
            field_path="spec.containers{driver-app-bff}",
        ),
    )
    s.event(
        "fleet",
        Event(
            "Pod",
            pull,
            "BackOff",
            f'Back-off pulling image "{bff_image}"',
            270,
            65,
            0.3,
            type="Normal",
            host=n2,
            field_path="spec.containers{driver-app-bff}",
        ),
    )
    s.event(
        "fleet",
        Event(
            "Pod",
            pull,
            "Failed",
            "Error: ImagePullBackOff",
            270,
            65,
            0.3,
            host=n2,
            field_path="spec.containers{driver-app-bff}",
        ),
    )

    s.service("fleet", "dispatch", 8080)
    s.service("fleet", "tracking-api", 8080)
    s.service("fleet", "driver-app-bff", 80, 3000)
    s.service("fleet", "redis-tracking", 6379, 6379)
    s.ingress(
        "fleet",
        "tracking-api",
        "traefik",
        "track.orbital-freight.example",
        "tracking-api",
        8080,
        {
            "cert-manager.io/cluster-issuer": "vault-pki",
            "traefik.ingress.kubernetes.io/router.entrypoints": "websecure",
        },
    )
    s.ingress(
        "fleet",
        "driver-app-bff",
        "traefik",
        "driver.orbital-freight.example",
        "driver-app-bff",
        80,
        {
            "cert-manager.io/cluster-issuer": "vault-pki",
            "traefik.ingress.kubernetes.io/router.entrypoints": "websecure",
        },
    )
    s.configmap("fleet", "orbital-flags", {"eta-v2": "off", "geofence-alerts": "on"})

    # routing: route-planner's new revision crash-loops on a bad config value (an application error)
    planner = Container(
        "route-planner",
        registry.format("routing", "route-planner", "5.3.0-e7f8a9b"),
        {"cpu": "1", "memory": "2Gi"},
        {"memory": "2Gi"},
        env_from_configmap="route-planner-config",
    )
    crashing = "route-planner-9b8c7d6e5-f6g7h"
    s.deployment(
        "routing",
        "route-planner",
        [
            (
                "6a5b4c3d2e",
                [planner],
                [
                    Pod("a9s8d", n1, 14_000, logs=healthy_logs("route-planner", 14_000)),
                    Pod("j7k6l", n4, 14_000, logs=healthy_logs("route-planner", 14_000)),
                ],
            ),
            (
                "9b8c7d6e5",
                [planner],
                [
                    Pod(
                        "f6g7h",
                        n2,
                        58,
                        state=crash_loop("route-planner", crashing, 15),
                        last_state=terminated("Error", 1, 1.8, 1.6),
                        restarts=15,
                        logs=[],
                        previous_logs=[
                            f"{log_time(1.8)} INFO  o.f.routing.Application - Starting route-planner 5.3.0 on {crashing}",
                            f"{log_time(1.7)} INFO  o.f.routing.config.Settings - Loading settings from environment",
                            f"{log_time(1.6)} ERROR o.f.routing.Application - Application run failed",
                            'java.lang.NumberFormatException: For input string: "15km"',
                            "\tat java.base/jdk.internal.math.FloatingDecimal.readJavaFormatString(FloatingDecimal.java:2054)",
                            "\tat java.base/java.lang.Double.parseDouble(Double.java:792)",
                            "\tat o.f.routing.config.Settings.maxDetourKm(Settings.kt:61)",
                            "\tat o.f.routing.Application.main(Application.kt:23)",
                            "Caused by: invalid value for ROUTING_MAX_DETOUR_KM: expected a number of kilometres",
                        ],
                    )
                ],
            ),
        ],
        replicas=2,
        age_min=100_000,
        progress="ProgressDeadlineExceeded",
    )
    s.event(
        "routing",
        Event(
            "Pod",
            crashing,
            "BackOff",
            f"Back-off restarting failed container route-planner in pod "
            f"{crashing}_routing({s.uid('Pod', 'routing', crashing)})",
            251,
            55,
            0.7,
            host=n2,
            field_path="spec.containers{route-planner}",
        ),
    )
    s.configmap(
        "routing",
        "route-planner-config",
        {"ROUTING_MAX_DETOUR_KM": "15km", "ROUTING_GRAPH_REGION": "eu-central", "ROUTING_CACHE_TTL": "10m"},
    )
    s.configmap("routing", "orbital-flags", {"eta-v2": "off", "toll-aware-routing": "on"})

    # routing: eta-predictor wants a GPU node pool that does not exist: Pending, FailedScheduling, Deployment unavailable
    eta = Container(
        "eta-predictor",
        registry.format("routing", "eta-predictor", "0.9.4-3c2b1a0"),
        {"cpu": "2", "memory": "6Gi"},
        {"memory": "6Gi"},
    )
    eta_pod = "eta-predictor-5d4c3b2a19-v8b7n"
    no_gpu = (
        "0/4 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 3 node(s) didn't "
        "match Pod's node affinity/selector. preemption: 0/4 nodes are available: 4 Preemption is not helpful for "
        "scheduling."
    )
    s.deployment(
        "routing",
        "eta-predictor",
        [("5d4c3b2a19", [eta], [Pod("v8b7n", None, 180, unschedulable=no_gpu)])],
        replicas=1,
        age_min=180,
        progress="ProgressDeadlineExceeded",
        node_selector={"orbital.io/pool": "gpu"},
    )
    s.event("routing", Event("Pod", eta_pod, "FailedScheduling", no_gpu, 37, 180, 3, component="default-scheduler"))
    s.service("routing", "route-planner", 8080)
    s.service("routing", "eta-predictor", 8080)

    # billing: billing-worker is healthy (with a plain DATABASE_PASSWORD); invoice-export fails; a claim stays Pending
    worker = Container(
        "billing-worker",
        registry.format("billing", "billing-worker", "2.2.0-aa11bb2"),
        {"cpu": "300m", "memory": "512Mi"},
        {"memory": "512Mi"},
        env={
            "DATABASE_HOST": "pxc-billing-haproxy.billing.svc",
            "DATABASE_USER": "billing_worker",
            "DATABASE_PASSWORD": "orb1tal-Billing#77",
            "QUEUE_URL": "sqs://billing-events",
        },
    )
    s.deployment(
        "billing",
        "billing-worker",
        [
            (
                "6e5d4c3b2a",
                [worker],
                [
                    Pod("w1x2y", n1, 11_000, logs=healthy_logs("billing-worker", 11_000)),
                    Pod("z3a4b", n4, 11_000, logs=healthy_logs("billing-worker", 11_000)),
                ],
            )
        ],
        replicas=2,
        age_min=100_000,
    )
    s.service("billing", "billing-worker", 8080)
    export = Container(
        "invoice-export",
        registry.format("billing", "invoice-export", "1.4.2-77de0f1"),
        {"cpu": "250m", "memory": "512Mi"},
        {"memory": "512Mi"},
        port=None,
        env={"DATABASE_HOST": "pxc-billing-haproxy.billing.svc", "DATABASE_USER": "invoice_export"},
    )
    denied = [
        f"{log_time(494)} INFO  invoice-export: exporting invoices of 2026-11-19 for 1 842 customers",
        f"{log_time(494)} ERROR invoice-export: ERROR 1045 (28000): Access denied for user "
        "'invoice_export'@'10.42.100.93' (using password: YES)",
        f"{log_time(494)} FATAL invoice-export: database connection failed; exiting 1",
    ]
    s.cronjob(
        "billing",
        "invoice-export",
        "15 1 * * *",
        export,
        [
            (
                "29917515",
                1935,
                [
                    Pod(
                        "n2m3b",
                        n4,
                        1934,
                        state=terminated("Completed", 0, 1934, 1921),
                        phase="Succeeded",
                        ready=False,
                        logs=[
                            f"{log_time(1921)} INFO  invoice-export: 1 839 invoices "
                            "exported to s3://orbital-invoices-prod/2026/11/18/"
                        ],
                    )
                ],
                True,
            ),
            (
                "29918955",
                495,
                [
                    Pod(
                        x,
                        n,
                        age,
                        state=terminated("Error", 1, age, age - 0.5),
                        phase="Failed",
                        ready=False,
                        logs=denied,
                    )
                    for x, n, age in (("p0o9i", n1, 494), ("u8y7t", n4, 490), ("r6e5w", n1, 482))
                ],
                False,
            ),
        ],
    )
    s.event(
        "billing",
        Event(
            "Job",
            "invoice-export-29918955",
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
            1,
            480,
            480,
            component="job-controller",
        ),
    )
    s.claim("billing", "invoice-archive", "1Ti", "efs-invoices", 300)
    s.event(
        "billing",
        Event(
            "PersistentVolumeClaim",
            "invoice-archive",
            "ProvisioningFailed",
            'storageclass.storage.k8s.io "efs-invoices" not found',
            21,
            300,
            4,
            component="persistentvolume-controller",
        ),
    )
    s.configmap(
        "billing",
        "invoice-export-config",
        {"EXPORT_BUCKET": "s3://orbital-invoices-prod", "EXPORT_TZ": "Europe/Berlin"},
    )

    failures = f"""
# orbital-prod: planted failures

Snapshot taken 2026-11-20 09:30 UTC. Source ids are `cluster/orbital-prod/<namespace>/<kind>/<name>`.

| failure | object | what shows it |
|---|---|---|
| CrashLoopBackOff with an application error | `routing/pod/{crashing}` | config map `route-planner-config` sets `ROUTING_MAX_DETOUR_KM: 15km`; previous log: `java.lang.NumberFormatException: For input string: "15km"`, 15 restarts |
| OOMKilled | `fleet/pod/{oom}` | last state `OOMKilled`, exit code 137, limit 1Gi, CrashLoopBackOff after 9 restarts |
| ImagePullBackOff | `fleet/pod/{pull}` | the registry's token endpoint answers `403 Forbidden` |
| Pending with FailedScheduling | `routing/pod/{eta_pod}` | node selector `orbital.io/pool: gpu` matches no node |
| NotReady node | `_cluster/node/{n3}` | `cni plugin not initialized`, not-ready taints |
| failing readiness probe | `fleet/pod/tracking-api-5c7d8e9f6b-p8m4x` (and `-z2c7v`) | readiness times out: Redis PING `i/o timeout after 2s` |
| Deployment with unavailable replicas | `fleet/deployment/tracking-api` | 0 of 2 available, `MinimumReplicasUnavailable`; also `routing/deployment/eta-predictor` |
| Pending PVC | `billing/persistentvolumeclaim/invoice-archive` | `storageclass.storage.k8s.io "efs-invoices" not found` |
| failed Job | `billing/job/invoice-export-29918955` | `BackoffLimitExceeded`; log: `ERROR 1045 (28000): Access denied for user 'invoice_export'` |

Planted for the tools' redaction: `billing/deployment/billing-worker` has `DATABASE_PASSWORD` as a plain env value.
"""
    return s, failures


SCENARIOS: list[Callable[[], tuple[Snapshot, str]]] = [northwind, orbital]


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "corpora" / "clusters"
    for build in SCENARIOS:
        snapshot, failures = build()
        snapshot.write(out, failures)
        print(f"wrote {out / snapshot.context}")


if __name__ == "__main__":
    main()
