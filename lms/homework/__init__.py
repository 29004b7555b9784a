"""Research homework with peer review (DOMAIN.md §6, §9).

For now only the pure logic core: reviewer allocation (allocation.py) and grade arithmetic
(grading.py). Models, pages and the API build on these.
"""
