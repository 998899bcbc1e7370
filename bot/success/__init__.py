"""Success plans, the Define / Deliver / Demonstrate loop: plans read over the database (``plans``), how a
plan and its outcomes read (``plan_text``), the owner's "achieved" summary sent once per outcome
(``demonstrate``), and time to value against the segment's median (``ttv``).
"""
