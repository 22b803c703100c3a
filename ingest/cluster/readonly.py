"""The official client, able to send GET and nothing else, and never to a Secret.

Every call of the kubernetes client goes through ``ApiClient.request``; refusing there covers every API class and
every method, present or future. RBAC of the kubeconfig's account is the first wall; this is the second.
"""

from __future__ import annotations

import re
from typing import Any

from kubernetes.client import ApiClient

from core.errors import PermissionDeniedError

_SECRETS = re.compile(r"/secrets(/|\?|$)")


class ReadOnlyApiClient(ApiClient):  # type: ignore[misc]
    """An ApiClient whose requests are GETs of anything but Secrets."""

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        """Refuse before anything is sent."""
        if method.upper() != "GET":
            raise PermissionDeniedError(f"read-only cluster access: {method} is never sent")
        if _SECRETS.search(url.split("?", 1)[0]):
            raise PermissionDeniedError("secrets are never read")
        return super().request(method, url, *args, **kwargs)
