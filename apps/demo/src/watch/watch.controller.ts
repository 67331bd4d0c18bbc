import { BadRequestException, Controller, Headers, Query, Sse, type MessageEvent } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ImdgoCluster, ImdgoStore } from 'imdgo';
import { map, type Observable } from 'rxjs';
import { VALIDATE } from '../validate.pipe.ts';
import { WatchQueryDto } from './watch-query.dto.ts';

@ApiTags('watch')
@Controller('watch')
export class WatchController {
  private readonly store: ImdgoStore;
  private readonly cluster: ImdgoCluster;

  constructor(store: ImdgoStore, cluster: ImdgoCluster) {
    this.store = store;
    this.cluster = cluster;
  }

  /**
   * Each event's id is its revision (with partitions: its cursor, as revisions are per partition), so an
   * EventSource that reconnects resumes right after the last one.
   */
  @Sse()
  @ApiOperation({ summary: 'Server-Sent Events: one per change (set, delete, expire), id = revision' })
  @ApiProduces('text/event-stream')
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'Resume after this revision (with partitions: after this cursor)',
  })
  @ApiResponse({ status: 410, description: 'The revision to resume from is no longer retained' })
  watch(
    @Query(VALIDATE) query: WatchQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
  ): Observable<MessageEvent> {
    const fromRevision =
      lastEventId === undefined
        ? (query.cursor ?? query.fromRevision)
        : this.cluster.partitions() === null
          ? revisionAfter(lastEventId)
          : lastEventId;
    const target = query.map === undefined ? this.store : this.store.map(query.map);
    return (
      target
        // `*`, `?` and `\` of the prefix are escaped: watch takes a glob, the prefix is literal.
        .watch(`${(query.prefix ?? '').replace(/[*?\\]/g, '\\$&')}*`, { fromRevision })
        .pipe(map((change) => ({ id: change.cursor ?? String(change.revision), data: change })))
    );
  }
}

function revisionAfter(lastEventId: string): number {
  const revision = Number(lastEventId);
  if (lastEventId.trim() === '' || !Number.isInteger(revision) || revision < 0) {
    throw new BadRequestException(`Last-Event-ID must be a revision (an integer), got "${lastEventId}"`);
  }
  return revision + 1;
}
