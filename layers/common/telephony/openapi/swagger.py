"""The Swagger UI page of GET /docs: the UI's assets from a CDN, the document from GET /openapi.json."""

from __future__ import annotations

SWAGGER_UI = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.35.0"
DOCUMENT_URL = "/openapi.json"


def page(title: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="stylesheet" href="{SWAGGER_UI}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{SWAGGER_UI}/swagger-ui-bundle.js" crossorigin="anonymous"></script>
  <script>
    window.ui = SwaggerUIBundle({{url: "{DOCUMENT_URL}", dom_id: "#swagger-ui", deepLinking: true}});
  </script>
</body>
</html>
"""
