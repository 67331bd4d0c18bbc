import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Min } from 'class-validator';

export class WatchQueryDto {
  @ApiPropertyOptional({ description: 'Only keys starting with this (default: every key)', example: 'user:' })
  @IsOptional()
  @IsString()
  prefix?: string;

  @ApiPropertyOptional({
    description: 'Replay retained changes from this revision on; a Last-Event-ID header takes precedence',
    minimum: 1,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  fromRevision?: number;

  @ApiPropertyOptional({
    description:
      'With partitions: replay retained changes after this cursor (the id of an event); a Last-Event-ID header takes precedence',
  })
  @IsOptional()
  @IsString()
  cursor?: string;

  @ApiPropertyOptional({ description: 'A named map (default: the default map of /kv)' })
  @IsOptional()
  @IsString()
  map?: string;
}
