import { Body, Controller, ForbiddenException, Get, Module, Post } from '@nestjs/common';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsOptional, IsString, MaxLength, MinLength, ValidateNested } from 'class-validator';
import { ApiProperty } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { ApiEnvelope, ApiErrors } from '../../src/common/openapi/api-envelope.decorators';
import { Public } from '../../src/common/auth/auth.decorators';
import { RequestContextStore } from '../../src/common/context/request-context';
import { ApiResult } from '../../src/common/http/api-result';

class ProbeHelloDto {
  @ApiProperty()
  hello: string;
}

class ProbeNumberDto {
  @ApiProperty()
  n: number;
}

class ProbeItemDto {
  @IsString()
  @MinLength(1)
  @MaxLength(10)
  action: string;

  @IsOptional()
  @IsString()
  note?: string;
}

class ProbeBatchDto {
  @IsArray()
  @ArrayMaxSize(5)
  @ValidateNested({ each: true })
  @Type(() => ProbeItemDto)
  items: ProbeItemDto[];
}

/** Routes that exercise the global pipe, interceptor and filter, mounted only in tests. */
@Public()
@Controller('probe')
class ProbeController {
  constructor(private readonly dataSource: DataSource) {}

  @Get('plain')
  @ApiEnvelope(ProbeHelloDto)
  plain() {
    return { hello: 'world' };
  }

  @Get('list')
  @ApiEnvelope(ProbeNumberDto, { paginated: true })
  list() {
    return ApiResult.page([{ n: 1 }, { n: 2 }], {
      totalItems: 2,
      itemCount: 2,
      itemsPerPage: 20,
      totalPages: 1,
      currentPage: 1,
      nextCursor: null,
    });
  }

  @Post('batch')
  @ApiErrors(400, 413, 415)
  batch(@Body() dto: ProbeBatchDto) {
    return ApiResult.of(dto.items, 'created');
  }

  @Get('boom')
  boom() {
    throw new Error('secret internal detail: SELECT password_hash FROM users');
  }

  @Get('forbidden')
  forbidden() {
    throw new ForbiddenException();
  }

  @Get('unique-violation')
  async uniqueViolation() {
    await this.dataSource.transaction(async (manager) => {
      await manager.query('CREATE TEMP TABLE probe_unique (id int PRIMARY KEY) ON COMMIT DROP');
      await manager.query('INSERT INTO probe_unique VALUES (1), (1)');
    });
  }

  @Get('context')
  async context() {
    await this.dataSource.query('SELECT pg_sleep(0.01)');
    return RequestContextStore.current() ?? null;
  }
}

@Module({ controllers: [ProbeController] })
export class ProbeModule {}
