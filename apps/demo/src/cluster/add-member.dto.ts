import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, Matches } from 'class-validator';

export class AddMemberDto {
  @ApiProperty({ example: '127.0.0.1:6704', description: 'The new member as host:port' })
  @IsString()
  @Matches(/^[A-Za-z0-9.[\]:-]+:\d{1,5}$/, { message: 'id must be host:port' })
  id!: string;

  @ApiProperty({
    required: false,
    description: 'Add as a non-voting learner only (default: voter, once caught up)',
  })
  @IsOptional()
  @IsBoolean()
  learner?: boolean;
}
