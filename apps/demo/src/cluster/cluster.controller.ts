import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  NotFoundException,
  Param,
  Post,
} from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ImdgoCluster, type ClusterStatus, type PartitionsReport } from 'imdgo';
import { AddMemberDto } from './add-member.dto.ts';
import { TransferLeadershipDto } from './transfer-leadership.dto.ts';
import { VALIDATE } from '../validate.pipe.ts';

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
    description:
      "Falls back to this node's own view (nodeId tells whose) when no leader answers. With partitions, " +
      'that of the coordination group, plus `partitions`: the partition table (replicas and leader of each ' +
      "partition, epoch) and this node's share.",
  })
  async status(): Promise<ClusterStatus & { partitions?: PartitionsReport }> {
    const status = await this.cluster.status();
    const partitions = this.cluster.partitions();
    return partitions === null ? status : { ...status, partitions };
  }

  @Get('partitions')
  @ApiOperation({ summary: "The partition table as this node routes by it, and this node's share" })
  @ApiResponse({ status: 404, description: 'The cluster runs one partition (no grid)' })
  partitions(): PartitionsReport {
    const partitions = this.cluster.partitions();
    if (partitions === null)
      throw new NotFoundException('this cluster runs one partition: no partition table');
    return partitions;
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
  transferLeadership(@Body(VALIDATE) body: TransferLeadershipDto): Promise<{ leader: string }> {
    // Checked here as well: a follower forwards the request, and the leader's refusal comes back untyped.
    const members = this.cluster.localStatus().members.map((member) => member.id);
    if (body.target !== undefined && !members.includes(body.target)) {
      throw new BadRequestException(`target "${body.target}" is not a member (${members.join(', ')})`);
    }
    return this.cluster.transferLeadership(body.target);
  }

  @Post('members')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Add a member: as a learner, promoted to voter once caught up (or a learner only)',
    description:
      'A node started with this cluster in its members list joins on its own; this is for the others.',
  })
  @ApiResponse({ status: 400, description: 'Invalid id, or already a member' })
  async addMember(@Body(VALIDATE) body: AddMemberDto): Promise<ClusterStatus> {
    if (body.learner) await this.cluster.addLearner(body.id);
    else await this.cluster.addMember(body.id);
    return this.cluster.status();
  }

  @Post('force-new-cluster')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'UNSAFE: make this node the only voter of a new cluster, after a majority lost its memory',
    description:
      'Recovery when a majority of the voters lost their memory and nothing can commit: keeps what this ' +
      'node holds and loses writes only the lost members had. Stop every other old member first; they ' +
      'then rejoin as new members. Refused (400) while a leader is known or when this node holds no data.',
  })
  @ApiResponse({ status: 400, description: 'A leader is known, or this node holds no data' })
  forceNewCluster(): Promise<ClusterStatus> {
    return this.cluster.forceNewCluster();
  }

  @Delete('members/:id')
  @ApiOperation({ summary: 'Remove a member (removing the leader first hands leadership over)' })
  @ApiResponse({ status: 400, description: 'Not a member, or the last voter' })
  async removeMember(@Param('id') id: string): Promise<ClusterStatus> {
    const members = this.cluster.localStatus().members.map((member) => member.id);
    if (!members.includes(id))
      throw new BadRequestException(`"${id}" is not a member (${members.join(', ')})`);
    await this.cluster.removeMember(id);
    return this.cluster.status();
  }
}
