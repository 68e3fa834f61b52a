from django.db import migrations

from carbon.zones import DEFAULT_ZONES, load_default_zones


def load_zones(apps, schema_editor):
    load_default_zones(apps.get_model("carbon", "Zone"))


def unload_zones(apps, schema_editor):
    Zone = apps.get_model("carbon", "Zone")
    Zone.objects.filter(code__in=[z["code"] for z in DEFAULT_ZONES]).delete()


class Migration(migrations.Migration):
    dependencies = [("carbon", "0001_initial")]
    operations = [migrations.RunPython(load_zones, unload_zones)]
