"""Admin: bearer-token auth (constant-time) and policy reloads, by endpoint, SIGHUP or file change."""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import SecretStr

from service.api.deps import ServiceState, app_service
from service.api.schemas import ReloadResponse, error_responses
from service.errors import AdminDisabled, ErrorReply, Unauthorized, reply_for
from service.policy.store import ReloadResult, directory_fingerprint

log = logging.getLogger(__name__)

router = APIRouter(prefix="/admin", tags=["admin"])

_ERRORS = error_responses(
    {
        401: "missing or wrong bearer token",
        403: "admin is disabled (no SAFETY_ADMIN_TOKEN)",
        409: "the service runs without a policy directory",
        422: "a policy file is invalid (the old policies stay); `errors` names each file and field",
        503: "model not loaded",
    }
)


def _admin(request: Request) -> ServiceState:
    """Let the request through only with `Authorization: Bearer <SAFETY_ADMIN_TOKEN>`."""
    state = app_service(request.app)
    token = state.settings.admin_token
    if token is None:
        raise AdminDisabled("admin endpoints are disabled: set SAFETY_ADMIN_TOKEN to enable them")
    require_bearer(request, token, "admin")
    return state


def require_bearer(request: Request, token: SecretStr, what: str) -> None:
    """Raise Unauthorized unless the request carries `Authorization: Bearer <token>`."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    # compare_digest takes the same time wherever the strings differ (no timing oracle on the token)
    if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), expected):
        raise Unauthorized(f"missing or wrong {what} token (send `Authorization: Bearer <token>`)")


AdminDep = Annotated[ServiceState, Depends(_admin)]


@router.post("/policies/reload", responses=_ERRORS)
async def reload(state: AdminDep) -> ReloadResponse:
    """Re-read the policy directory; a bad file is rejected and the old policies keep serving."""
    result = await reload_policies(state, trigger="endpoint")
    return ReloadResponse(**result.as_dict(), versions=_versions(state))


async def reload_policies(state: ServiceState, trigger: str) -> ReloadResult:
    """Reload in a worker thread (file reads stay off the event loop); log and count the outcome."""
    try:
        result = await asyncio.to_thread(state.policies.reload)
    except Exception as exc:
        reply: ErrorReply = reply_for(exc)
        state.metrics.policy_reloads.labels(trigger, "error").inc()
        log.error(
            "policy reload rejected; the old policies stay",
            extra={"trigger": trigger, "code": reply.code, "error": reply.message, **reply.details},
        )
        raise
    state.metrics.policy_reloads.labels(trigger, "ok").inc()
    publish_policies(state)
    versions = _versions(state)
    log.info("policies reloaded", extra={"trigger": trigger, **result.as_dict(), "versions": versions})
    return result


def reload_on_signal(state: ServiceState, tasks: set[asyncio.Task[None]]) -> None:
    """Start a reload from a signal handler (SIGHUP); errors are logged, never raised."""

    task = asyncio.get_running_loop().create_task(_reload_logged(state, "sighup"), name="policy-reload")
    tasks.add(task)  # keep a reference until it finishes
    task.add_done_callback(tasks.discard)


async def watch_policy_files(state: ServiceState, directory: Path, interval_s: float) -> None:
    """Reload whenever the policy files change (checked every `interval_s`); errors are logged.

    A bad edit is rejected once and the old policies keep serving; the next change is tried again.
    """
    seen = await asyncio.to_thread(directory_fingerprint, directory)
    while True:
        await asyncio.sleep(interval_s)
        now = await asyncio.to_thread(directory_fingerprint, directory)
        if now == seen:
            continue
        seen = now
        await _reload_logged(state, "file")


async def _reload_logged(state: ServiceState, trigger: str) -> None:
    """Reload for a trigger nobody answers (signal, file change): errors are logged, never raised."""
    try:
        await reload_policies(state, trigger=trigger)
    except Exception:
        pass  # already logged with the file and field that failed


def publish_policies(state: ServiceState) -> None:
    """Export the loaded policies and their versions as `safety_policy_info`."""
    store = state.policies
    shadow = store.shadow
    state.metrics.set_policies(_versions(state), store.default_name, shadow.name if shadow else None)


def _versions(state: ServiceState) -> dict[str, str]:
    return {policy.name: policy.version for policy in state.policies.all()}
