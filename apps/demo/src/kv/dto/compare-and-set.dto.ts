import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsInt, IsOptional, Min, ValidateBy } from 'class-validator';
import { ANY_JSON } from './any-json.schema.ts';

/** The condition is stated one of two ways; both or neither is ambiguous. */
function IsTheOnlyCondition(): PropertyDecorator {
  return ValidateBy({
    name: 'isTheOnlyCondition',
    validator: {
      validate: (_value, args) => {
        const body = args?.object as CompareAndSetDto;
        return (body.expected === undefined) !== (body.version === undefined);
      },
      defaultMessage: () =>
        'give exactly one of expected (the value the key must hold, null: absent) or version (0: absent)',
    },
  });
}

export class CompareAndSetDto {
  @ApiPropertyOptional({
    ...ANY_JSON,
    nullable: true,
    description: 'Write only if the key holds this value (deep equality); null: only if absent',
    example: 1,
  })
  @IsTheOnlyCondition()
  expected?: unknown;

  @ApiPropertyOptional({
    description: 'Write only if the key has this version; 0: only if absent',
    minimum: 0,
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  version?: number;

  @ApiProperty({ ...ANY_JSON, description: 'The new value: any JSON value but null', example: 2 })
  @IsDefined({ message: 'value is required: any JSON value but null' })
  value!: unknown;

  @ApiPropertyOptional({ description: 'Time to live of the new value in milliseconds', minimum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  ttl?: number;
}
