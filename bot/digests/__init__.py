"""What a digest says (the scheduler decides when): the entry point that picks the team or CSM digest
for a subscription (``build``), the two digests (``team``, ``csm``), what they share (``parts``) and the
30-day health chart (``charts``). Nothing here writes to the database or sends anything.
"""
