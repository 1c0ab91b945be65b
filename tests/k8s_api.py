"""A small Kubernetes API server for tests: pods only, speaking list/watch the way
the real one does, so the real client library can be run against it.

- Every change bumps a global resourceVersion; objects carry theirs.
- GET /api/v1/pods: list (limit/continue pagination, metadata.resourceVersion) or,
  with watch=true, a stream of JSON lines from the given resourceVersion: history
  replayed, then live ADDED/MODIFIED/DELETED; BOOKMARK events when allowed and
  asked for by the test; an ERROR event with a 410 Status when the version was
  compacted away; the stream ends after timeoutSeconds.
- fieldSelector spec.nodeName=<node> is honoured (other selectors are refused
  with 400, as the real server refuses unknown fields).
- A bearer token, when set, is required (401 otherwise).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import ssl
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Request:
    path: str
    query: dict[str, str]
    authorization: str | None


def _true(value: str | None) -> bool:
    """Query booleans as the API server (Go's strconv.ParseBool) reads them."""
    return value in ("1", "t", "T", "true", "TRUE", "True")


def make_pod(
    name: str,
    namespace: str = "default",
    node: str = "node-a",
    *,
    uid: str | None = None,
    containers: dict[str, str] | None = None,
    owner: tuple[str, str] | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    runtime: str = "containerd",
) -> dict[str, Any]:
    """A pod object as the API server returns it. `containers`: name -> 64-hex id."""
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": uid or str(uuid.uuid4()),
        "labels": labels or {},
        "annotations": annotations or {},
    }
    if owner:
        metadata["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "uid": str(uuid.uuid4()), "controller": True}
        ]
    statuses = [
        {"name": cname, "containerID": f"{runtime}://{cid}", "ready": True, "restartCount": 0}
        for cname, cid in (containers or {}).items()
    ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"nodeName": node, "containers": [{"name": c, "image": "x"} for c in containers or {}]},
        "status": {"phase": "Running", "containerStatuses": statuses},
    }


