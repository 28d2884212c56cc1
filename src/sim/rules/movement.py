"""Advance along roads."""


def advance_speed(speed_km_day, momentum, government_air, air_slowdown):
    """km/day: base speed times momentum, slowed by the government side's air support."""
    return speed_km_day * momentum / (1.0 + air_slowdown * government_air)
