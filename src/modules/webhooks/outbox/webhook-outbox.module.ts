import { Module } from '@nestjs/common';
import { WebhookOutbox } from './webhook-outbox';

/** The outbox writer, for the modules whose changes are events (activities, the ledger, webhooks). */
@Module({ providers: [WebhookOutbox], exports: [WebhookOutbox] })
export class WebhookOutboxModule {}
