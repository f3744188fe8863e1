"""Tests of the FlightDeck simulator."""
