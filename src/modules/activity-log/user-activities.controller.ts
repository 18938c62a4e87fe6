import { KeyScope } from '../api-keys/api-key-scopes';
import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../../common/auth/auth-user';
import { CurrentUser } from '../../common/auth/auth.decorators';
import { IdParamPipe } from '../../common/http/id-param.pipe';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorators';
import { listResponse, NO_CACHE_HEADER } from './activity-log.controller';
import { ActivityLogService } from './activity-log.service';
import { ActivityQueryDto } from './dto/activity-query.dto';
import { ActivityResponseDto } from './dto/activity-response.dto';

@ApiTags('Activities')
@Controller('users/:userId/activities')
export class UserActivitiesController {
  constructor(private readonly activities: ActivityLogService) {}

  @Get()
  @KeyScope('activities:read')
  @ApiOperation({
    summary: 'List one user’s activities',
    description: 'The same as GET /activities for one user. Another user’s list for a non-ADMIN: 403.',
  })
  @ApiHeader(NO_CACHE_HEADER)
  @ApiEnvelope(ActivityResponseDto, { paginated: true })
  @ApiErrors(400, 401, 403)
  async list(
    @CurrentUser() caller: AuthUser,
    @Param('userId', IdParamPipe) userId: number,
    @Query() query: ActivityQueryDto,
  ) {
    return listResponse(await this.activities.list(caller, query, userId));
  }
}
