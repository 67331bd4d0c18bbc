import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { ImdgoHealthIndicator } from 'imdgo/terminus';

/** Liveness and readiness probes, answered 503 when down (as Kubernetes expects). */
@ApiTags('health')
@Controller()
export class HealthController {
  private readonly health: HealthCheckService;
  private readonly imdgo: ImdgoHealthIndicator;

  constructor(health: HealthCheckService, imdgo: ImdgoHealthIndicator) {
    this.health = health;
    this.imdgo = imdgo;
  }

  @Get('health')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: up while the node runs, even without a leader' })
  liveness(): Promise<HealthCheckResult> {
    return this.health.check([() => this.imdgo.isHealthy()]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness: up when this node is a voter again and has applied what the leader committed',
    description: 'A node rejoining after a restart in memory mode is not ready until it is promoted.',
  })
  readiness(): Promise<HealthCheckResult> {
    return this.health.check([() => this.imdgo.isReady()]);
  }
}
