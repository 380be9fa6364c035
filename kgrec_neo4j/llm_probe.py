"""A cheap reachability probe of an OpenAI-compatible endpoint (``GET /models``), used by ``doctor``."""

from __future__ import annotations

import httpx

from .config import Settings


def probe(settings: Settings, timeout_s: float = 5.0) -> tuple[bool, str]:
    url = settings.llm_base_url.rstrip("/") + "/models"
    headers = {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}
    try:
        r = httpx.get(url, headers=headers, timeout=timeout_s)
    except httpx.HTTPError as e:
        return False, f"{settings.llm_base_url} not reachable ({type(e).__name__})"
    if r.status_code != 200:
        return False, f"{url} answered HTTP {r.status_code}"
    try:
        models = [m.get("id") for m in r.json().get("data", [])]
    except ValueError:
        return False, f"{url} did not answer JSON"
    want = settings.llm_model
    if want and models and want not in models:
        return False, f"model {want!r} not served; served: {', '.join(map(str, models[:5]))}"
    return True, f"{settings.llm_base_url} serves {', '.join(map(str, models[:3])) or 'models'}"
