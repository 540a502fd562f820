"""The OpenAPI document of the whole API (docs/adr/0005-openapi.md) and the Swagger UI page that shows it."""
