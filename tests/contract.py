"""Check one HTTP exchange against the service's OpenAPI document: path, method, status, media type, body.

The end-to-end tests watch the worker with this (see `servers.watch`), so every response they
receive must be one the document describes.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlsplit

import jsonschema_rs

BASE = "urn:building-vitals-openapi"
UNCHECKED_METHODS = {"OPTIONS", "HEAD"}  # CORS preflight and bodiless HEAD sit outside the document
PLATFORM_PREFIX = "/cdn-cgi/"  # the platform's own endpoints (e.g. firing a cron locally), not the Worker's


def pointer(*parts: str) -> str:
    """A JSON pointer as a URI fragment (`{job}` percent-encoded)."""
    return "#/" + "/".join(quote(part.replace("~", "~0").replace("/", "~1"), safe="~") for part in parts)


class Contract:
    """The document, its path templates as patterns, and a validator per response schema."""

    def __init__(self, document: dict) -> None:
        self.document = document
        self.registry = jsonschema_rs.Registry([(BASE, document)])
        # Literal paths before templated ones, so /api/jobs is not taken for /api/jobs/{job}.
        templates = sorted(document["paths"], key=lambda path: ("{" in path, path))
        self.paths = [(re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path))), path) for path in templates]
        self.validators: dict[str, jsonschema_rs.Validator] = {}

    def template(self, path: str) -> str | None:
        path = path.rstrip("/") or "/"
        return next((template for pattern, template in self.paths if pattern.fullmatch(path)), None)

    def static(self, template: str) -> bool:
        return any(operation.get("x-static-asset") for operation in self.document["paths"][template].values())

    def check(self, method: str, url: str, status: int, headers: dict[str, str], body: bytes) -> None:
        """Raise AssertionError when the exchange is not one the document describes."""
        if method in UNCHECKED_METHODS or urlsplit(url).path.startswith(PLATFORM_PREFIX):
            return
        where = f"{method} {urlsplit(url).path} -> {status}"
        template = self.template(urlsplit(url).path)
        if template is None or method.lower() not in self.document["paths"][template]:
            expected = 404 if template is None else 405
            assert status == expected, f"{where}: undocumented route answered {status}, not {expected}"
            if template is None or not self.static(template):  # the asset router's own 405 has no body
                self.validate(pointer("components", "schemas", "Error"), body, where)
            return
        responses = self.document["paths"][template][method.lower()]["responses"]
        key = str(status) if str(status) in responses else "default"
        assert key in responses, f"{where}: status {status} is not documented (documented: {sorted(responses)})"
        location, response = ("paths", template, method.lower(), "responses", key), responses[key]
        if "$ref" in response:
            location = tuple(response["$ref"].removeprefix("#/").split("/"))
            response = self.document["components"]["responses"][location[-1]]
        content = response.get("content", {})
        if not content:
            assert not body, f"{where}: a body where the document has none"
            return
        media = headers.get("content-type", "").split(";")[0].strip()
        assert media in content, f"{where}: content-type {media!r} is not documented (documented: {sorted(content)})"
        if media == "application/json":
            self.validate(pointer(*location, "content", media, "schema"), body, where)

    def validate(self, schema_pointer: str, body: bytes, where: str) -> None:
        validator = self.validators.get(schema_pointer)
        if validator is None:
            validator = jsonschema_rs.Draft202012Validator({"$ref": BASE + schema_pointer}, registry=self.registry)
            self.validators[schema_pointer] = validator
        try:
            instance = json.loads(body)
        except ValueError as exc:
            raise AssertionError(f"{where}: the body is not JSON: {body[:200]!r}") from exc
        errors = [f"{'/'.join(map(str, error.instance_path)) or '(body)'}: {error.message}"
                  for error in validator.iter_errors(instance)]
        assert not errors, f"{where}: the body breaks the document:\n  " + "\n  ".join(errors[:10])
