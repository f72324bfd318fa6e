"""The ceiling for bench/callbacks.py: the least a Flask endpoint behind gunicorn can do per request.

Served by the same gunicorn command line as FactoryBot, at the same path, fed the same signed bodies, so the
gap between the two figures is what verifying, decrypting, routing, querying and encrypting costs.
"""

from __future__ import annotations

from flask import Flask, Response, request

app = Flask("bare")

_REPLY = b"<xml><ok/></xml>"


@app.post("/wecom/callback")
def callback() -> Response:
    # Read the body like the real endpoint does, so both pay for receiving the same bytes.
    request.get_data(cache=False)
    return Response(_REPLY, mimetype="application/xml")


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
