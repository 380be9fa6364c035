"""The text that is embedded for a mention: its key with exact abbreviations spelled out.

Small sentence encoders know ``PlayStation 4`` far better than ``PS4`` (MiniLM: cos 0.91, while
``PlayStation 4`` / ``PlayStation 3`` is 0.89). A short table per type pack spells out *exact*
abbreviations, token by token, before embedding, so ``ps4`` and ``playstation 4`` get the same vector.
Only whole tokens of the normalised key are replaced; nothing is guessed. The table is the single
place to add domain abbreviations; the mention's key and text are stored unchanged.
"""

from __future__ import annotations

ABBREVIATIONS: dict[str, dict[str, str]] = {
    "video_games": {
        "ps1": "playstation", "psx": "playstation", "psone": "playstation",
        "ps2": "playstation 2", "ps3": "playstation 3", "ps4": "playstation 4", "ps5": "playstation 5",
        "playstation2": "playstation 2", "playstation3": "playstation 3", "playstation4": "playstation 4",
        "playstation5": "playstation 5", "psp": "playstation portable", "psvr": "playstation vr",
        "xb1": "xbox one", "xbone": "xbox one", "x360": "xbox 360", "xbox360": "xbox 360",
        "n64": "nintendo 64", "gba": "game boy advance", "gbc": "game boy color", "gameboy": "game boy",
        "nds": "nintendo ds", "snes": "super nintendo", "nes": "nintendo entertainment system",
        "dlc": "downloadable content", "goty": "game of the year",
    },
    "office_products": {
        "pk": "pack", "ct": "count", "qty": "quantity", "pcs": "pieces",
    },
}


def embedding_text(key: str, pack: str) -> str:
    """``key`` with the pack's exact abbreviations expanded (``"ps4 controller"`` → ``"playstation 4 controller"``)."""
    table = ABBREVIATIONS.get(pack)
    if not table:
        return key
    return " ".join(table.get(tok, tok) for tok in key.split())
