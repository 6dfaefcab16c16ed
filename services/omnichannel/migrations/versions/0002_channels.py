"""Contacts read model, conversations, messages on every channel, agents, notifications, campaigns.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('agents',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('last_assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_agents')),
    schema='omnichannel'
    )
    op.create_table('campaigns',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('template', sa.String(length=50), nullable=False),
    sa.Column('segment', sa.String(length=50), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=True),
    sa.Column('variables', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('rate_per_minute', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_batch_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    schema='omnichannel'
    )
    op.create_table('console_deliveries',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('to_address', sa.String(length=320), nullable=False),
    sa.Column('from_address', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('provider_message_id', sa.String(length=100), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_deliveries')),
    schema='omnichannel'
    )
    op.create_table('contacts',
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=True),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('company_name', sa.String(length=200), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('mobile', sa.String(length=20), nullable=True),
    sa.Column('preferred_channel', sa.String(length=20), nullable=True),
    sa.Column('preferred_language', sa.String(length=5), nullable=False),
    sa.Column('segment', sa.String(length=50), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_contacts')),
    schema='omnichannel'
    )
    op.create_index(op.f('ix_omnichannel_contacts_email'), 'contacts', ['email'], unique=False, schema='omnichannel')
    op.create_index(op.f('ix_omnichannel_contacts_mobile'), 'contacts', ['mobile'], unique=False, schema='omnichannel')
    op.create_index(op.f('ix_omnichannel_contacts_phone'), 'contacts', ['phone'], unique=False, schema='omnichannel')
    op.create_index(op.f('ix_omnichannel_contacts_segment'), 'contacts', ['segment'], unique=False, schema='omnichannel')
    op.create_index(op.f('ix_omnichannel_contacts_user_id'), 'contacts', ['user_id'], unique=False, schema='omnichannel')
    op.create_table('conversations',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('customer_user_id', sa.UUID(), nullable=True),
    sa.Column('display_name', sa.String(length=200), nullable=True),
    sa.Column('subject', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('assignee_id', sa.UUID(), nullable=True),
    sa.Column('snoozed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('labels', postgresql.ARRAY(sa.String(length=50)), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('last_message_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_message_preview', sa.String(length=200), nullable=True),
    sa.Column('last_inbound_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations')),
    sa.UniqueConstraint('channel', 'address', name='uq_conversations_channel_address'),
    schema='omnichannel'
    )
    op.create_index('ix_conversations_inbox', 'conversations', ['status', 'last_message_at'], unique=False, schema='omnichannel')
    op.create_index('ix_conversations_queue', 'conversations', ['created_at'], unique=False, schema='omnichannel', postgresql_where=sa.text("assignee_id IS NULL AND status IN ('open', 'pending')"))
    op.create_index(op.f('ix_omnichannel_conversations_assignee_id'), 'conversations', ['assignee_id'], unique=False, schema='omnichannel')
    op.create_index(op.f('ix_omnichannel_conversations_customer_id'), 'conversations', ['customer_id'], unique=False, schema='omnichannel')
    op.create_index(op.f('ix_omnichannel_conversations_customer_user_id'), 'conversations', ['customer_user_id'], unique=False, schema='omnichannel')
    op.create_table('notification_preferences',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('in_app', sa.Boolean(), nullable=False),
    sa.Column('email', sa.Boolean(), nullable=False),
    sa.Column('sms', sa.Boolean(), nullable=False),
    sa.Column('whatsapp', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_notification_preferences')),
    schema='omnichannel'
    )
    op.create_table('notifications',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.String(length=1000), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('source_event_id', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('source_event_id', name=op.f('uq_notifications_source_event_id')),
    schema='omnichannel'
    )
    op.create_index('ix_notifications_unread', 'notifications', ['user_id'], unique=False, schema='omnichannel', postgresql_where=sa.text('read_at IS NULL'))
    op.create_index('ix_notifications_user_created', 'notifications', ['user_id', 'created_at'], unique=False, schema='omnichannel')
    op.create_table('opt_outs',
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('opted_out', sa.Boolean(), nullable=False),
    sa.Column('keyword', sa.String(length=50), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'address', name=op.f('pk_opt_outs')),
    schema='omnichannel'
    )
    op.create_table('platform_users',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_platform_users')),
    schema='omnichannel'
    )
    op.create_index('ix_platform_users_email', 'platform_users', ['email'], unique=False, schema='omnichannel')
    op.create_table('provider_events',
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('event_id', sa.String(length=200), nullable=False),
    sa.Column('message_id', sa.UUID(), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('provider', 'event_id', name=op.f('pk_provider_events')),
    schema='omnichannel'
    )
    op.create_table('rate_counters',
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'window_start', name=op.f('pk_rate_counters')),
    schema='omnichannel'
    )
    op.create_table('renewal_confirmations',
    sa.Column('reminder_message_id', sa.UUID(), nullable=False),
    sa.Column('policy_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('reply_message_id', sa.UUID(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('reminder_message_id', name=op.f('pk_renewal_confirmations')),
    schema='omnichannel'
    )
    op.create_index(op.f('ix_omnichannel_renewal_confirmations_policy_id'), 'renewal_confirmations', ['policy_id'], unique=False, schema='omnichannel')
    op.create_table('campaign_recipients',
    sa.Column('campaign_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('message_id', sa.UUID(), nullable=True),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['omnichannel.campaigns.id'], name=op.f('fk_campaign_recipients_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'customer_id', name=op.f('pk_campaign_recipients')),
    schema='omnichannel'
    )
    op.create_index('ix_campaign_recipients_status', 'campaign_recipients', ['campaign_id', 'status'], unique=False, schema='omnichannel')
    op.create_table('conversation_notes',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('conversation_id', sa.UUID(), nullable=False),
    sa.Column('author_id', sa.UUID(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['omnichannel.conversations.id'], name=op.f('fk_conversation_notes_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_notes')),
    schema='omnichannel'
    )
    op.create_index(op.f('ix_omnichannel_conversation_notes_conversation_id'), 'conversation_notes', ['conversation_id'], unique=False, schema='omnichannel')
    op.create_table('messages',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('conversation_id', sa.UUID(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('sender_type', sa.String(length=10), nullable=False),
    sa.Column('sender_id', sa.UUID(), nullable=True),
    sa.Column('from_address', sa.String(length=320), nullable=False),
    sa.Column('to_address', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=True),
    sa.Column('media', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('template', sa.String(length=50), nullable=True),
    sa.Column('language', sa.String(length=5), nullable=True),
    sa.Column('context', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=True),
    sa.Column('provider_message_id', sa.String(length=100), nullable=True),
    sa.Column('email_message_id', sa.String(length=255), nullable=True),
    sa.Column('in_reply_to', sa.String(length=255), nullable=True),
    sa.Column('client_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error_code', sa.String(length=20), nullable=True),
    sa.Column('error_message', sa.String(length=500), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('campaign_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status_updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['omnichannel.conversations.id'], name=op.f('fk_messages_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('conversation_id', 'seq', name='uq_messages_conversation_seq'),
    schema='omnichannel'
    )
    op.create_index('ix_messages_campaign', 'messages', ['campaign_id'], unique=False, schema='omnichannel', postgresql_where=sa.text('campaign_id IS NOT NULL'))
    op.create_index('ix_messages_dispatch', 'messages', ['next_attempt_at'], unique=False, schema='omnichannel', postgresql_where=sa.text("status = 'queued'"))
    op.create_index('ix_messages_email_message_id', 'messages', ['email_message_id'], unique=False, schema='omnichannel')
    op.create_index('uq_messages_client_id', 'messages', ['conversation_id', 'client_id'], unique=True, schema='omnichannel', postgresql_where=sa.text('client_id IS NOT NULL'))
    op.create_index('uq_messages_provider_id', 'messages', ['provider', 'provider_message_id'], unique=True, schema='omnichannel', postgresql_where=sa.text('provider_message_id IS NOT NULL'))
    op.create_table('attachments',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('message_id', sa.UUID(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['omnichannel.messages.id'], name=op.f('fk_attachments_message_id_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    schema='omnichannel'
    )
    op.create_index(op.f('ix_omnichannel_attachments_message_id'), 'attachments', ['message_id'], unique=False, schema='omnichannel')


def downgrade() -> None:
    op.drop_index(op.f('ix_omnichannel_attachments_message_id'), table_name='attachments', schema='omnichannel')
    op.drop_table('attachments', schema='omnichannel')
    op.drop_index('uq_messages_provider_id', table_name='messages', schema='omnichannel', postgresql_where=sa.text('provider_message_id IS NOT NULL'))
    op.drop_index('uq_messages_client_id', table_name='messages', schema='omnichannel', postgresql_where=sa.text('client_id IS NOT NULL'))
    op.drop_index('ix_messages_email_message_id', table_name='messages', schema='omnichannel')
    op.drop_index('ix_messages_dispatch', table_name='messages', schema='omnichannel', postgresql_where=sa.text("status = 'queued'"))
    op.drop_index('ix_messages_campaign', table_name='messages', schema='omnichannel', postgresql_where=sa.text('campaign_id IS NOT NULL'))
    op.drop_table('messages', schema='omnichannel')
    op.drop_index(op.f('ix_omnichannel_conversation_notes_conversation_id'), table_name='conversation_notes', schema='omnichannel')
    op.drop_table('conversation_notes', schema='omnichannel')
    op.drop_index('ix_campaign_recipients_status', table_name='campaign_recipients', schema='omnichannel')
    op.drop_table('campaign_recipients', schema='omnichannel')
    op.drop_index(op.f('ix_omnichannel_renewal_confirmations_policy_id'), table_name='renewal_confirmations', schema='omnichannel')
    op.drop_table('renewal_confirmations', schema='omnichannel')
    op.drop_table('rate_counters', schema='omnichannel')
    op.drop_table('provider_events', schema='omnichannel')
    op.drop_index('ix_platform_users_email', table_name='platform_users', schema='omnichannel')
    op.drop_table('platform_users', schema='omnichannel')
    op.drop_table('opt_outs', schema='omnichannel')
    op.drop_index('ix_notifications_user_created', table_name='notifications', schema='omnichannel')
    op.drop_index('ix_notifications_unread', table_name='notifications', schema='omnichannel', postgresql_where=sa.text('read_at IS NULL'))
    op.drop_table('notifications', schema='omnichannel')
    op.drop_table('notification_preferences', schema='omnichannel')
    op.drop_index(op.f('ix_omnichannel_conversations_customer_user_id'), table_name='conversations', schema='omnichannel')
    op.drop_index(op.f('ix_omnichannel_conversations_customer_id'), table_name='conversations', schema='omnichannel')
    op.drop_index(op.f('ix_omnichannel_conversations_assignee_id'), table_name='conversations', schema='omnichannel')
    op.drop_index('ix_conversations_queue', table_name='conversations', schema='omnichannel', postgresql_where=sa.text("assignee_id IS NULL AND status IN ('open', 'pending')"))
    op.drop_index('ix_conversations_inbox', table_name='conversations', schema='omnichannel')
    op.drop_table('conversations', schema='omnichannel')
    op.drop_index(op.f('ix_omnichannel_contacts_user_id'), table_name='contacts', schema='omnichannel')
    op.drop_index(op.f('ix_omnichannel_contacts_segment'), table_name='contacts', schema='omnichannel')
    op.drop_index(op.f('ix_omnichannel_contacts_phone'), table_name='contacts', schema='omnichannel')
    op.drop_index(op.f('ix_omnichannel_contacts_mobile'), table_name='contacts', schema='omnichannel')
    op.drop_index(op.f('ix_omnichannel_contacts_email'), table_name='contacts', schema='omnichannel')
    op.drop_table('contacts', schema='omnichannel')
    op.drop_table('console_deliveries', schema='omnichannel')
    op.drop_table('campaigns', schema='omnichannel')
    op.drop_table('agents', schema='omnichannel')
