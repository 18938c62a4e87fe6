import { Injectable } from '@nestjs/common';
import { sql } from '../../../database/sql';
import { Tx } from '../../../database/transactions';
import { NEW_EVENT_ID } from '../webhook-event.entity';
import type { WebhookEventType } from '../webhook-events';

/**
 * Whether some enabled endpoint asks for `type` (or for everything), as SQL: an event is written only then, in the
 * statement or transaction of its change, so a deployment without webhooks writes nothing more.
 */
export const subscribed = (type: WebhookEventType) =>
  `EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.enabled AND w.deleted_at IS NULL AND w.events && ARRAY['${type}', '*']::varchar[])`;

/**
 * A CTE member that writes one event of `type` per row of the CTE `source` (which has `id`, `created_at` and, for an
 * activity, `status`): for statements that write their records and their events at once.
 */
export function outboxCte(type: 'activity.created' | 'audit.created', source: string): string {
  const status = type === 'activity.created' ? 'status' : 'NULL';
  return `INSERT INTO webhook_events (event_id, type, record_id, status, created_at)
    SELECT ${NEW_EVENT_ID}, '${type}', id, ${status}, created_at FROM ${source} WHERE ${subscribed(type)}`;
}

/** The outbox, for changes made by services: an event written in the caller's transaction. */
@Injectable()
export class WebhookOutbox {
  /**
   * Writes the event while some enabled endpoint asks for its type; `endpointId`: for that endpoint only, while it
   * is enabled. Answers its id (`evt_...`), or null when nobody asked for it.
   */
  async add(
    tx: Tx,
    type: WebhookEventType,
    event: { recordId?: number; data?: Record<string, unknown>; endpointId?: number },
  ): Promise<string | null> {
    const condition =
      event.endpointId === undefined
        ? subscribed(type)
        : 'EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.id = $4 AND w.enabled AND w.deleted_at IS NULL)';
    const rows = await sql<{ event_id: string }>(
      tx,
      `INSERT INTO webhook_events (event_id, type, record_id, data, endpoint_id)
       SELECT ${NEW_EVENT_ID}, $1, $2, $3, $4 WHERE ${condition}
       RETURNING event_id`,
      [
        type,
        event.recordId ?? null,
        event.data === undefined ? null : JSON.stringify(event.data),
        event.endpointId ?? null,
      ],
    );
    if (!rows.length) return null;
    tx.touch('webhookEventAdded', type);
    return rows[0].event_id;
  }
}
