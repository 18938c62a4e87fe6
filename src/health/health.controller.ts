import { Controller, Get, HttpStatus, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { AppCache } from '../cache/app-cache.service';
import { Public } from '../common/auth/auth.decorators';
import { HealthCheckDto } from './health.dto';

@ApiTags('Health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly cache: AppCache,
  ) {}

  @Get()
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({
    operationId: 'Health_check',
    summary: 'Whether the database and the cache answer',
    description: '200 when both answer, 503 otherwise, with the state of each. Not enveloped; needs no token.',
    security: [],
  })
  @ApiResponse({ status: 200, type: HealthCheckDto, description: 'The database and the cache answer' })
  @ApiResponse({ status: 503, type: HealthCheckDto, description: 'The database or the cache does not answer' })
  async check(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => this.database.pingCheck('database', { timeout: 1500 }),
        () => this.checkCache(),
      ]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      void reply.status(HttpStatus.SERVICE_UNAVAILABLE);
      return error.getResponse() as HealthCheckResult;
    }
  }

  private async checkCache() {
    const indicator = this.indicators.check('cache');
    const details = { store: this.cache.backend };
    return (await this.cache.isUp()) ? indicator.up(details) : indicator.down(details);
  }
}
