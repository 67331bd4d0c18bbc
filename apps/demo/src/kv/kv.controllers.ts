import { Controller } from '@nestjs/common';
import { ApiParam, ApiTags } from '@nestjs/swagger';
import { kvRoutes } from './kv-routes.ts';

/** The default map, at `/kv`. */
@ApiTags('kv')
@Controller('kv')
export class KvController extends kvRoutes() {}

/** Named maps, at `/maps/:map`: the same routes, each map its own key space. */
@ApiTags('maps')
@Controller('maps/:map')
export class MapsController extends kvRoutes(ApiParam({ name: 'map', description: 'The name of the map' })) {}
