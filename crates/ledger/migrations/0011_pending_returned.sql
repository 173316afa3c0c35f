-- Reservations whose unit came back (voided or expired), for the `returned` figure of
-- `meterai_quota_units` (`Ledger::quota_units`), which every node computes at every scrape.
--
-- It counted them by status, which no index held for those states, so each scrape read every
-- reservation ever made. This index holds only the returned ones, so a scrape reads those.
-- Its cost is one insert per reservation returned; a reservation's update of its status was
-- not a HOT update before either (`pending_due` names the status).
CREATE INDEX pending_returned ON pending_transfers (transfer_id) WHERE status IN ('voided', 'expired');
