# The companion's tables (PROTOCOL.md): the outbox, received event ids, revoked sessions, cut-offs,
# and (SQLite only) the high-water mark of Django's own user ids.

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
    ]

    operations = [
        migrations.CreateModel(
            name='IdSequence',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('table', models.CharField(max_length=255, unique=True)),
                ('last_id', models.BigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name='ReceivedEvent',
            fields=[
                ('event_id', models.CharField(max_length=32, primary_key=True, serialize=False)),
                ('type', models.CharField(max_length=64)),
                ('received_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
            ],
        ),
        migrations.CreateModel(
            name='RevokedSession',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sid', models.CharField(max_length=255, unique=True)),
                ('user_id', models.BigIntegerField(db_index=True)),
                ('at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.CreateModel(
            name='SessionCutoff',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('user_id', models.BigIntegerField(unique=True)),
                ('before', models.DateTimeField()),
                ('except_sid', models.CharField(blank=True, max_length=255, null=True)),
            ],
        ),
        migrations.CreateModel(
            name='OutboxEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('event_id', models.CharField(max_length=32, unique=True)),
                ('type', models.CharField(max_length=64)),
                ('payload', models.JSONField(help_text="The event's `data`.")),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('next_attempt_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('delivered_at', models.DateTimeField(blank=True, null=True)),
                ('last_error', models.TextField(blank=True, default='')),
                ('failed', models.BooleanField(default=False, help_text='Refused by the worker for good (4xx): not retried.')),
            ],
            options={
                'ordering': ['created_at', 'id'],
                'indexes': [models.Index(fields=['delivered_at', 'failed', 'created_at'], name='edge_auth_outbox_pending')],
            },
        ),
    ]
