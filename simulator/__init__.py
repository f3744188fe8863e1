"""A local stand-in for the ACE IoT FlightDeck timeseries API, with deterministic building data."""
