"""`make dev`'s /docs works offline: the page and every file it loads come from the local stack itself, each file
the one its subresource integrity names."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx


def test_swagger_ui_is_served_whole_by_the_stack(http: httpx.Client):
    page = http.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'url: "/openapi.json"' in page.text
    assert "://" not in page.text, "the page loads something from outside the stack"
    tags = [dict(re.findall(r'(\w+)="([^"]*)"', tag)) for tag in re.findall(r"<(?:script|link)\b([^>]*)>", page.text)]
    assets = [tag for tag in tags if "src" in tag or "href" in tag]
    assert len(assets) == 2
    for tag in assets:
        served = http.get(tag.get("src") or tag["href"])
        assert served.status_code == 200, tag
        algorithm, _, digest = tag["integrity"].partition("-")
        assert base64.b64encode(hashlib.new(algorithm, served.content).digest()).decode() == digest
    assert http.get("/openapi.json").status_code == 200
