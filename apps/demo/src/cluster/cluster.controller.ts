import { BadRequestException, Body, Controller, Get, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ImdgoCluster, type ClusterStatus } from 'imdgo';
import { TransferLeadershipDto } from './transfer-leadership.dto.ts';

@ApiTags('cluster')
@Controller('cluster')
export class ClusterController {
  private readonly cluster: ImdgoCluster;

  constructor(cluster: ImdgoCluster) {
    this.cluster = cluster;
  }

  @Get()
  @ApiOperation({
    summary: "The leader's view: every member's role, match index, lag and last contact",
    description: "Falls back to this node's own view (nodeId tells whose) when no leader answers.",
  })
  status(): Promise<ClusterStatus> {
    return this.cluster.status();
  }

  @Get('local')
  @ApiOperation({ summary: "This node's own view: its role, term, commit and applied indexes" })
  local(): ClusterStatus {
    return this.cluster.localStatus();
  }

  @Post('transfer-leadership')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Hand leadership to a member (default: the most caught-up follower)' })
  @ApiResponse({ status: 400, description: 'The target is not a member' })
  transferLeadership(@Body() body: TransferLeadershipDto): Promise<{ leader: string }> {
    // Checked here as well: a follower forwards the request, and the leader's refusal comes back untyped.
    const members = this.cluster.localStatus().members.map((member) => member.id);
    if (body.target !== undefined && !members.includes(body.target)) {
      throw new BadRequestException(`target "${body.target}" is not a member (${members.join(', ')})`);
    }
    return this.cluster.transferLeadership(body.target);
  }
}
