import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ComponentHealthDto {
  @ApiProperty({ enum: ['up', 'down'] })
  status: 'up' | 'down';

  /** For the cache: `redis` or `memory`. */
  @ApiPropertyOptional({ enum: ['redis', 'memory'] })
  store?: string;

  @ApiPropertyOptional()
  message?: string;
}

export class HealthComponentsDto {
  @ApiPropertyOptional({ type: ComponentHealthDto })
  database?: ComponentHealthDto;

  @ApiPropertyOptional({ type: ComponentHealthDto })
  cache?: ComponentHealthDto;
}

export class HealthCheckDto {
  @ApiProperty({ enum: ['ok', 'error'] })
  status: 'ok' | 'error';

  /** The components that are up. */
  @ApiPropertyOptional({ type: HealthComponentsDto })
  info?: HealthComponentsDto;

  /** The components that are down. */
  @ApiPropertyOptional({ type: HealthComponentsDto })
  error?: HealthComponentsDto;

  /** Every component. */
  @ApiProperty({ type: HealthComponentsDto })
  details: HealthComponentsDto;
}
