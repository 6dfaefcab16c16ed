"""Demo carrier portals on loopback: the development stack's stand-in for Mapfre, AXA and Allianz
(as the console adapters stand in for Twilio and SendGrid), and the tests' fake portals."""
