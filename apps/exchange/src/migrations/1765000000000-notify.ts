import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbound half of the exchange (docs/design/notifications.md): rosters, subscriptions, the
 * destinations they deliver to, the notifications waiting or delivered, every delivery attempt, and
 * the projections the matcher needs (source record → enterprise id, what was last seen of each
 * encounter and item, clinical events waiting for their source record's first link).
 */
export class Notify1765000000000 implements MigrationInterface {
  name = 'Notify1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE notify_rosters (
        id text PRIMARY KEY,
        owner_institution text NOT NULL,
        name text,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE notify_roster_members (
        roster_id text NOT NULL REFERENCES notify_rosters (id) ON DELETE CASCADE,
        system text NOT NULL,
        value text NOT NULL,
        added_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (roster_id, system, value)
      )`);
    await q.query('CREATE INDEX notify_roster_members_identifier ON notify_roster_members (system, value)');

    // hie.mpi.link projection: where each source record resolves now (newest decision wins).
    await q.query(`
      CREATE TABLE notify_links (
        system text NOT NULL,
        value text NOT NULL,
        enterprise_id text,
        state text NOT NULL,
        decided_at timestamptz NOT NULL,
        event_id text NOT NULL,
        PRIMARY KEY (system, value)
      )`);
    await q.query('CREATE INDEX notify_links_enterprise ON notify_links (enterprise_id)');

    // Clinical events whose source record had no link yet: matched when the link arrives.
    await q.query(`
      CREATE TABLE notify_waiting_events (
        seq bigserial,
        event_id text PRIMARY KEY,
        system text NOT NULL,
        value text NOT NULL,
        event_type text NOT NULL,
        payload jsonb NOT NULL,
        event_time timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query('CREATE INDEX notify_waiting_events_source ON notify_waiting_events (system, value)');

    // What was last seen of an encounter (its topic classification compares against it).
    await q.query(`
      CREATE TABLE notify_encounters (
        encounter_key text PRIMARY KEY,
        institution_id text NOT NULL,
        system text NOT NULL,
        value text NOT NULL,
        status text NOT NULL,
        class_code text NOT NULL,
        location_key text,
        opened_at timestamptz,
        closed_at timestamptz,
        closed_by_rule boolean NOT NULL DEFAULT false,
        resource jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      'CREATE INDEX notify_encounters_open ON notify_encounters (opened_at) WHERE closed_at IS NULL AND opened_at IS NOT NULL',
    );
    // Documents and results already announced: "new" means first seen.
    await q.query(`
      CREATE TABLE notify_seen_items (
        item_key text PRIMARY KEY,
        seen_at timestamptz NOT NULL DEFAULT now()
      )`);

    // One queue per (subscriber institution, channel endpoint): ordering, concurrency and the circuit
    // breaker belong to the endpoint, so two subscriptions to one endpoint stay in order per patient.
    await q.query(`
      CREATE TABLE notify_destinations (
        id text PRIMARY KEY,
        owner_institution text NOT NULL,
        channel_type text NOT NULL CHECK (channel_type IN ('rest-hook', 'hl7v2-mllp')),
        endpoint text NOT NULL,
        breaker jsonb NOT NULL,
        lease_owner text,
        lease_until timestamptz,
        UNIQUE (owner_institution, channel_type, endpoint)
      )`);
    await q.query(`
      CREATE TABLE notify_subscriptions (
        id text PRIMARY KEY,
        owner_institution text NOT NULL,
        client_id text NOT NULL,
        purpose_of_use text NOT NULL,
        topic text NOT NULL,
        roster_kind text NOT NULL CHECK (roster_kind IN ('group', 'implicit')),
        roster_id text REFERENCES notify_rosters (id),
        classes text[] NOT NULL DEFAULT '{}',
        institutions text[] NOT NULL DEFAULT '{}',
        destination_id text NOT NULL REFERENCES notify_destinations (id),
        payload text NOT NULL,
        request jsonb NOT NULL,
        channel_headers jsonb NOT NULL DEFAULT '[]',
        secrets jsonb NOT NULL,
        heartbeat_seconds integer,
        end_at timestamptz,
        status text NOT NULL CHECK (status IN ('requested', 'active', 'error', 'off')),
        error text,
        events_since_start bigint NOT NULL DEFAULT 0,
        version integer NOT NULL DEFAULT 1,
        last_sent_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (roster_kind <> 'group' OR roster_id IS NOT NULL)
      )`);
    await q.query(
      "CREATE INDEX notify_subscriptions_topic ON notify_subscriptions (topic) WHERE status <> 'off'",
    );

    await q.query(`
      CREATE TABLE notify_notifications (
        seq bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        subscription_id text NOT NULL REFERENCES notify_subscriptions (id),
        destination_id text NOT NULL REFERENCES notify_destinations (id),
        kind text NOT NULL CHECK (kind IN ('handshake', 'heartbeat', 'event-notification')),
        event_number bigint,
        enterprise_id text,
        order_key text NOT NULL,
        topic text,
        focus_type text,
        focus_id text,
        trigger text,
        source_institution text,
        source_event_ids text[] NOT NULL DEFAULT '{}',
        snapshot jsonb,
        labels jsonb NOT NULL DEFAULT '[]',
        closed_by_rule boolean NOT NULL DEFAULT false,
        status text NOT NULL CHECK (status IN ('pending', 'delivered', 'parked', 'suppressed')),
        status_reason text,
        attempts integer NOT NULL DEFAULT 0,
        not_before timestamptz NOT NULL DEFAULT now(),
        coalesce_until timestamptz,
        last_error text,
        audited boolean NOT NULL DEFAULT false,
        event_time timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz,
        UNIQUE (subscription_id, event_number)
      )`);
    await q.query(
      "CREATE INDEX notify_notifications_queue ON notify_notifications (destination_id, order_key, seq) WHERE status = 'pending'",
    );
    await q.query(
      'CREATE INDEX notify_notifications_subscription ON notify_notifications (subscription_id, event_number)',
    );
    await q.query(
      "CREATE INDEX notify_notifications_coalesce ON notify_notifications (subscription_id, focus_type, focus_id) WHERE status = 'pending' AND coalesce_until IS NOT NULL",
    );
    await q.query(`
      CREATE TABLE notify_delivery_attempts (
        notification_id text NOT NULL,
        attempt integer NOT NULL,
        subscription_id text NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        outcome text NOT NULL,
        http_status integer,
        error text,
        latency_ms integer,
        PRIMARY KEY (notification_id, attempt)
      )`);
    await q.query(
      'CREATE INDEX notify_delivery_attempts_subscription ON notify_delivery_attempts (subscription_id, at DESC)',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'notify_delivery_attempts',
      'notify_notifications',
      'notify_subscriptions',
      'notify_destinations',
      'notify_seen_items',
      'notify_encounters',
      'notify_waiting_events',
      'notify_links',
      'notify_roster_members',
      'notify_rosters',
    ])
      await q.query(`DROP TABLE IF EXISTS ${table}`);
  }
}
