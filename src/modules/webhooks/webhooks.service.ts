import { HttpStatus, Injectable } from '@nestjs/common';
import type { Page } from '../../common/http/api-result';
import { AppException } from '../../common/http/app.exception';
import { CursorCodec, cursorScope } from '../../common/pagination/cursor';
import { PageQueryDto } from '../../common/pagination/page-query.dto';
import { pageMeta, pagingFrom } from '../../common/pagination/paging';
import { AppSecrets } from '../../config/secrets';
import { Settings } from '../../config/settings';
import { ConsistentReads } from '../../database/consistent-reads';
import { Transactions } from '../../database/transactions';
import { AuditLogService, changedFields, REDACTED } from '../audit-log/audit-log.service';
import { WebhookOutbox } from './outbox/webhook-outbox';
import { REPLAY_LIMIT, WebhookDeliveryService } from './webhook-delivery.service';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import {
  CreatedWebhookDto,
  CreateWebhookDto,
  DeliveryQueryDto,
  DeliveryResponseDto,
  ReplayQueuedDto,
  ReplayWebhookDto,
  TestEventDto,
  toDeliveryResponse,
  toWebhookResponse,
  UpdateWebhookDto,
  WebhookResponseDto,
  WebhookSecretDto,
} from './dto/webhook.dto';
import type { WebhookEndpoint } from './webhook-endpoint.entity';
import { newWebhookSecret, sealSecret } from './webhook-secrets';
import { targetProblem } from './webhook-targets';
import { EndpointChanges, WebhooksRepository } from './webhooks.repository';

/** After a rotation the old secret also signs deliveries for this long, so receivers can switch without a gap. */
export const PREVIOUS_SECRET_MS = 24 * 3600_000;

/** What an audit entry says of an endpoint: what the list shows, never its secret. */
const audited = (endpoint: WebhookEndpoint) => ({ ...toWebhookResponse(endpoint) });

/** Webhook endpoints: an ADMIN's to make, change, rotate and remove; every change audited without the secret. */
@Injectable()
export class WebhooksService {
  constructor(
    private readonly endpoints: WebhooksRepository,
    private readonly audit: AuditLogService,
    private readonly transactions: Transactions,
    private readonly cursors: CursorCodec,
    private readonly reads: ConsistentReads,
    private readonly settings: Settings,
    private readonly secrets: AppSecrets,
    private readonly outbox: WebhookOutbox,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly delivery: WebhookDeliveryService,
  ) {}

  async create(dto: CreateWebhookDto): Promise<CreatedWebhookDto> {
    await this.checkTarget(dto.url);
    const secret = newWebhookSecret();
    const created = await this.transactions.run(async (tx) => {
      const endpoint = await this.endpoints.insert(tx, {
        url: dto.url,
        events: [...dto.events],
        description: dto.description || null,
        secretSealed: sealSecret(secret, this.secrets.webhookSecretKey),
      });
      await this.audit.record(tx, {
        action: 'CREATE',
        entityType: 'Webhook',
        entityId: endpoint.id,
        newValues: audited(endpoint),
      });
      return endpoint;
    });
    return { ...toWebhookResponse(created), secret };
  }

  async list(query: PageQueryDto): Promise<Page<WebhookResponseDto>> {
    const scope = cursorScope('webhooks', {});
    const paging = pagingFrom(query, this.cursors, scope);
    const { rows, total } = await this.reads.read((db) => this.endpoints.list(paging, db));
    const { items, meta } = pageMeta(rows, paging, total, this.cursors, scope, (endpoint) => ({
      value: null,
      id: endpoint.id,
    }));
    return { items: items.map(toWebhookResponse), meta };
  }

  async get(id: number): Promise<WebhookResponseDto> {
    const endpoint = await this.reads.read((db) => this.endpoints.findById(id, db));
    if (!endpoint) throw notFound(id);
    return toWebhookResponse(endpoint);
  }

