import {
  Body,
  ConflictException,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  NotFoundException,
  Param,
  Post,
  Put,
  Query,
} from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiResponse } from '@nestjs/swagger';
import { ImdgoStore, type Entry, type ImdgoMap, type Page } from 'imdgo';
import { CompareAndSetDto } from './dto/compare-and-set.dto.ts';
import { IncrementDto } from './dto/increment.dto.ts';
import { ListQueryDto } from './dto/list-query.dto.ts';
import { PutValueDto, type PutValue } from './dto/put-value.dto.ts';
import { CONSISTENCY_PROPERTY } from './dto/read-query.dto.ts';
import { MapName } from './map-name.decorator.ts';
import { PutValuePipe } from './put-value.pipe.ts';
import { ReadQueryPipe, type ReadQuery } from './read-query.pipe.ts';
import { VALIDATE } from '../validate.pipe.ts';

const DEFAULT_PAGE = 100;

/**
 * The key-value routes, mounted twice (see kv.controllers.ts): `/kv/...` for the default map and
 * `/maps/:map/...` for named maps. Absent values are `null` in answers (stored values are never null).
 * Each mount gets its own copy of the class, so that its OpenAPI decorators (the `map` path parameter)
 * land on its own methods only.
 */
export function kvRoutes(...decorators: ClassDecorator[]) {
  @ApiResponse({ status: 400, description: 'Invalid key, body or query (the message names the field)' })
  @ApiResponse({ status: 503, description: 'No leader, timeout or shutting down; see Retry-After' })
  abstract class KvRoutes {
    private readonly store: ImdgoStore;

    constructor(store: ImdgoStore) {
      this.store = store;
    }

    @Get()
    @ApiOperation({ summary: 'List entries in key order, a page at a time' })
    async list(
      @MapName() map: string | undefined,
      @Query(VALIDATE) query: ListQueryDto,
    ): Promise<Page<Entry<unknown>>> {
      return this.mapOf(map).entries({
        prefix: query.prefix,
        after: query.after,
        limit: query.limit ?? DEFAULT_PAGE,
        consistency: query.consistency,
      });
    }

    @Get(':key')
    @ApiOperation({ summary: 'Read an entry: value, version, revisions and expiry' })
    @ApiQuery({
      name: 'consistency',
      required: false,
      ...CONSISTENCY_PROPERTY,
      schema: { default: CONSISTENCY_PROPERTY.default },
    })
    @ApiResponse({ status: 404, description: 'No such key' })
    async get(
      @MapName() map: string | undefined,
      @Param('key') key: string,
      @Query(ReadQueryPipe) query: ReadQuery,
    ): Promise<Entry<unknown>> {
      const entry = await this.mapOf(map).getEntry(key, { consistency: query.consistency });
      if (!entry) throw new NotFoundException(notFound(key, map));
      return entry;
    }

    @Put(':key')
    @ApiOperation({ summary: 'Set a value, optionally with a time to live' })
    @ApiBody({ type: PutValueDto })
    @ApiResponse({ status: 413, description: 'The value is larger than maxValueBytes' })
    async put(
      @MapName() map: string | undefined,
      @Param('key') key: string,
      @Body(PutValuePipe) body: PutValue,
    ) {
      const result = await this.mapOf(map).set(key, body.value, { ttl: body.ttl });
      return { key, revision: result.revision, previous: result.previous ?? null };
    }

    @Delete(':key')
    @ApiOperation({ summary: 'Delete a key' })
    @ApiResponse({ status: 404, description: 'No such key' })
    async remove(@MapName() map: string | undefined, @Param('key') key: string) {
      const result = await this.mapOf(map).delete(key);
      if (!result.deleted) throw new NotFoundException(notFound(key, map));
      return { key, revision: result.revision, previous: result.previous ?? null };
    }

    @Post(':key/cas')
    @HttpCode(HttpStatus.OK)
    @ApiOperation({ summary: 'Compare and set: write only if the value (or the version) is as expected' })
    @ApiResponse({
      status: 409,
      description: 'The condition failed; the body has the current value and version',
    })
    async compareAndSet(
      @MapName() map: string | undefined,
      @Param('key') key: string,
      @Body(VALIDATE) body: CompareAndSetDto,
    ) {
      const target = this.mapOf(map);
      const options = { ttl: body.ttl };
      const result =
        body.version === undefined
          ? await target.compareAndSet(key, body.expected, body.value, options)
          : await target.setIfVersion(key, body.version, body.value, options);
      const outcome = {
        key,
        revision: result.revision,
        version: result.version,
        value: result.current ?? null,
      };
      if (!result.applied) {
        throw new ConflictException({
          statusCode: HttpStatus.CONFLICT,
          code: 'CAS_FAILED',
          message: `key "${key}" does not hold the expected ${body.version === undefined ? 'value' : 'version'}`,
          current: outcome.value,
          version: outcome.version,
        });
      }
      return outcome;
    }

    @Post(':key/increment')
    @HttpCode(HttpStatus.OK)
    @ApiOperation({ summary: 'Add delta (default 1) to a number; an absent key counts as 0' })
    async increment(
      @MapName() map: string | undefined,
      @Param('key') key: string,
      @Body(VALIDATE) body: IncrementDto,
    ) {
      const result = await this.mapOf(map).increment(key, body.delta ?? 1);
      return { key, value: result.value, revision: result.revision };
    }

    private mapOf(name: string | undefined): ImdgoMap<unknown> {
      return name === undefined ? this.store : this.store.map(name);
    }
  }
  for (const decorate of decorators) decorate(KvRoutes);
  return KvRoutes;
}

function notFound(key: string, map: string | undefined): string {
  return map === undefined ? `key "${key}" not found` : `key "${key}" not found in map "${map}"`;
}
