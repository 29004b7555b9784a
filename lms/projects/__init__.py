"""Training projects 培训项目 (DOMAIN.md §3): projects run by a region, their own access context,
enrolment (调训) of the region's teachers, and the courses a project makes required."""
