"""Customer-message sentiment (scored by omnichannel, in ``message.received``) per agent and channel."""
