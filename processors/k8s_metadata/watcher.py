"""List and watch the pods of this node through kubernetes_asyncio.

The loop is the informer pattern: list (paginated) to get a resourceVersion, then
watch from it with bookmarks; a watch that ends normally resumes from the last
resourceVersion seen (bookmarks keep it fresh); 410 Gone means the version was
compacted away, so list again. Any other failure (API server down, bad answer)
backs off exponentially and retries, starting with a list (a node's pods are few,
and a list tells at once that the server is back); meanwhile the store keeps what
it knew, so running pods stay enriched.

RBAC: get/list/watch on pods (cluster-wide, narrowed by the field selector); no
access to ReplicaSets or any other resource is needed."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config.config_exception import ConfigException
from kubernetes_asyncio.watch import Watch

from collector.component import ComponentError
from processors.k8s_metadata.pods import PodInfo, PodStore, pod_from_object

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"  # token and ca.crt, mounted by kubelet


class _Expired(Exception):
    """410 Gone: our resourceVersion is too old; list again."""


async def load_client_configuration(
    auth: str, kubeconfig: str | None, context: str | None
) -> client.Configuration | None:
    """A client configuration for `auth` (auto | serviceaccount | kubeconfig | none),
    or None when `auto` finds neither a service account nor a kubeconfig."""
    if auth == "none":
        return None
    cfg = client.Configuration()
    token = os.path.join(SERVICE_ACCOUNT_DIR, "token")
    if auth == "serviceaccount" or (auth == "auto" and "KUBERNETES_SERVICE_HOST" in os.environ):
        try:
            config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=cfg,
                token_filename=token,
                cert_filename=os.path.join(SERVICE_ACCOUNT_DIR, "ca.crt"),
            )
            return cfg
        except ConfigException as exc:
            if auth == "serviceaccount":
                raise ComponentError(f"in-cluster service account config: {exc}") from exc
    path = kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or os.path.expanduser("~/.kube/config")
    if auth == "auto" and not os.path.exists(path):
        return None
    try:
        await config.load_kube_config(config_file=path, context=context, client_configuration=cfg)
    except (ConfigException, OSError, ValueError, KeyError, TypeError) as exc:
        raise ComponentError(f"kubeconfig {path}: {exc}") from exc
    return cfg


class PodWatcher:
    def __init__(
        self,
        cfg: client.Configuration,
        node_name: str,
        store: PodStore,
        labels: list[str],
        annotations: list[str],
        log: logging.Logger,
        watch_timeout: float = 300.0,
        max_backoff: float = 30.0,
        page_size: int = 500,
        on_event: Callable[[str], None] = lambda kind: None,
    ) -> None:
        self.cfg = cfg
        self.node_name = node_name
        self.store = store
        self.labels = labels
        self.annotations = annotations
        self.log = log
        self.watch_timeout = watch_timeout
        self.max_backoff = max_backoff
        self.page_size = page_size
        self.on_event = on_event  # "list", "watch_restart", "relist_410", "error": for self-telemetry
        self.synced = asyncio.Event()  # set after each successful list, until a failure
        self.connected = False
        self.lists = 0
        self.watch_restarts = 0
        self.relists_410 = 0
        self.errors = 0
        self.last_error = ""
        self.resource_version = ""

    @property
    def field_selector(self) -> str:
        return f"spec.nodeName={self.node_name}"

    def _pod(self, obj: dict[str, Any]) -> PodInfo:
        return pod_from_object(obj, self.labels, self.annotations)

    async def run(self) -> None:
        backoff = 0.5
        async with client.ApiClient(configuration=self.cfg) as api_client:
            api = client.CoreV1Api(api_client)
            while True:
                try:
                    await self._list(api)
                    while True:
                        await self._watch(api)
                        backoff = 0.5  # only a watch that ran its course proves the server healthy
                        self.watch_restarts += 1
                        self.on_event("watch_restart")
                except _Expired:
                    self.relists_410 += 1
                    self.on_event("relist_410")
                    self.log.info(
                        "pod watch: resourceVersion %s expired (410 Gone), listing again", self.resource_version
                    )
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self._failed(exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.max_backoff)

    def _failed(self, exc: Exception) -> None:
        self.errors += 1
        self.on_event("error")
        self.connected = False
        self.synced.clear()
        message = _describe(exc)
        if message != self.last_error:  # once per distinct failure, not once per retry
            self.log.warning(
                "pod watch on %s failed: %s; enrichment continues from the last known pods and retries",
                self.cfg.host,
                message,
            )
            self.last_error = message

    async def _list(self, api: client.CoreV1Api) -> None:
        pods: list[PodInfo] = []
        cont: str | None = None
        while True:
            kwargs: dict[str, Any] = {"field_selector": self.field_selector, "limit": self.page_size}
            if cont:
                kwargs["_continue"] = cont
            try:
                resp: Any = await api.list_pod_for_all_namespaces(
                    _preload_content=False, _request_timeout=self.watch_timeout, **kwargs
                )
                raw = await resp.read()
                if resp.status != 200:  # unpreloaded responses are not checked by the client
                    raise ApiException(status=resp.status, reason=_status_message(raw))
                body = json.loads(raw)
            except ApiException as exc:
                if exc.status == 410 and cont:  # the continue token expired mid-list
                    pods, cont = [], None
                    continue
                raise
            pods.extend(self._pod(item) for item in body.get("items") or ())
            cont = (body.get("metadata") or {}).get("continue")
            if not cont:
                break
        self.store.replace_all(pods, time.monotonic())
        self.resource_version = body["metadata"]["resourceVersion"]
        self.lists += 1
        self.on_event("list")
        if self.last_error:
            self.log.info("pod list from %s succeeded again (%d pods)", self.cfg.host, len(pods))
            self.last_error = ""
        self.connected = True
        self.synced.set()

    async def _watch(self, api: client.CoreV1Api) -> None:
        """Until the server ends the watch (its timeout); raises _Expired on 410."""
        async with Watch(return_type="object") as watch:
            stream = watch.stream(
                api.list_pod_for_all_namespaces,
                field_selector=self.field_selector,
                resource_version=self.resource_version,
                allow_watch_bookmarks=True,
                timeout_seconds=int(self.watch_timeout),
                _request_timeout=self.watch_timeout + 30,
            )
            try:
                async for event in stream:
                    if not isinstance(event, dict):  # a line that was not JSON
                        raise ValueError(f"unexpected watch line from the API server: {str(event)[:200]!r}")
                    self._apply(event["type"], event["raw_object"])
            except ApiException as exc:
                if exc.status == 410:
                    raise _Expired from exc
                raise

    def _apply(self, kind: str, obj: dict[str, Any]) -> None:
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if kind in ("ADDED", "MODIFIED"):
            self.store.upsert(self._pod(obj))
        elif kind == "DELETED":
            self.store.delete((obj.get("metadata") or {}).get("uid", ""), time.monotonic())
        if rv:  # BOOKMARK carries only a resourceVersion: resume from it
            self.resource_version = rv


def _status_message(raw: bytes) -> str:
    """The message of a Kubernetes Status body, else the start of the body."""
    try:
        status = json.loads(raw)
        return f"{status.get('reason', '')}: {status.get('message', '')}"
    except (ValueError, AttributeError):
        return raw[:200].decode("utf-8", "replace")


def _describe(exc: Exception) -> str:
    if isinstance(exc, ApiException):
        return f"HTTP {exc.status} {exc.reason}".strip()
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
