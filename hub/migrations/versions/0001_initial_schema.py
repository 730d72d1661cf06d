"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 18:22:27.869622
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('areas',
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('parent_path', sa.String(length=200), nullable=True),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['parent_path'], ['areas.path'], ),
    sa.PrimaryKeyConstraint('path')
    )
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_areas_parent_path'), ['parent_path'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('device_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=120), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    with op.batch_alter_table('device_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_events_device_id'), ['device_id'], unique=False)

    op.create_table('hub_seq',
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('plays',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=120), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('bulletin_id', sa.String(length=40), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('emergency', sa.Boolean(), nullable=False),
    sa.Column('exercise', sa.Boolean(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    with op.batch_alter_table('plays', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plays_bulletin_id'), ['bulletin_id'], unique=False)
        batch_op.create_index('ix_plays_device_started', ['device_id', 'started_at'], unique=False)

    op.create_table('published_programmes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_path', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=6), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('area_path', 'kind')
    )
    op.create_table('recall_confirmations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bulletin_id', sa.String(length=40), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('bulletin_id', 'device_id')
    )
    with op.batch_alter_table('recall_confirmations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recall_confirmations_bulletin_id'), ['bulletin_id'], unique=False)  # noqa: E501 - generated

    op.create_table('devices',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=6), nullable=False),
    sa.Column('area_path', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('last_status', sa.JSON(), nullable=True),
    sa.Column('last_seen', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['area_path'], ['areas.path'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_devices_area_path'), ['area_path'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('area_path', sa.String(length=200), nullable=True),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('password_changed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['area_path'], ['areas.path'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('auth_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('auth_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('commands',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('command', sa.String(length=20), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('issued_by', sa.Integer(), nullable=True),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('result_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['issued_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commands_device_id'), ['device_id'], unique=False)

    op.create_table('media',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('mime', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('original_name', sa.String(length=300), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('sha256')
    )
    op.create_table('programme_choices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_path', sa.String(length=200), nullable=False),
    sa.Column('date', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=6), nullable=False),
    sa.Column('order', sa.JSON(), nullable=True),
    sa.Column('selection', sa.JSON(), nullable=True),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['area_path'], ['areas.path'], ),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('area_path', 'date', 'kind')
    )
    op.create_table('bulletins',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('form', sa.String(length=12), nullable=False),
    sa.Column('origin', sa.String(length=10), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('media_sha256', sa.String(length=64), nullable=True),
    sa.Column('subtitles_sha256', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('sensitive', sa.Boolean(), nullable=False),
    sa.Column('kinds', sa.JSON(), nullable=False),
    sa.Column('valid_from', sa.DateTime(), nullable=True),
    sa.Column('valid_until', sa.DateTime(), nullable=True),
    sa.Column('plays_per_day', sa.Integer(), nullable=False),
    sa.Column('repeat', sa.JSON(), nullable=False),
    sa.Column('exercise', sa.Boolean(), nullable=False),
    sa.Column('after_interrupt', sa.String(length=10), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('approved_by', sa.Integer(), nullable=True),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('rejected_reason', sa.Text(), nullable=True),
    sa.Column('recalled_at', sa.DateTime(), nullable=True),
    sa.Column('recall_reason', sa.Text(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['approved_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['media_sha256'], ['media.sha256'], ),
    sa.ForeignKeyConstraint(['reviewed_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['subtitles_sha256'], ['media.sha256'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('bulletins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulletins_priority'), ['priority'], unique=False)
        batch_op.create_index(batch_op.f('ix_bulletins_status'), ['status'], unique=False)

    op.create_table('bulletin_targets',
    sa.Column('bulletin_id', sa.String(length=40), nullable=False),
    sa.Column('area_path', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['area_path'], ['areas.path'], ),
    sa.ForeignKeyConstraint(['bulletin_id'], ['bulletins.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('bulletin_id', 'area_path')
    )
    with op.batch_alter_table('bulletin_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulletin_targets_area_path'), ['area_path'], unique=False)

    op.create_table('bulletin_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bulletin_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['bulletin_id'], ['bulletins.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('bulletin_id', 'version')
    )
    with op.batch_alter_table('bulletin_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulletin_versions_bulletin_id'), ['bulletin_id'], unique=False)

    op.create_table('speech',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bulletin_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('media_sha256', sa.String(length=64), nullable=False),
    sa.Column('engine', sa.String(length=30), nullable=False),
    sa.Column('voice', sa.String(length=60), nullable=False),
    sa.Column('normalized_text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['bulletin_id'], ['bulletins.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['media_sha256'], ['media.sha256'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('speech', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_speech_bulletin_id'), ['bulletin_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('speech', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_speech_bulletin_id'))

    op.drop_table('speech')
    with op.batch_alter_table('bulletin_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulletin_versions_bulletin_id'))

    op.drop_table('bulletin_versions')
    with op.batch_alter_table('bulletin_targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulletin_targets_area_path'))

    op.drop_table('bulletin_targets')
    with op.batch_alter_table('bulletins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulletins_status'))
        batch_op.drop_index(batch_op.f('ix_bulletins_priority'))

    op.drop_table('bulletins')
    op.drop_table('programme_choices')
    op.drop_table('media')
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commands_device_id'))

    op.drop_table('commands')
    with op.batch_alter_table('auth_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_tokens_user_id'))

    op.drop_table('auth_tokens')
    op.drop_table('users')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_devices_area_path'))

    op.drop_table('devices')
    with op.batch_alter_table('recall_confirmations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recall_confirmations_bulletin_id'))

    op.drop_table('recall_confirmations')
    op.drop_table('published_programmes')
    with op.batch_alter_table('plays', schema=None) as batch_op:
        batch_op.drop_index('ix_plays_device_started')
        batch_op.drop_index(batch_op.f('ix_plays_bulletin_id'))

    op.drop_table('plays')
    op.drop_table('hub_seq')
    with op.batch_alter_table('device_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_events_device_id'))

    op.drop_table('device_events')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))
        batch_op.drop_index(batch_op.f('ix_audit_log_action'))

    op.drop_table('audit_log')
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_areas_parent_path'))

    op.drop_table('areas')

