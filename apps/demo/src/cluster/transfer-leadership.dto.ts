import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString } from 'class-validator';

export class TransferLeadershipDto {
  @ApiPropertyOptional({
    description: 'The member to lead (host:port); default: the most caught-up follower',
    example: '127.0.0.1:6702',
  })
  @IsOptional()
  @IsString()
  target?: string;
}