@dataclass
class FakeKubeApi:
    token: str | None = None
    page_size_cap: int = 0  # >0: serve lists in pages of at most this many items
    pods: dict[str, dict[str, Any]] = field(default_factory=dict)  # uid -> object
    rv: int = 1000
    compacted: int = 0  # watches from a resourceVersion below this get 410 Gone
    history: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    _streams: list[asyncio.Queue[dict[str, Any] | None]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    port: int = 0
    scheme: str = "http"

    # --- control from the test ----------------------------------------------------

    def _change(self, kind: str, obj: dict[str, Any]) -> None:
        self.rv += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.rv)
        if kind == "DELETED":
            self.pods.pop(obj["metadata"]["uid"], None)
        else:
            self.pods[obj["metadata"]["uid"]] = obj
        self.history.append((self.rv, kind, obj))
        for q in self._streams:
            q.put_nowait({"type": kind, "object": obj})

    def add(self, pod: dict[str, Any]) -> dict[str, Any]:
        self._change("ADDED", pod)
        return pod

    def modify(self, pod: dict[str, Any]) -> None:
        self._change("MODIFIED", pod)

    def delete(self, pod: dict[str, Any]) -> None:
        self._change("DELETED", pod)

    def compact(self) -> None:
        """Forget history: any watch from an older resourceVersion gets 410 Gone."""
        self.compacted = self.rv + 1
        self.history.clear()

    def bookmark(self) -> None:
        """Advance the version without a pod change (another object changed) and tell watchers."""
        self.rv += 1
        mark = {"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": str(self.rv)}}
        for q in self._streams:
            q.put_nowait({"type": "BOOKMARK", "object": mark})

    def end_watches(self) -> None:
        """End open watch streams normally (as the server does at timeoutSeconds)."""
        for q in self._streams:
            q.put_nowait(None)

    def watches(self) -> list[Request]:
        return [r for r in self.requests if _true(r.query.get("watch"))]

    def lists(self) -> list[Request]:
        return [r for r in self.requests if not _true(r.query.get("watch"))]

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def kubeconfig(self, token: str | None = None) -> str:
        user: dict[str, Any] = {"token": token} if token else {}
        return json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "test", "cluster": {"server": self.url}}],
                "users": [{"name": "test", "user": user}],
                "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test"}}],
                "current-context": "test",
            }
        )

    async def start(self, port: int, ssl_context: ssl.SSLContext | None = None) -> None:
        self.port = port
        self.scheme = "https" if ssl_context else "http"
        app = web.Application()
        app.router.add_get("/api/v1/pods", self._pods)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port, reuse_address=True, ssl_context=ssl_context).start()

    async def stop(self) -> None:
        """Go down: open watches are cut, new connections refused."""
        self.end_watches()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- the API -------------------------------------------------------------------

    def _selected(self, obj: dict[str, Any], node: str | None) -> bool:
        return node is None or obj.get("spec", {}).get("nodeName") == node

    async def _pods(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        self.requests.append(Request(request.path, query, request.headers.get("Authorization")))
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return _status(401, "Unauthorized", "Unauthorized")
        node: str | None = None
        selector = query.get("fieldSelector", "")
        if selector:
            key, _, value = selector.replace("==", "=").partition("=")
            if key != "spec.nodeName":
                return _status(400, "BadRequest", f'field label not supported: "{key}"')
            node = value
        if _true(query.get("watch")):
            return await self._watch(request, query, node)
        items = sorted(
            (p for p in self.pods.values() if self._selected(p, node)),
            key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"]),
        )
        limit = int(query.get("limit") or 0)
        if self.page_size_cap:
            limit = min(limit or self.page_size_cap, self.page_size_cap)
        start, list_rv = 0, self.rv
        if query.get("continue"):
            token = json.loads(base64.b64decode(query["continue"]))
            start, list_rv = token["start"], token["rv"]
            if list_rv < self.compacted:
                return _status(410, "Expired", "The provided continue parameter is too old")
        meta: dict[str, Any] = {"resourceVersion": str(list_rv)}
        page = items[start : start + limit] if limit else items[start:]
        if limit and start + limit < len(items):
            meta["continue"] = base64.b64encode(json.dumps({"start": start + limit, "rv": list_rv}).encode()).decode()
        return web.json_response({"kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": page})

    async def _watch(self, request: web.Request, query: dict[str, str], node: str | None) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        bookmarks = _true(query.get("allowWatchBookmarks"))
        timeout = float(query.get("timeoutSeconds") or 1800)
        since = query.get("resourceVersion") or ""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

        async def send(event: dict[str, Any]) -> None:
            await resp.write(json.dumps(event).encode() + b"\n")

        if since and int(since) < self.compacted:
            await send(
                {
                    "type": "ERROR",
                    "object": {
                        "kind": "Status",
                        "apiVersion": "v1",
                        "status": "Failure",
                        "message": f"too old resource version: {since} ({self.compacted})",
                        "reason": "Expired",
                        "code": 410,
                    },
                }
            )
            await resp.write_eof()
            return resp
        if not since or since == "0":  # no version: the current state as ADDED, then changes
            for obj in list(self.pods.values()):
                if self._selected(obj, node):
                    await send({"type": "ADDED", "object": obj})
        else:
            for rv, kind, obj in list(self.history):
                if rv > int(since) and self._selected(obj, node):
                    await send({"type": kind, "object": obj})
        self._streams.append(queue)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), max(0.0, deadline - loop.time()))
                except TimeoutError:
                    break
                if event is None:
                    break
                if event["type"] == "BOOKMARK":
                    if bookmarks:
                        await send(event)
                elif self._selected(event["object"], node):
                    await send(event)
        finally:
            self._streams.remove(queue)
        await resp.write_eof()
        return resp


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return web.json_response(body, status=code)
