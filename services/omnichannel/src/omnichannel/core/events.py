"""omnichannel's transactional outbox (events are rows of the business transaction)."""

from __future__ import annotations

from omnichannel.core.runtime import OUTBOX

__all__ = ["CAMPAIGNS_CHANNEL", "DISPATCH_CHANNEL", "OUTBOX", "SLACK_CHANNEL"]

# Woken by a NOTIFY on commit, the dispatcher sends queued messages without polling.
DISPATCH_CHANNEL = "omnichannel_dispatch"
# The Slack poster, woken by the commit that queues a staff alert.
SLACK_CHANNEL = "omnichannel_slack"
# The campaign pacer (a scheduled job's ``wake_on``), woken by a campaign started or resumed.
CAMPAIGNS_CHANNEL = "omnichannel_campaigns"
