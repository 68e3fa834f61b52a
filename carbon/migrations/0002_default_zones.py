from django.db import migrations

from carbon.zones import DEFAULT_ZONES


def load_zones(apps, schema_editor):
    Zone = apps.get_model("carbon", "Zone")
    for zone in DEFAULT_ZONES:
        fields = dict(zone)
        code = fields.pop("code")
        fields["description"] = f"{fields['name']} grid, {fields['region']}"
        Zone.objects.get_or_create(code=code, defaults=fields)


def unload_zones(apps, schema_editor):
    Zone = apps.get_model("carbon", "Zone")
    Zone.objects.filter(code__in=[z["code"] for z in DEFAULT_ZONES]).delete()


class Migration(migrations.Migration):
    dependencies = [("carbon", "0001_initial")]
    operations = [migrations.RunPython(load_zones, unload_zones)]
