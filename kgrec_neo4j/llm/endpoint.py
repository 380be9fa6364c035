"""Any OpenAI-compatible endpoint: the models it serves (``GET /models``) and a cheap reachability probe that
``kgrec doctor`` runs."""

from __future__ import annotations

import httpx

from ..core.config import Settings, redact_in, redact_url
from ..core.errors import LLMError


def list_models(base_url: str, api_key: str = "", timeout_s: float = 5.0) -> list[str]:
    """Model ids from ``GET <base_url>/models``.

    Raises:
        LLMError: the endpoint did not answer, or not with JSON.
    """
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    url = base_url.rstrip("/") + "/models"
    try:
        r = httpx.get(url, headers=headers, timeout=timeout_s)
        r.raise_for_status()
        data = r.json()
    except httpx.HTTPStatusError as e:  # it answered, with an error: the key or the URL, not the server, is at fault
        code = e.response.status_code
        fix = ("the API key is missing or wrong: set OPENAI_API_KEY (or KGREC_LLM_API_KEY) to one the server accepts"
               if code in (401, 403) else
               "the URL is likely wrong: KGREC_LLM_BASE_URL usually ends in /v1" if code == 404 else
               "the server reports an error of its own")
        raise LLMError(redact_in(f"{url} answered HTTP {code} {e.response.reason_phrase}: {fix}", url)) from None
    except (httpx.HTTPError, ValueError) as e:
        what = " ".join(str(e).split())  # (httpx's messages run over several lines)
        raise LLMError(redact_in(f"{url} did not answer ({type(e).__name__}: {what}); is the server running and the "
                                 f"URL right (it usually ends in /v1)?", url)) from None
    return [str(m.get("id") or m.get("name")) for m in data.get("data") or data.get("models") or []]


def probe(settings: Settings, timeout_s: float = 5.0) -> tuple[bool, str]:
    """``(ok, message)``: the configured endpoint answers and serves the configured model."""
    try:
        models = list_models(settings.llm_base_url, settings.llm_api_key, timeout_s)
    except LLMError as e:
        return False, str(e)
    want = settings.llm_model
    if want and models and want not in models:
        return False, f"model {want!r} not served; served: {', '.join(map(str, models[:5]))}"
    return True, f"{redact_url(settings.llm_base_url)} serves {', '.join(map(str, models[:3])) or 'models'}"
