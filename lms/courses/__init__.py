"""Courses 课程超市: catalogue, lessons, instant quizzes, required/elective assignment, selection."""


def init_app(app) -> None:
    # Playback, watch-time and progress (lms/courses/watch*.py): blueprint, template helpers, panels.
    from lms.courses import watch_views

    watch_views.init_app(app)
