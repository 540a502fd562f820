"""The Swagger UI page of GET /docs: swagger-ui-dist's assets, each with its subresource integrity, from a base URL
(a CDN that serves npm packages as published, or the local stack's vendored copy: DOCS_ASSETS_URL), and the document
from GET /openapi.json."""

from __future__ import annotations

from html import escape

PACKAGE = "swagger-ui-dist"
VERSION = "5.35.0"
# sha384 of each file as npm publishes it; local/swagger_ui.py checks them against the vendored package.
ASSETS = {
    "swagger-ui.css": "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I",
    "swagger-ui-bundle.js": "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9",
}
DOCUMENT_URL = "/openapi.json"


def asset_url(base: str, name: str) -> str:
    return f"{base.rstrip('/')}/{PACKAGE}@{VERSION}/{name}"


def page(title: str, assets: str) -> str:
    """The page; the browser refuses an asset whose bytes are not the ones pinned above."""
    css, js = (escape(asset_url(assets, name)) for name in ASSETS)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{escape(title)}</title>
  <link rel="stylesheet" href="{css}" integrity="{ASSETS["swagger-ui.css"]}" crossorigin="anonymous">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{js}" integrity="{ASSETS["swagger-ui-bundle.js"]}" crossorigin="anonymous"></script>
  <script>
    window.ui = SwaggerUIBundle({{url: "{DOCUMENT_URL}", dom_id: "#swagger-ui", deepLinking: true}});
  </script>
</body>
</html>
"""
