"""Entity types and actions, kept free of heavy imports so settings and protocol can use them."""

from __future__ import annotations

from typing import Literal

Action = Literal["pseudonymize", "redact", "block"]

# The types the service protects unless a tenant says otherwise: direct identifiers.
DEFAULT_ENTITIES: tuple[str, ...] = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "US_SSN",
    "IBAN_CODE",
    "IP_ADDRESS",
    "STREET_ADDRESS",
    "US_DRIVER_LICENSE",
)
# Types a tenant may add; spaCy's LOCATION/DATE_TIME/NRP/ORGANIZATION are off by default
# because they fire on ordinary policy text (dates, cities, company names) and would strip
# the answer of its facts.
OPTIONAL_ENTITIES: tuple[str, ...] = ("LOCATION", "DATE_TIME", "NRP", "ORGANIZATION")
SUPPORTED_ENTITIES: tuple[str, ...] = DEFAULT_ENTITIES + OPTIONAL_ENTITIES
