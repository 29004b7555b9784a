"""Learning statistics under /api/v1: a region's or a school's figures, trend and course choice."""

from flask import jsonify, request

from lms import access
from lms.api import (
    BOOL,
    DATETIME,
    INT,
    PAGING_PARAMS,
    STR,
    api_user,
    array,
    nullable,
    obj,
    page_body,
    page_schema,
    paging_args,
    query_param,
    route,
    schema,
)
from lms.stats import services

NUM = {"type": "number"}
_FIGS = ("teachers", "signed_in", "studying", "completed", "active_week", "seconds", "hours", "participation",
         "learning", "completion", "avg_minutes")  # fmt: skip
_FIGURES = (
    obj(_FIGS, teachers=INT, signed_in={**INT, "description": "Signed in at least once"},
        studying={**INT, "description": "With credited course-study time"},
        completed={**INT, "description": "Reached the full course-study time (1,260 minutes)"},
        active_week={**INT, "description": "Seen in the last 7 days"}, seconds={**INT, "description": "Credited, all"},
        hours=NUM, participation={**NUM, "description": "signed_in / teachers, %"},
        learning={**NUM, "description": "studying / teachers, %"},
        completion={**NUM, "description": "completed / teachers, %"}, avg_minutes=INT)
)  # fmt: skip
FIGURES = schema("LearningFigures", _FIGURES)
_DATE = {"type": "string", "format": "date"}
DAY = schema("LearningDay", {**_FIGURES, "properties": {**_FIGURES["properties"], "day": _DATE},
                             "required": ["day", *_FIGURES["required"]]})  # fmt: skip
_UNIT = obj(("id", "name", "kind"), id=INT, name=STR, kind={"type": "string", "enum": ["region", "school"]})
_COURSE = obj(("id", "title", "started", "finished", "study_hours"), id=INT, title=STR, hours=NUM, kind=STR,
              started=INT, finished=INT, study_hours=NUM)  # fmt: skip
_COMMON = {"unit": _UNIT, "total": FIGURES, "trend": array(DAY), "courses": array(_COURSE)}
schema(
    "RegionLearningReport",
    obj(("unit", "total", "units", "trend", "courses"), **_COMMON,
        units=array(obj(("unit", "figures"), unit=_UNIT, figures=FIGURES,
                        new_learners=nullable({**INT, "description": "Studying now less yesterday's snapshot"})))),
)  # fmt: skip
_PERSON = obj(("id", "name", "signed_in", "minutes"), id=INT, name=STR, signed_in=BOOL, seen_at=nullable(DATETIME),
              active_week=BOOL, minutes=INT, hours=NUM, score=NUM)  # fmt: skip
schema(
    "SchoolLearningReport",
    obj(("unit", "total", "trend", "courses", "people"), **_COMMON, people=page_schema(_PERSON)),
)


def _unit(u) -> dict:
    return {"id": u.id, "name": u.name, "kind": services.kind_of(u)}


def _common(report: dict) -> dict:
    return {"unit": _unit(report["unit"]), "total": report["total"].as_dict(), "trend": report["trend"],
            "courses": report["courses"]}  # fmt: skip


@route("/regions/<int:region_id>/stats", summary="A region's learning figures, per sub-region or school",
       response="RegionLearningReport", errors=(404,))  # fmt: skip
def region_stats(region_id):
    region = services.unit_of("region", region_id)
    access.require(api_user(), "stats.view", region)
    report = services.region_report(region)
    units = [{"unit": _unit(r["unit"]), "figures": r["figures"].as_dict(), "new_learners": r["new_learners"]}
             for r in report["rows"]]  # fmt: skip
    return jsonify(**_common(report), units=units)


@route("/schools/<int:school_id>/stats", summary="A school's learning figures and its teachers, least studied first",
       params=[query_param("show", {"type": "string", "enum": list(services.PEOPLE_FILTERS)})] + PAGING_PARAMS,
       response="SchoolLearningReport", errors=(404,))  # fmt: skip
def school_stats(school_id):
    school = services.unit_of("school", school_id)
    access.require(api_user(), "stats.view", school)
    which = request.args.get("show") if request.args.get("show") in services.PEOPLE_FILTERS else "all"
    page_no, per_page = paging_args()
    people = services.school_people(school, which, page=page_no, per_page=per_page)
    items = [{**p, "seen_at": p["seen_at"].isoformat() if p["seen_at"] else None} for p in people.items]
    return jsonify(**_common(services.school_report(school)), people=page_body(people, items))
