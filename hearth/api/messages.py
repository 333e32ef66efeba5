"""User message routes (microversion 3.3 and later): list, show, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from hearth.api import listing, schemas, versions
from hearth.api.calls import Call, call
from hearth.api.views import messages as views
from hearth.api.views import shapes
from hearth.db import user_messages

router = APIRouter(tags=["messages"])
FILTERS = ("resource_uuid", "resource_type", "request_id")


@router.get("/messages", openapi_extra=schemas.list_query(user_messages.SORT_KEYS, "messages"))
def list_messages(request: Request, call: Call = Depends(call)) -> dict[str, Any]:
    """The caller's project's messages (paged and filtered from 3.5)."""
    call.require(versions.MESSAGES)
    query = request.query_params if call.at_least(versions.MESSAGES_PAGINATION) else {}
    page = listing.page(query, user_messages.SORT_KEYS, call.hearth.services.settings.api.page_size)
    filters = {name: query[name] for name in FILTERS if name in query}
    if "resource_type" in filters:
        filters["resource_type"] = filters["resource_type"].upper()
    rows = call.hearth.list_messages_page(page, filters=filters, context=call.context)
    document: dict[str, Any] = {"messages": [views.detail(call, row) for row in rows]}
    next_links = shapes.next_links(call, "messages", rows, page.limit, query)
    if next_links:
        document["messages_links"] = next_links
    return document


@router.get("/messages/{message_id}")
def show_message(message_id: str, call: Call = Depends(call)) -> dict[str, Any]:
    """One message."""
    call.require(versions.MESSAGES)
    return {
        "message": views.detail(call, call.hearth.get_message(message_id, context=call.context))
    }


@router.delete("/messages/{message_id}", status_code=204)
def delete_message(message_id: str, call: Call = Depends(call)) -> Response:
    """Remove a message (204)."""
    call.require(versions.MESSAGES)
    call.hearth.delete_message(message_id, context=call.context)
    return Response(status_code=204)
