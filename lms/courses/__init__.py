"""Courses 课程超市: catalogue, lessons, instant quizzes, required/elective assignment, selection."""
