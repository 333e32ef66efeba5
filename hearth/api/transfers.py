"""Volume transfer routes (``os-volume-transfer``): create (the key is in that answer
only), list, detail, show, accept, delete; the rules are ``service/transfers.py``'s."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from hearth.api.calls import Call, body_object, call
from hearth.api.quota_sets import body_schema
from hearth.api.views import shapes
from hearth.db import models

router = APIRouter(tags=["transfers"])
COLLECTION = "os-volume-transfer"


@router.post(f"/{COLLECTION}", status_code=202, openapi_extra=body_schema("transfer", {}))
def create_transfer(
    call: Call = Depends(call), body: dict[str, Any] = Depends(body_object("transfer"))
) -> dict[str, Any]:
    """Offer a volume; answers with the key, which is never shown again."""
    row, key = call.hearth.create_transfer(
        body.get("volume_id"), body.get("name"), context=call.context
    )
    return {"transfer": {**_detail(call, row), "auth_key": key}}


@router.get(f"/{COLLECTION}")
def list_transfers(call: Call = Depends(call)) -> dict[str, Any]:
    """The caller's project's transfers."""
    return {
        "transfers": [_summary(call, t) for t in call.hearth.list_transfers(context=call.context)]
    }


@router.get(f"/{COLLECTION}/detail")
def list_transfers_detail(call: Call = Depends(call)) -> dict[str, Any]:
    """The caller's project's transfers, in detail."""
    return {
        "transfers": [_detail(call, t) for t in call.hearth.list_transfers(context=call.context)]
    }


@router.get(f"/{COLLECTION}/{{transfer_id}}")
def show_transfer(transfer_id: str, call: Call = Depends(call)) -> dict[str, Any]:
    """One transfer of the caller's project."""
    return {"transfer": _detail(call, call.hearth.get_transfer(transfer_id, context=call.context))}


@router.post(
    f"/{COLLECTION}/{{transfer_id}}/accept",
    status_code=202,
    openapi_extra=body_schema("accept", {"type": "string"}),
)
def accept_transfer(
    transfer_id: str,
    call: Call = Depends(call),
    body: dict[str, Any] = Depends(body_object("accept")),
) -> dict[str, Any]:
    """Take the transfer's volume with its key."""
    row = call.hearth.accept_transfer(transfer_id, body.get("auth_key"), context=call.context)
    return {"transfer": _summary(call, row)}


@router.delete(f"/{COLLECTION}/{{transfer_id}}", status_code=202)
def delete_transfer(transfer_id: str, call: Call = Depends(call)) -> Response:
    """Withdraw a transfer."""
    call.hearth.delete_transfer(transfer_id, context=call.context)
    return Response(status_code=202)


def _summary(call: Call, row: models.VolumeTransfer) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "volume_id": row.volume_id,
        "links": shapes.links(call, COLLECTION, row.id),
    }


def _detail(call: Call, row: models.VolumeTransfer) -> dict[str, Any]:
    return {**_summary(call, row), "created_at": shapes.timestamp(row.created_at)}
