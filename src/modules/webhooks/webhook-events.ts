/** Every event a webhook endpoint can ask for (`events`), or `*` for all. */
export const WEBHOOK_EVENT_TYPES = [
  'activity.created',
  'activity.updated',
  'activity.deleted',
  'activity.restored',
  'audit.created',
  'ledger.checkpoint',
  'webhook.test',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const ALL_EVENTS = '*';
export const WEBHOOK_EVENT_CHOICES = [ALL_EVENTS, ...WEBHOOK_EVENT_TYPES] as const;
export type WebhookEventChoice = (typeof WEBHOOK_EVENT_CHOICES)[number];
