"""What every CRM connector does the same way, whichever CRM it reads: ``records`` (a record as an
account record, through the accounts validators), ``accounts`` (writing a page of them with links and
the cursor), ``base`` (what every sync holds), ``renewals`` (renewal dates and outcomes), ``writeback``
(health back to the CRM) and ``batch`` (what a batch update answers)."""
