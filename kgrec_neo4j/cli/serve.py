"""``kgrec serve``: the HTTP JSON service."""

from __future__ import annotations

import click

from ..core.config import Settings
from ._common import pass_settings


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but loopback needs KGREC_SERVE_TOKEN set.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--poll", "poll_s", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="Seconds between checks for a new current model run.")
@click.option("--writes", is_flag=True,
              help="Also record interactions and items: POST /users/{user}/interactions, POST /items "
                   "(read-only without it). Needs KGREC_SERVE_TOKEN.")
@pass_settings
def serve(settings: Settings, host: str, port: int, poll_s: float, writes: bool):
    """Serve recommendations and explanations over HTTP (JSON), from the live graph.

    GET /users/{user}/recommendations?k=10&explain=true, GET /users/{user}/items/{item}/explanation,
    GET /health; with --writes (and a token), POST /users/{user}/interactions records one (JSON body: item,
    and optionally rating, timestamp, review_title, review_text) and POST /items adds or changes an item (id,
    dataset, text fields), which the next `kgrec update` extracts and folds in. Each request reads the user's
    edges as they are now; every answer names its run; a new current run is picked up without a restart and
    without dropping requests.

    \b
    Examples:
      kgrec serve
      curl 'http://127.0.0.1:8000/users/A2OAG0NE83ODBD/recommendations?k=5&explain=true'
      KGREC_SERVE_TOKEN=<secret> kgrec serve --host 0.0.0.0 --port 8080
      KGREC_SERVE_TOKEN=<secret> kgrec serve --writes
      curl -X POST 'http://127.0.0.1:8000/users/A2OAG0NE83ODBD/interactions' -H 'Authorization: Bearer <secret>' \\
           -H 'Content-Type: application/json' -d '{"item": "B00BGA9WK2", "rating": 5}'
    """
    from ..serve.api import bind_token
    from ..serve.api import serve as run

    bind_token(host, writes=writes)  # refused before it says it serves (as a port that is taken, below)
    run(settings, host=host, port=port, poll_s=poll_s, writes=writes,
        on_listen=lambda: click.echo(f"serving on http://{host}:{port} (Ctrl-C to stop)", err=True))


commands = [serve]
