from typing import Any

from django.db import migrations

# Ingestion updates customers' first/last seen times with every batch. With no index on
# them and free space left in each page, PostgreSQL makes those updates HOT: the new row
# version stays on its page and none of the table's other indexes gets a new entry. A
# packed page (the default fillfactor of 100, as a bulk load leaves it) has no room, so
# every update would write all of them. At 90% full, one ingestion update in ten still
# found no room (bench/ingest.py: 88-90% HOT); at 70%, 96.5%, for 14% more events a second.
CUSTOMER_FILLFACTOR = 70


def fillfactor_set(value: int) -> Any:
    def operation(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE customers_customer SET (fillfactor = {value})")

    return operation


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_foreign_key_indexes"),
    ]

    operations = [
        # No query reads customers by last seen: the list sorts and filters by order figures.
        migrations.RemoveIndex(
            model_name="customer",
            name="customers_customer_last_seen",
        ),
        migrations.RunPython(
            fillfactor_set(CUSTOMER_FILLFACTOR), fillfactor_set(100), elidable=False
        ),
    ]