  /** The same values again change nothing and write no entry. */
  async update(id: number, dto: UpdateWebhookDto): Promise<WebhookResponseDto> {
    if (dto.url !== undefined) await this.checkTarget(dto.url);
    const endpoint = await this.transactions.run(async (tx) => {
      const current = await this.endpoints.lockById(tx, id);
      if (!current) throw notFound(id);
      const wanted: EndpointChanges = {
        url: dto.url,
        // The same set of events in another order is no change.
        events: dto.events && !sameSet(dto.events, current.events) ? [...dto.events] : undefined,
        description: dto.description === undefined ? undefined : dto.description || null,
        enabled: dto.enabled,
      };
      const changes = changedFields(current, wanted);
      if (!changes) return current;
      const updated = await this.endpoints.update(tx, id, {
        ...(changes.newValues as EndpointChanges),
        // Enabled again by hand: its failures so far no longer count towards disabling it.
        ...(dto.enabled === true && !current.enabled ? { failingSince: null } : {}),
      });
      await this.audit.record(tx, { action: 'UPDATE', entityType: 'Webhook', entityId: id, ...changes });
      return updated;
    });
    return toWebhookResponse(endpoint);
  }

  /** Nothing more is sent to it, retries included. */
  async remove(id: number): Promise<WebhookResponseDto> {
    return this.transactions.run(async (tx) => {
      const current = await this.endpoints.lockById(tx, id);
      if (!current) throw notFound(id);
      await this.endpoints.softDelete(tx, id);
      await this.audit.record(tx, {
        action: 'DELETE',
        entityType: 'Webhook',
        entityId: id,
        oldValues: audited(current),
      });
      return toWebhookResponse(current);
    });
  }

  /** A new secret signs from now on; the old one too, for 24 hours. */
  async rotateSecret(id: number): Promise<WebhookSecretDto> {
    const secret = newWebhookSecret();
    await this.transactions.run(async (tx) => {
      const current = await this.endpoints.lockById(tx, id);
      if (!current) throw notFound(id);
      await this.endpoints.update(tx, id, {
        secretSealed: sealSecret(secret, this.secrets.webhookSecretKey),
        previousSecretSealed: current.secretSealed,
        previousSecretUntil: new Date(Date.now() + PREVIOUS_SECRET_MS),
      });
      await this.audit.record(tx, {
        action: 'UPDATE',
        entityType: 'Webhook',
        entityId: id,
        oldValues: { secret: REDACTED },
        newValues: { secret: REDACTED },
      });
    });
    return { secret };
  }

  /** A `webhook.test` event, for this endpoint only. */
  async sendTest(id: number): Promise<TestEventDto> {
    const eventId = await this.transactions.run(async (tx) => {
      const current = await this.endpoints.lockById(tx, id);
      if (!current) throw notFound(id);
      if (!current.enabled) throw new AppException(HttpStatus.CONFLICT, 'webhookDisabled', { id });
      return this.outbox.add(tx, 'webhook.test', {
        endpointId: id,
        data: { endpointId: id, message: 'A test event from Logbook' },
      });
    });
    return { eventId: eventId! };
  }

  /** Every attempt to deliver to the endpoint, newest first. */
  async listDeliveries(id: number, query: DeliveryQueryDto): Promise<Page<DeliveryResponseDto>> {
    if (!(await this.reads.read((db) => this.endpoints.findById(id, db)))) throw notFound(id);
    const scope = cursorScope('webhook-deliveries', { id, status: query.status ?? null });
    const paging = pagingFrom(query, this.cursors, scope);
    const { rows, total } = await this.reads.read((db) => this.deliveries.list(id, query.status, paging, db));
    const { items, meta } = pageMeta(rows, paging, total, this.cursors, scope, (row) => ({ value: null, id: row.id }));
    return { items: items.map(toDeliveryResponse), meta };
  }

  /** Sends again every event since `since` that the endpoint asks for, each with its first id, as a new attempt. */
  async replay(id: number, dto: ReplayWebhookDto): Promise<ReplayQueuedDto> {
    const endpoint = await this.deliveries.endpoint(id);
    if (!endpoint) throw notFound(id);
    if (!endpoint.enabled) throw new AppException(HttpStatus.CONFLICT, 'webhookDisabled', { id });
    const events = await this.deliveries.eventsSince(endpoint, new Date(dto.since), REPLAY_LIMIT);
    await this.delivery.queueNow(events.map((eventId) => ({ endpointId: id, eventId, attempt: null })));
    return { events: events.length };
  }

  private async checkTarget(url: string): Promise<void> {
    const problem = await targetProblem(new URL(url), this.settings.webhookAllowPrivate);
    if (problem) {
      throw new AppException(HttpStatus.BAD_REQUEST, 'webhookTarget', { problem }, [
        { field: 'url', message: problem },
      ]);
    }
  }
}

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((value) => b.includes(value));

const notFound = (id: number) => new AppException(HttpStatus.NOT_FOUND, 'webhookNotFound', { id });
