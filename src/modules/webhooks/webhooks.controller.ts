import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../../common/auth/auth.decorators';
import { ApiResult } from '../../common/http/api-result';
import { IdParamPipe } from '../../common/http/id-param.pipe';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorators';
import { PageQueryDto } from '../../common/pagination/page-query.dto';
import {
  CreatedWebhookDto,
  CreateWebhookDto,
  DeliveryQueryDto,
  DeliveryResponseDto,
  ReplayQueuedDto,
  ReplayWebhookDto,
  TestEventDto,
  UpdateWebhookDto,
  WebhookResponseDto,
  WebhookSecretDto,
} from './dto/webhook.dto';
import { WebhooksService } from './webhooks.service';

/** An ADMIN's, signed in with a token: no API key manages webhooks. */
@ApiTags('Webhooks')
@Roles('ADMIN')
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @ApiOperation({
    summary: 'Create a webhook endpoint',
    description:
      'Events are POSTed to `url`, signed per Standard Webhooks with `secret`, which is in this answer only. A loopback, private or link-local address is refused unless the server allows them.',
  })
  @ApiEnvelope(CreatedWebhookDto, { status: 201 })
  @ApiErrors(400, 401, 403)
  async create(@Body() dto: CreateWebhookDto) {
    return ApiResult.of(await this.webhooks.create(dto), 'webhookCreated');
  }

  @Get()
  @ApiOperation({ summary: 'List webhook endpoints', description: 'Every endpoint, without its secret.' })
  @ApiEnvelope(WebhookResponseDto, { paginated: true })
  @ApiErrors(400, 401, 403)
  async list(@Query() query: PageQueryDto) {
    return ApiResult.page(await this.webhooks.list(query));
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a webhook endpoint', description: 'Without its secret.' })
  @ApiEnvelope(WebhookResponseDto)
  @ApiErrors(400, 401, 403, 404)
  get(@Param('id', IdParamPipe) id: number) {
    return this.webhooks.get(id);
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Change a webhook endpoint',
    description:
      'Its `url`, `events`, `description`, or `enabled`. Enabling it again starts its count of failures anew.',
  })
  @ApiEnvelope(WebhookResponseDto)
  @ApiErrors(400, 401, 403, 404)
  update(@Param('id', IdParamPipe) id: number, @Body() dto: UpdateWebhookDto) {
    return this.webhooks.update(id, dto);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete a webhook endpoint', description: 'Nothing more is sent to it.' })
  @ApiEnvelope(WebhookResponseDto)
  @ApiErrors(400, 401, 403, 404)
  async remove(@Param('id', IdParamPipe) id: number) {
    return ApiResult.of(await this.webhooks.remove(id), 'webhookDeleted');
  }

  @Post(':id/rotate-secret')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Rotate a webhook endpoint’s secret',
    description:
      'The new secret is in this answer only. For 24 hours deliveries carry a signature with the old one too.',
  })
  @ApiEnvelope(WebhookSecretDto)
  @ApiErrors(400, 401, 403, 404)
  async rotateSecret(@Param('id', IdParamPipe) id: number) {
    return ApiResult.of(await this.webhooks.rotateSecret(id), 'webhookSecretRotated');
  }

  @Post(':id/test')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Send a test event',
    description: 'Queues a `webhook.test` event for this endpoint only; it is delivered like any other.',
  })
  @ApiEnvelope(TestEventDto, { status: 202 })
  @ApiErrors(400, 401, 403, 404, 409)
  async sendTest(@Param('id', IdParamPipe) id: number) {
    return ApiResult.of(await this.webhooks.sendTest(id), 'webhookTestQueued');
  }

  @Get(':id/deliveries')
  @ApiOperation({
    summary: 'List a webhook endpoint’s delivery attempts',
    description:
      'Every attempt, newest first: `pending` until answered, then `succeeded` or `failed`, with the time of the next attempt.',
  })
  @ApiEnvelope(DeliveryResponseDto, { paginated: true })
  @ApiErrors(400, 401, 403, 404)
  async listDeliveries(@Param('id', IdParamPipe) id: number, @Query() query: DeliveryQueryDto) {
    return ApiResult.page(await this.webhooks.listDeliveries(id, query));
  }

  @Post(':id/replay')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Send events again',
    description:
      'Every event since `since` (at most 10,000) that the endpoint asks for, each with its first id, as a new attempt.',
  })
  @ApiEnvelope(ReplayQueuedDto, { status: 202 })
  @ApiErrors(400, 401, 403, 404, 409)
  async replay(@Param('id', IdParamPipe) id: number, @Body() dto: ReplayWebhookDto) {
    const queued = await this.webhooks.replay(id, dto);
    return ApiResult.of(queued, 'webhookReplayQueued', { events: queued.events });
  }
}
