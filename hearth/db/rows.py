"""Row operations shared by the repository modules (one implementation, many tables)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session

from hearth.db import models
from hearth.db import session as db_session


class _ProjectRow(Protocol):
    id: Mapped[str]
    project_id: Mapped[str]


class _StatusRow(_ProjectRow, Protocol):
    status: Mapped[str]
    updated_at: Mapped[Any]


RowT = TypeVar("RowT", bound=models.Base)


def insert(session: Session, model: type[RowT], fields: dict[str, Any]) -> RowT:
    """Insert a row and flush it, so defaults (ids, timestamps) are filled in."""
    row = model(**fields)
    session.add(row)
    session.flush()
    return row


def find_in_project(
    session: Session,
    model: type[RowT],
    row_id: str,
    project_id: str | None,
    options: Sequence[Any] = (),
) -> RowT | None:
    """The row with that id, or None; with ``project_id``, only that project's row."""
    row = session.get(model, row_id, options=options)
    if row is None or (project_id is not None and getattr(row, "project_id", None) != project_id):
        return None
    return row


def update_by_id(session: Session, model: type[Any], row_id: str, fields: dict[str, Any]) -> bool:
    """One UPDATE of a row's fields (and ``updated_at``); False when the row is gone."""
    return _update(session, model, row_id, None, fields)


def compare_and_set_status(
    session: Session,
    model: type[Any],
    row_id: str,
    status: str,
    expected: Collection[str] | None,
    fields: dict[str, Any],
) -> bool:
    """One UPDATE that changes the status only if the current one is ``expected``.

    Returns False, changing nothing, when the row is gone or in another status. Safe against
    a concurrent writer on every database (the WHERE clause is the check). Subscribers of
    the table's topic (``Database.subscribe``) get the id after the commit.
    """
    changed = _update(session, model, row_id, expected, {"status": status, **fields})
    if changed:
        db_session.touch(session, model.__tablename__, row_id)
    return changed


def compare_and_set_status_returning(
    session: Session,
    model: type[RowT],
    row_id: str,
    status: str,
    expected: Collection[str] | None,
    fields: dict[str, Any],
) -> RowT | None:
    """:func:`compare_and_set_status` that also returns the changed row, read by the same
    statement (UPDATE ... RETURNING: no second round trip); None when nothing changed."""
    row = _update_returning(session, model, row_id, expected, {"status": status, **fields})
    if row is not None:
        db_session.touch(session, model.__tablename__, row_id)
    return row


def update_by_id_returning(
    session: Session, model: type[RowT], row_id: str, fields: dict[str, Any]
) -> RowT | None:
    """:func:`update_by_id` that returns the changed row (one statement); None when gone."""
    return _update_returning(session, model, row_id, None, fields)


def _update_returning(
    session: Session,
    model: type[RowT],
    row_id: str,
    expected: Collection[str] | None,
    fields: dict[str, Any],
) -> RowT | None:
    table: Any = model  # id, status and updated_at: every table this is used on has them
    query = sa.update(model).where(table.id == row_id)
    if expected is not None:
        query = query.where(table.status.in_(list(expected)))
    query = query.values(updated_at=models.utcnow(), **fields).returning(model)
    # "populate_existing": a copy of the row this session already holds takes the new values
    return session.scalars(
        query, execution_options={"synchronize_session": False, "populate_existing": True}
    ).one_or_none()


def _update(
    session: Session,
    model: type[Any],
    row_id: str,
    expected: Collection[str] | None,
    fields: dict[str, Any],
) -> bool:
    query = sa.update(model).where(model.id == row_id)
    if expected is not None:
        query = query.where(model.status.in_(list(expected)))
    query = query.values(updated_at=models.utcnow(), **fields)
    # "evaluate" also updates rows this session already holds, so they stay readable as
    # plain values after the transaction (sessions do not expire on commit)
    result = session.execute(query.execution_options(synchronize_session="evaluate"))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def delete(session: Session, model: type[Any], row_id: str) -> None:
    """Remove a row by id (a no-op when it is already gone); subscribers of the table's
    topic get the id after the commit."""
    session.execute(sa.delete(model).where(model.id == row_id))
    db_session.touch(session, model.__tablename__, row_id)


SortKey = tuple[str, bool]
"""A column name and whether the order is descending."""


@dataclass(frozen=True)
class Page:
    """Which slice of a list to read: in ``sort`` order, after the row whose id is
    ``marker``, at most ``limit`` rows (None: all of them). See :func:`page`."""

    sort: tuple[SortKey, ...]
    limit: int | None = None
    marker: str | None = None
    offset: int = 0
    """Rows skipped before the page (after the marker, if any)."""


def page(
    session: Session,
    query: sa.Select[Any],
    model: type[Any],
    sort: Sequence[SortKey],
    *,
    limit: int | None = None,
    marker: str | None = None,
    offset: int = 0,
) -> Sequence[Any]:
    """Rows of ``query`` in ``sort`` order (the id breaks ties), after the row whose id is
    ``marker`` (keyset pagination: stable while rows come and go), skipping ``offset``, at
    most ``limit``.

    A marker that is not among the query's rows raises LookupError. NULLs sort as the empty
    string (text) or the creation time (``updated_at``), so every key compares.
    """
    keys = [*sort, *([("id", sort[-1][1] if sort else False)] if "id" not in dict(sort) else [])]
    columns = [(_sortable(model, name), descending) for name, descending in keys]
    if marker is not None:
        marker_values = session.execute(
            query.with_only_columns(*(column for column, _ in columns)).where(model.id == marker)
        ).first()
        if marker_values is None:
            raise LookupError(marker)
        query = query.where(_after(columns, list(marker_values)))
    query = query.order_by(None).order_by(
        *(column.desc() if descending else column.asc() for column, descending in columns)
    )
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()


def _sortable(model: type[Any], name: str) -> sa.ColumnElement[Any]:
    column = getattr(model, name)
    if name == "updated_at":
        return sa.func.coalesce(column, model.created_at)
    if column.type.python_type is str and column.nullable:
        return sa.func.coalesce(column, "")
    return column  # type: ignore[no-any-return]


def _after(
    columns: Sequence[tuple[sa.ColumnElement[Any], bool]], values: Sequence[Any]
) -> sa.ColumnElement[bool]:
    """Rows that come after the marker's values in the sort order."""
    if len({descending for _, descending in columns}) == 1:  # one direction: a row value,
        # which an index on these columns answers as one range (the OR form below is not)
        ahead = sa.tuple_(*(column for column, _ in columns))
        typed = zip(columns, values, strict=True)
        marker = sa.tuple_(*(sa.literal(value, column.type) for (column, _), value in typed))
        return ahead < marker if columns[0][1] else ahead > marker
    alternatives = []
    for index, (column, descending) in enumerate(columns):
        equal = [columns[i][0] == values[i] for i in range(index)]
        beyond = column < values[index] if descending else column > values[index]
        alternatives.append(sa.and_(*equal, beyond))
    return sa.or_(*alternatives)
