"""factory-boy factories for the carbon models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factory

from carbon.models import CarbonReading, FetchAttempt, Zone


class ZoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Zone
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"T{n}")
    name = factory.LazyAttribute(lambda z: f"Test zone {z.code}")
    region = "Testland"
    typical_intensity = 300.0
    timezone = "UTC"
    provider_codes = factory.LazyFunction(dict)
    providers = ""
    active = True


class CarbonReadingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CarbonReading

    zone = factory.SubFactory(ZoneFactory)
    start = factory.Sequence(lambda n: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=15 * n))
    end = factory.LazyAttribute(lambda r: r.start + timedelta(minutes=15))
    value = 300.0
    signal = CarbonReading.Signal.AVERAGE
    kind = CarbonReading.Kind.ACTUAL
    issued_at = None
    source = "simulated"


class FetchAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FetchAttempt

    zone = factory.SubFactory(ZoneFactory)
    provider = "simulated"
    what = FetchAttempt.What.CURRENT
    ok = True
    readings = 1
