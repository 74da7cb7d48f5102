"""The single route table: every view registers through `route`, and the OpenAPI document
is generated from the same table, so the two cannot drift apart."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint

API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class Param:
    name: str
    where: str = "query"  # query | path
    type: str = "string"  # string | integer | boolean
    description: str = ""
    required: bool = False
    enum: tuple[str, ...] | None = None
    format: str | None = None


@dataclass
class Route:
    path: str  # Flask rule, e.g. /api/v1/nodes/<node_id>
    method: str
    endpoint: str
    role: str | None
    summary: str
    params: tuple[Param, ...] = ()
    body: dict[str, Any] | None = None
    tag: str = ""
    responses: tuple[int, ...] = field(default=(200,))


ROUTES: list[Route] = []


def route(
    bp: Blueprint,
    rule: str,
    method: str,
    summary: str,
    role: str | None = "viewer",
    params: tuple[Param, ...] = (),
    body: dict[str, Any] | None = None,
    responses: tuple[int, ...] = (200,),
) -> Callable:
    """Register a view on `bp` and describe it in ROUTES (role None = no authentication)."""

    def decorator(fn: Callable) -> Callable:
        from api.security import require

        view = require(role)(fn) if role else fn
        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        ROUTES.append(
            Route(
                path=(bp.url_prefix or "") + rule,
                method=method,
                endpoint=f"{bp.name}.{fn.__name__}",
                role=role,
                summary=summary,
                params=params,
                body=body,
                tag=bp.name,
                responses=responses,
            )
        )
        return wraps(fn)(view)

    return decorator


_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def openapi_path(rule: str) -> str:
    return _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", rule)


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "code", "message"],
            "properties": {
                "status": {"type": "integer"},
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string"},
            },
        }
    },
}


def openapi_document() -> dict[str, Any]:
    """OpenAPI 3.0 document of every registered route."""
    paths: dict[str, dict] = {}
    for r in ROUTES:
        path = openapi_path(r.path)
        parameters = []
        for m in _CONVERTER.finditer(r.path):
            ptype = "integer" if m.group(1) == "int" else "string"
            parameters.append({"name": m.group(2), "in": "path", "required": True, "schema": {"type": ptype}})
        for p in r.params:
            schema: dict[str, Any] = {"type": p.type}
            if p.enum:
                schema["enum"] = list(p.enum)
            if p.format:
                schema["format"] = p.format
            parameters.append(
                {"name": p.name, "in": p.where, "required": p.required, "description": p.description, "schema": schema}
            )
        responses: dict[str, Any] = {}
        for code in r.responses:
            responses[str(code)] = {"description": "success", "content": {"application/json": {"schema": {}}}}
        error = {
            "description": "error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code in (400, 404, 503):
            responses[str(code)] = error
        if r.role:
            responses["401"] = error
            responses["403"] = error
        op: dict[str, Any] = {
            "operationId": r.endpoint.replace(".", "_"),
            "summary": r.summary,
            "tags": [r.tag],
            "parameters": parameters,
            "responses": responses,
        }
        if r.role:
            op["security"] = [{"bearer": []}]
            op["description"] = (
                "Requires the platform operator role."
                if r.role == "platform_operator"
                else f"Requires role {r.role} or higher (the platform operator counts as an operator)."
            )
        else:
            op["security"] = []
        if r.body:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": r.body}}}
        paths.setdefault(path, {})[r.method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Abbanoa water-network API",
            "version": "1.0.0",
            "description": "Tenant-scoped access to nodes, readings, anomalies, efficiency, quality and forecasts.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {"Error": ERROR_SCHEMA},
        },
    }
