"""Schema changes that Django's migration operations would make too expensive on big tables."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def field_index_dropped(
    app_label: str, alter: migrations.AlterField
) -> migrations.SeparateDatabaseAndState:
    """`alter`, a field turned to `db_index=False`, applied as one DROP INDEX.

    A column that leads another index or unique constraint needs no index of its own: that
    index serves its lookups, joins and (for a foreign key) cascades, and every write would
    otherwise update both. Django alters a field on SQLite by copying the whole table, hours
    for the events of a large shop; dropping the index by its Django-given name is all that
    changes.
    """

    def model_field(apps: Any) -> tuple[Any, Any]:
        model = apps.get_model(app_label, alter.model_name)
        return model, model._meta.get_field(alter.name)

    def forward(apps: Any, schema_editor: Any) -> None:
        model, field = model_field(apps)
        name = schema_editor._create_index_name(model._meta.db_table, [field.column])
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")

    def backward(apps: Any, schema_editor: Any) -> None:
        model, field = model_field(apps)
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))

    return migrations.SeparateDatabaseAndState(
        state_operations=[alter],
        database_operations=[migrations.RunPython(forward, backward, elidable=False)],
    )
