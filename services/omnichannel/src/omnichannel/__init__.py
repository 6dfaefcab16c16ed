"""omnichannel: WhatsApp, SMS, e-mail, chat."""
