"""Courses 课程超市: catalogue, lessons, instant quizzes, required/elective assignment, selection."""

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    from lms.core.slots import register_nav, register_panel
    from lms.courses import demo, services
    from lms.courses.forms import KIND_LABELS, LESSON_KIND_LABELS
    from lms.search.sources import register_source
    from lms.signals import demo_built, media_job_finished

    register_nav(app, "courses.index", _l("Course supermarket"), order=20)
    register_panel(app, "personal_space", "courses.mine", "courses/_my_courses.html", _my_courses, order=20,
                   column="main")  # fmt: skip
    register_panel(app, "workshop", "courses.offered", "courses/_workshop_courses.html", _workshop_courses, order=25,
                   column="list")  # fmt: skip
    register_source("course", services.search_documents, capability="community.view")  # published: may_view
    media_job_finished.connect(services.on_media_job_finished, weak=False)
    demo_built.connect(demo.on_demo_built, weak=False)
    # Playback, watch-time and progress (lms/courses/watch*.py): blueprint, template helpers, panels.
    from lms.courses import watch_views

    watch_views.init_app(app)
    app.jinja_env.globals.update(
        course_kind_label=lambda k: str(KIND_LABELS.get(k, k or "")),
        lesson_kind_label=lambda k: str(LESSON_KIND_LABELS.get(k, k or "")),
        COURSE_KINDS=KIND_LABELS,
    )


def _my_courses(user=None, **_objects):
    from lms.courses import services

    if user is None:
        return None
    return services.my_courses(user)


def _workshop_courses(user=None, workshop=None, **_objects):
    """The workshop's required and elective courses; hosts (course.assign) also get the way to add one."""
    from lms import access
    from lms.courses import services

    if workshop is None:
        return None
    courses = services.workshop_courses(workshop)
    may_assign = user is not None and access.can(user, "course.assign", workshop)
    if not courses and not may_assign:
        return None
    return {"courses": courses, "may_assign": may_assign}
