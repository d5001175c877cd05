"""The events workflow as the database enforces it: only the steps of event_transitions."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from layers import db

INSERT = """
    INSERT INTO events (code, community_id, category_id, description, reporter, source,
                        status, reported_at, status_at, geom)
    SELECT :code, c.id, k.id, '路灯不亮', 'u1', 'api', :status, now(), now(),
           ST_PointOnSurface(c.geom)
    FROM communities c, event_categories k WHERE c.code = 'T1' AND k.code = 'GY01'
"""


def _status(session: Session, code: str, status: str) -> None:
    session.execute(text("UPDATE events SET status = :s WHERE code = :c"), {"s": status, "c": code})


def test_only_workflow_steps_change_an_events_status(t1_db: str) -> None:
    engine = db.make_engine(t1_db)
    try:
        with Session(engine) as session:
            # A new event starts as reported: an import may bring closed ones, nothing else.
            with pytest.raises(DBAPIError, match="starts as reported"):
                session.execute(text(INSERT), {"code": "E1", "status": "closed"})
            session.rollback()
            session.execute(text(INSERT), {"code": "E1", "status": "reported"})
            session.commit()
            # Closing an event never handled is refused, whoever asks.
            with pytest.raises(DBAPIError, match="no step of the workflow"):
                _status(session, "E1", "closed")
            session.rollback()
            for step in ("filed", "dispatched", "accepted", "handled", "fed_back", "accepted"):
                _status(session, "E1", step)  # verification failed: sent back to the department
            for step in ("handled", "fed_back", "verified", "closed"):
                _status(session, "E1", step)
            session.commit()
            with pytest.raises(DBAPIError, match="no step of the workflow"):
                _status(session, "E1", "reported")  # closed is final
            session.rollback()
            session.execute(text("SELECT set_config('gridmap.channel', 'import', true)"))
            session.execute(text(INSERT), {"code": "E2", "status": "closed"})  # history import
            session.commit()
            n = session.execute(text("SELECT count(*) FROM events")).scalar_one()
            assert n == 2
    finally:
        engine.dispose()


def test_default_categories_form_a_two_level_tree(t1_db: str) -> None:
    engine = db.make_engine(t1_db)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT k.code, p.code, d.name, k.handle_hours FROM event_categories k "
                    "LEFT JOIN event_categories p ON p.id = k.parent_id "
                    "LEFT JOIN departments d ON d.id = k.department_id"
                )
            ).all()
    finally:
        engine.dispose()
    by_code = {r[0]: r for r in rows}
    assert by_code["SR01"][1] == "SR" and by_code["SR01"][2] == "环卫所"
    assert by_code["GY01"][2] == "路灯管理所"
    # Every subclass has a main class without a parent, and a department.
    for code, parent, department, hours in rows:
        if parent is not None:
            assert by_code[parent][1] is None and department and hours > 0, code
